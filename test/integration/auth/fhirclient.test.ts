/**
 * SMART's own JavaScript client (fhirclient) completing an EHR launch and a standalone launch,
 * driven from Node: a small app server runs fhirclient's authorize() and ready(), the "browser"
 * follows redirects and fills Bedside's forms. fhir-kit-client then reads with the token.
 * https://hl7.org/fhir/smart-app-launch/STU2.2/app-launch.html
 */
import http from 'node:http';
import { Client } from 'fhir-kit-client';
import smart from 'fhirclient';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asPage, Browser, formTo, type Page } from './support/browser.js';
import { register } from './support/clients.js';
import { freePort, startTestServer, type TestServer } from './support/server.js';

let server: TestServer;
let appServer: http.Server;
let appBase: string;
let clientId: string;
const storage = new Map<string, unknown>();
const fhirStorage = {
  get: async (key: string) => storage.get(key),
  set: async (key: string, value: unknown) => void storage.set(key, value),
  unset: async (key: string) => storage.delete(key),
};

const SCOPE = 'openid fhirUser launch launch/patient launch/encounter patient/*.rs offline_access';

/** The SMART app: launch endpoints that call authorize(), and a redirect endpoint that calls ready(). */
function app(req: http.IncomingMessage, res: http.ServerResponse): void {
  const url = new URL(req.url ?? '/', appBase);
  const api = smart(req, res, fhirStorage as never);
  const fail = (error: unknown) => {
    res.writeHead(500, { 'content-type': 'text/plain' }).end(String((error as Error)?.stack ?? error));
  };
  if (url.pathname === '/launch') {
    api.authorize({ clientId, scope: SCOPE, redirectUri: '/app/' }).catch(fail);
  } else if (url.pathname === '/standalone') {
    api
      .authorize({
        clientId,
        scope: url.searchParams.get('scope') ?? 'openid fhirUser launch/patient patient/*.rs',
        redirectUri: '/app/',
        iss: server.fhirBase,
      })
      .catch(fail);
  } else if (url.pathname === '/app/') {
    api
      .ready()
      .then(async (client) => {
        const patient = (await client.patient.read()) as { id: string };
        const fhirKit = new Client({ baseUrl: server.fhirBase, bearerToken: client.state.tokenResponse!.access_token! });
        const viaFhirKit = (await fhirKit.read({ resourceType: 'Patient', id: patient.id })) as unknown as { id: string };
        const observations = (await fhirKit.search({ resourceType: 'Observation', searchParams: { patient: patient.id } })) as { entry?: unknown[] };
        res.writeHead(200, { 'content-type': 'application/json' }).end(
          JSON.stringify({
            patient: client.patient.id,
            encounter: client.encounter.id,
            user: client.user.fhirUser,
            tokenResponse: client.state.tokenResponse,
            read: patient.id,
            fhirKitRead: viaFhirKit.id,
            observations: observations.entry?.length ?? 0,
          }),
        );
      })
      .catch(fail);
  } else {
    res.writeHead(404).end();
  }
}

beforeAll(async () => {
  server = await startTestServer();
  const port = await freePort();
  appBase = `http://127.0.0.1:${port}`;
  appServer = http.createServer(app);
  await new Promise<void>((resolve) => appServer.listen(port, '127.0.0.1', resolve));
  const registered = await register(server, {
    client_name: 'fhirclient test app',
    token_endpoint_auth_method: 'none',
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    redirect_uris: [`${appBase}/app/`],
  });
  expect(registered.status).toBe(201);
  clientId = String(registered.body.client_id);
});
afterAll(async () => {
  appServer?.close();
  await server?.stop();
});

/** Follows the app and Bedside until the app answers with JSON, filling the pages on the way. */
async function runToApp(browser: Browser, start: string, answers: { username: string; password: string; patient?: string; encounter?: string }) {
  let page: Page = asPage(await browser.go(start));
  for (let step = 0; step < 6 && !page.url.startsWith(`${appBase}/app/`); step++) {
    const actions = page.forms.map((f) => new URL(f.action).pathname);
    if (actions.some((a) => a.endsWith('/login')))
      page = asPage(await browser.submit(formTo(page, '/login'), { username: answers.username, password: answers.password }));
    else if (actions.some((a) => a.endsWith('/patient'))) page = asPage(await browser.submit(formTo(page, '/patient'), { patient: answers.patient! }));
    else if (actions.some((a) => a.endsWith('/encounter')))
      page = asPage(await browser.submit(formTo(page, '/encounter'), { encounter: answers.encounter ?? '' }));
    else if (actions.some((a) => a.endsWith('/consent')))
      page = asPage(await browser.submit(formTo(page, '/consent'), {}, { name: 'decision', value: 'approve' }));
    else throw new Error(`unexpected page ${page.url}: ${page.html.slice(0, 500)}`);
  }
  expect(page.status, page.html).toBe(200);
  return JSON.parse(page.html) as Record<string, any>;
}

describe('fhirclient', () => {
  it('EHR launch: launcher API → app → sign in → consent → token with the launch context → reads', async () => {
    const launch = await fetch(`${server.baseUrl}/launcher/api/launch`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        launch_uri: `${appBase}/launch`,
        patient: 'patient-001',
        encounter: 'encounter-001',
        practitioner: 'practitioner-001',
        need_patient_banner: false,
        intent: 'reconcile-medications',
      }),
    });
    expect(launch.status).toBe(201);
    const { url } = (await launch.json()) as { url: string };
    expect(new URL(url).searchParams.get('iss')).toBe(server.fhirBase);

    const result = await runToApp(new Browser(), url, { username: 'dr.carter', password: 'bedside-demo' });
    expect(result).toMatchObject({
      patient: 'patient-001',
      encounter: 'encounter-001',
      read: 'patient-001',
      fhirKitRead: 'patient-001',
      observations: 1,
      user: 'Practitioner/practitioner-001',
    });
    expect(result.tokenResponse).toMatchObject({
      patient: 'patient-001',
      encounter: 'encounter-001',
      need_patient_banner: false,
      intent: 'reconcile-medications',
      scope: SCOPE,
      token_type: 'Bearer',
    });
    expect(result.tokenResponse.refresh_token).toBeTruthy();
  });

  it('standalone launch as a practitioner: patient picker, then encounter picker', async () => {
    const result = await runToApp(
      new Browser(),
      `${appBase}/standalone?scope=${encodeURIComponent('openid fhirUser launch/patient launch/encounter patient/*.rs')}`,
      { username: 'dr.carter', password: 'bedside-demo', patient: 'patient-001', encounter: 'encounter-001' },
    );
    expect(result).toMatchObject({ patient: 'patient-001', encounter: 'encounter-001', read: 'patient-001', user: 'Practitioner/practitioner-001' });
  });

  it('standalone launch as a patient: no picker, her own record', async () => {
    const result = await runToApp(new Browser(), `${appBase}/standalone`, { username: 'amy.shaw', password: 'bedside-demo' });
    expect(result).toMatchObject({ patient: 'patient-001', read: 'patient-001', user: 'Patient/patient-001' });
  });
});

describe('fhir-kit-client discovers the endpoints', () => {
  it('smartAuthMetadata() finds the authorize and token URLs', async () => {
    const metadata = (await new Client({ baseUrl: server.fhirBase }).smartAuthMetadata()) as { authorizeUrl?: URL | string; tokenUrl?: URL | string };
    expect(String(metadata.authorizeUrl)).toBe(`${server.issuer}/authorize`);
    expect(String(metadata.tokenUrl)).toBe(`${server.issuer}/token`);
  });
});
