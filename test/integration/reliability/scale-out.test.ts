/**
 * Two Bedside processes on one store behave as one service (as behind a load balancer, both
 * advertising the same BASE_URL): a token minted by one works on the other, a launch created on
 * one is consumed on the other, a revocation on one takes effect at once there and within
 * REVOCATION_CHECK_MS on the other (measured), data written on one is read on the other. Runs on the embedded store (one database file, two processes) and
 * on MongoDB (CongoDB in CI).
 */
import { rmSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { Browser } from '../auth/support/browser.js';
import { sampleAuthorization, SAMPLE_APP, tokenRequest } from '../auth/support/clients.js';
import { authorizeInBrowser } from '../auth/support/flows.js';
import { CONGO_URI_VARIABLE } from '../../support/global-setup.js';
import { spawnBedside, type BedsideProcess } from '../../support/process.js';
import { freePort, tempDir, type TestServer } from '../../support/server.js';
import { backendClient } from '../../support/tokens.js';

const dataDir = tempDir('bedside-scale-');
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));
const mongoUri = process.env.MONGODB_URI ?? process.env[CONGO_URI_VARIABLE];
/** Both nodes' revocation window (the default, stated explicitly), and what the measurement may add to it. */
const WINDOW_MS = 1000;
const SLACK_MS = 750;
const stores: Array<[string, Record<string, string>]> = [
  ['the embedded store', { DATA_DIR: dataDir }],
  ...(mongoUri
    ? [
        ['MongoDB', { MONGODB_URI: mongoUri.replace(/\/(\?|$)/, `/bedside_scale_${Date.now()}$1`), DATA_DIR: tempDir('bedside-scale-mongo-') }] as [
          string,
          Record<string, string>,
        ],
      ]
    : []),
];

describe.each(stores)('two nodes on %s', (_name, storeEnv) => {
  const nodes: BedsideProcess[] = [];
  afterAll(async () => {
    for (const node of nodes) node.child.kill('SIGTERM');
    await Promise.all(nodes.map((n) => n.exited));
  });

  it('share tokens, launches, revocations and data', async () => {
    const [portA, portB] = [await freePort(), await freePort()];
    const baseUrl = `http://localhost:${portA}`;
    // Node A seeds; node B starts on the same store once A is up.
    const window = { REVOCATION_CHECK_MS: String(WINDOW_MS) };
    nodes.push(await spawnBedside({ PORT: String(portA), BASE_URL: baseUrl, BEDSIDE_SEED: 'true', ...window, ...storeEnv }, 120_000));
    nodes.push(await spawnBedside({ PORT: String(portB), BASE_URL: baseUrl, BEDSIDE_SEED: 'false', ...window, ...storeEnv }, 60_000));
    const nodeB = `http://127.0.0.1:${portB}`;

    // A backend token from A's token endpoint works on B.
    const token = await (await backendClient(baseUrl, 'system/*.cruds')).token();
    const onB = await fetch(`${nodeB}/fhir/Patient/patient-001`, { headers: { authorization: `Bearer ${token}` } });
    expect(onB.status).toBe(200);

    // Written on B, read on A.
    const created = await fetch(`${nodeB}/fhir/Observation`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/fhir+json' },
      body: JSON.stringify({ resourceType: 'Observation', status: 'final', code: { text: 'from B' }, subject: { reference: 'Patient/patient-001' } }),
    });
    expect(created.status).toBe(201);
    const id = ((await created.json()) as { id: string }).id;
    expect((await fetch(`${baseUrl}/fhir/Observation/${id}`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);

    // An export started on A is polled and downloaded on B.
    const kickoff = await fetch(`${baseUrl}/fhir/Patient/$export?_type=Patient,Condition`, {
      headers: { authorization: `Bearer ${token}`, prefer: 'respond-async', accept: 'application/fhir+json' },
    });
    expect(kickoff.status).toBe(202);
    const statusUrl = kickoff.headers.get('content-location')!.replace(baseUrl, nodeB);
    let manifest: { output: Array<{ type: string; url: string; count: number }> } | undefined;
    for (let i = 0; i < 150 && !manifest; i++) {
      const poll = await fetch(statusUrl, { headers: { authorization: `Bearer ${token}` } });
      if (poll.status === 200) manifest = (await poll.json()) as typeof manifest;
      else {
        expect(poll.status).toBe(202);
        await poll.arrayBuffer();
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    expect(manifest!.output.find((o) => o.type === 'Patient')!.count).toBe(12);
    const file = await fetch(manifest!.output.find((o) => o.type === 'Condition')!.url.replace(baseUrl, nodeB), {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(file.status).toBe(200);
    expect((await file.text()).trim().split('\n').length).toBe(manifest!.output.find((o) => o.type === 'Condition')!.count);

    // A launch minted on A is consumed by an authorization request sent to B.
    const launch = (await (
      await fetch(`${baseUrl}/launcher/api/launch`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ launch_uri: `${baseUrl}/sample-app/launch`, patient: 'patient-003' }),
      })
    ).json()) as { launch: string };
    const serverA = { baseUrl, issuer: `${baseUrl}/oauth`, fhirBase: `${baseUrl}/fhir`, fhirUrl: `${baseUrl}/fhir` } as unknown as TestServer;
    const request = sampleAuthorization(serverA, { scope: 'launch openid fhirUser patient/*.rs offline_access', launch: launch.launch });
    const back = await authorizeInBrowser(new Browser(), request.url.replace(baseUrl, nodeB), request.redirectUri, {
      username: 'dr.carter',
      password: 'bedside-demo',
    });
    const exchange = await tokenRequest({ ...serverA, issuer: `${nodeB}/oauth` } as TestServer, {
      grant_type: 'authorization_code',
      code: back.searchParams.get('code')!,
      redirect_uri: request.redirectUri,
      client_id: SAMPLE_APP,
      code_verifier: request.verifier,
    });
    expect(exchange.status).toBe(200);
    const user = exchange.body as { access_token: string; refresh_token: string; patient: string };
    expect(user.patient).toBe('patient-003');
    // The launch was single-use across nodes: a second authorization with it fails, on A.
    const again = sampleAuthorization(serverA, { scope: 'launch patient/*.rs', launch: launch.launch });
    const reuse = await authorizeInBrowser(new Browser(), again.url, again.redirectUri, { username: 'dr.carter', password: 'bedside-demo' }).catch(
      (e: Error) => e,
    );
    expect(reuse instanceof Error ? reuse.message : reuse.searchParams.get('error')).toBeTruthy();

    // Revoked on A: refused by A at once, by B within REVOCATION_CHECK_MS (B's "not revoked"
    // decision from just before the revocation expires). Both nodes have such a decision first.
    const readOn = async (node: string) =>
      (await fetch(`${node}/fhir/Patient/patient-003`, { headers: { authorization: `Bearer ${user.access_token}` } })).status;
    expect(await readOn(baseUrl)).toBe(200);
    expect(await readOn(nodeB)).toBe(200);
    const revoke = await fetch(`${baseUrl}/oauth/revoke`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: user.refresh_token, client_id: SAMPLE_APP }),
    });
    expect(revoke.status).toBe(200);
    const revokedAt = Date.now();
    expect(await readOn(baseUrl)).toBe(401);
    let status = 200;
    while (status === 200 && Date.now() - revokedAt <= WINDOW_MS + SLACK_MS) {
      status = await readOn(nodeB);
      if (status === 200) await new Promise((r) => setTimeout(r, 20));
    }
    const elapsed = Date.now() - revokedAt;
    console.log(`revocation on node A: refused by A on the next request, by B after ${elapsed} ms (window ${WINDOW_MS} ms)`);
    expect(status).toBe(401);
    expect(elapsed).toBeLessThanOrEqual(WINDOW_MS + SLACK_MS);
  }, 240_000);
});
