/**
 * Single sign-on through a corporate identity provider: a second, independent oidc-provider on
 * loopback (support/corporate-idp.ts) that Bedside signs users in with (openid-client as the
 * relying party). First sign-ins are linked to an existing account by the matching claim or
 * provisioned, the fhirUser is resolved from a Practitioner identifier, and the operator's claim
 * mappings appear exactly where configured (id_token, userinfo, access token, introspection,
 * the FHIR API's audit records) and nowhere else. Also: password sign-in switched off.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asPage, asRedirect, Browser, formTo, isPage } from '../auth/support/browser.js';
import { decodeJwt, register, sampleAuthorization, SAMPLE_APP, tokenRequest } from '../auth/support/clients.js';
import { startCorporateIdp, type CorporateIdp } from './support/corporate-idp.js';
import { federatedSignIn, text } from './support/flows.js';
import { freePort, startOidcServer, type OidcTestServer as TestServer } from './support/server.js';

const USERS = {
  jdoe: {
    password: 'contoso-1',
    claims: {
      sub: 'u-1001',
      preferred_username: 'dr.carter',
      name: 'Jane Carter',
      email: 'jane.carter@contoso.example',
      email_verified: true,
      department: 'Cardiology',
    },
  },
  nkim: {
    password: 'contoso-2',
    claims: {
      sub: 'u-1002',
      preferred_username: 'nkim',
      given_name: 'Nora',
      family_name: 'Kim',
      name: 'Nora Kim',
      email: 'nora.kim@contoso.example',
      email_verified: true,
      department: 'ICU',
    },
  },
  twin: { password: 'contoso-3', claims: { sub: 'u-1003', preferred_username: 'twin', name: 'Tom Twin' } },
  stranger: { password: 'contoso-4', claims: { sub: 'u-1004', preferred_username: 'stranger', name: 'Sam Stranger' } },
};

const CLAIMS = [
  { claim: 'local_user', fhirpath: "identifier.where(system='urn:example:local-user').value", in: ['id_token', 'userinfo', 'access_token'], scope: 'profile' },
  { claim: 'department', upstream: 'department', in: ['userinfo'] },
];

let idp: CorporateIdp;
let server: TestServer;
let closed: TestServer;
let introspector: { id: string; secret: string };

function provider(id: string, overrides: Record<string, unknown> = {}) {
  return { id, name: id === 'corp' ? 'Contoso' : 'Partner clinic', issuer: idp.issuer, clientId: `bedside-${id}`, clientSecret: `${id}-secret`, ...overrides };
}

beforeAll(async () => {
  const [port, closedPort, idpPort] = [await freePort(), await freePort(), await freePort()];
  const callbacks = (id: string) => [port, closedPort].map((p) => `http://127.0.0.1:${p}/oauth/federation/${id}/callback`);
  idp = await startCorporateIdp({
    port: idpPort,
    users: USERS,
    clients: [
      { clientId: 'bedside-corp', clientSecret: 'corp-secret', redirectUris: callbacks('corp') },
      { clientId: 'bedside-partner', clientSecret: 'partner-secret', redirectUris: callbacks('partner') },
    ],
  });
  const corp = provider('corp', {
    scope: 'openid profile email',
    match: { claim: 'preferred_username', account: 'username' },
    firstLogin: 'link-or-provision',
    fhirUser: { resourceType: 'Practitioner', identifierSystem: 'urn:example:lan-id', claim: 'preferred_username' },
    keepClaims: ['department'],
  });
  server = await startOidcServer({
    port,
    env: {
      FEDERATION_PROVIDERS: JSON.stringify([corp, provider('partner', { firstLogin: 'link' })]),
      CLAIM_MAPPINGS: JSON.stringify(CLAIMS),
      // The identity provider runs on loopback.
      ALLOW_PRIVATE_NETWORK_FETCH: 'true',
    },
  });
  closed = await startOidcServer({
    port: closedPort,
    env: { FEDERATION_PROVIDERS: JSON.stringify([corp]), LOCAL_LOGIN: 'false', ALLOW_PRIVATE_NETWORK_FETCH: 'true' },
  });
  const registered = await register(server, {
    client_name: 'API gateway',
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
    token_endpoint_auth_method: 'client_secret_basic',
    scope: 'system/*.rs',
  });
  introspector = { id: String(registered.body.client_id), secret: String(registered.body.client_secret) };
});
afterAll(async () => {
  await server?.stop();
  await closed?.stop();
  await idp?.stop();
});

const SCOPE = 'openid fhirUser profile user/*.rs';

/** Signs in through the provider as the sample app; returns the token response. */
async function signInVia(username: keyof typeof USERS, options: { scope?: string; provider?: string; target?: TestServer } = {}) {
  const target = options.target ?? server;
  const request = sampleAuthorization(target, { scope: options.scope ?? SCOPE });
  const back = await federatedSignIn(new Browser(), request.url, request.redirectUri, idp.issuer, {
    ...USERS[username],
    username,
    ...(options.provider ? { provider: options.provider } : {}),
  });
  if (!(back instanceof URL)) throw new Error(`sign-in stopped at ${back.url} (${back.status}): ${text(back).slice(0, 300)}`);
  const response = await tokenRequest(target, {
    grant_type: 'authorization_code',
    code: back.searchParams.get('code')!,
    redirect_uri: request.redirectUri,
    client_id: SAMPLE_APP,
    code_verifier: request.verifier,
  });
  expect(response.status).toBe(200);
  return response.body as { access_token: string; id_token: string; scope: string };
}

async function introspect(token: string): Promise<Record<string, unknown>> {
  const response = await fetch(`${server.issuer}/introspect`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from(`${introspector.id}:${introspector.secret}`).toString('base64')}`,
    },
    body: new URLSearchParams({ token }),
  });
  return (await response.json()) as Record<string, unknown>;
}

async function userinfo(token: string, target = server): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${target.issuer}/userinfo`, { headers: { authorization: `Bearer ${token}` } });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describe('signing in through the corporate identity provider', () => {
  it('the sign-in page offers each provider beside the password form', async () => {
    const page = asPage(await new Browser().go(sampleAuthorization(server, { scope: SCOPE }).url));
    expect(page.html).toContain('Sign in with Contoso');
    expect(page.html).toContain('Sign in with Partner clinic');
    expect(formTo(page, '/federate/corp').method).toBe('POST');
    expect(
      formTo(page, '/login')
        .fields.filter((f) => f.type !== 'hidden')
        .map((f) => f.name),
    ).toEqual(['username', 'password']);
  });

  it('first sign-in links the existing account whose username is the upstream preferred_username, keeping its fhirUser', async () => {
    const tokens = await signInVia('jdoe');
    const idToken = decodeJwt(tokens.id_token);
    expect(idToken.sub).toBe('dr.carter');
    expect(idToken.fhirUser).toBe(`${server.fhirBase}/Practitioner/practitioner-001`);
    // The request Bedside made upstream: code flow with PKCE, state and nonce, as client bedside-corp.
    const upstream = idp.authorizationRequests.at(-1)!;
    expect(Object.fromEntries(upstream)).toMatchObject({
      client_id: 'bedside-corp',
      response_type: 'code',
      scope: 'openid profile email',
      code_challenge_method: 'S256',
      redirect_uri: `${server.issuer}/federation/corp/callback`,
    });
    expect(upstream.get('state')).toBeTruthy();
    expect(upstream.get('nonce')).toBeTruthy();
    const links = await server.bedside.app.auth.federation.identities.forAccount('dr.carter');
    expect(links).toMatchObject([{ provider: 'corp', issuer: idp.issuer, sub: 'u-1001', how: 'matched' }]);
    const read = await fetch(`${server.fhirBase}/Patient/patient-001`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
    expect(read.status).toBe(200);
  });

  it('first sign-in of someone without an account provisions one, with the fhirUser found by Practitioner identifier', async () => {
    const tokens = await signInVia('nkim');
    const idToken = decodeJwt(tokens.id_token);
    expect(idToken.sub).toBe('nkim');
    expect(idToken.fhirUser).toBe(`${server.fhirBase}/Practitioner/practitioner-nkim`);
    const account = (await server.bedside.app.auth.accounts.findByUsername('nkim'))!;
    expect(account).toMatchObject({
      fhirUser: 'Practitioner/practitioner-nkim',
      fhirUserSource: 'federation',
      email: 'nora.kim@contoso.example',
      name: { given: 'Nora', family: 'Kim', text: 'Nora Kim' },
    });
    // No local password: the account signs in only through its provider.
    expect((await server.bedside.app.auth.accounts.signIn('nkim', '')).ok).toBe(false);
    const search = await fetch(`${server.fhirBase}/Patient`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
    expect(search.status).toBe(200);

    // The next sign-in uses the link: same account, no second one.
    expect(decodeJwt((await signInVia('nkim')).id_token).sub).toBe('nkim');
    expect(await server.bedside.app.auth.federation.identities.forAccount('nkim')).toMatchObject([{ sub: 'u-1002', how: 'provisioned' }]);
  });

  it('a fhirUser mapping that finds more than one resource leaves fhirUser unset', async () => {
    const tokens = await signInVia('twin');
    expect(decodeJwt(tokens.id_token).sub).toBe('twin');
    expect(decodeJwt(tokens.id_token).fhirUser).toBeUndefined();
    expect(decodeJwt(tokens.access_token).fhirUser).toBeUndefined();
  });

  it('federated accounts follow the user policy: without a fhirUser no patient context; a Practitioner picks a patient', async () => {
    const scope = 'openid fhirUser launch/patient patient/*.rs';
    const request = sampleAuthorization(server, { scope });
    const refused = await federatedSignIn(new Browser(), request.url, request.redirectUri, idp.issuer, { ...USERS.twin, username: 'twin' });
    expect(refused).toBeInstanceOf(URL);
    expect((refused as URL).searchParams.get('code')).toBeNull();
    expect((refused as URL).searchParams.get('error')).toBe('access_denied');
    expect((refused as URL).searchParams.get('error_description')).toMatch(/twin may not open any patient's record/);

    const again = sampleAuthorization(server, { scope });
    const picker = await federatedSignIn(new Browser(), again.url, again.redirectUri, idp.issuer, { ...USERS.nkim, username: 'nkim' });
    expect(picker).not.toBeInstanceOf(URL);
    expect(
      formTo(picker as Exclude<typeof picker, URL>, '/patient')
        .fields.filter((f) => f.name === 'patient')
        .map((f) => f.value),
    ).toEqual(['patient-002', 'patient-001']);
  });

  it('a provider with the "link" rule refuses someone without an account and creates none', async () => {
    const request = sampleAuthorization(server, { scope: SCOPE });
    const page = await federatedSignIn(new Browser(), request.url, request.redirectUri, idp.issuer, {
      ...USERS.stranger,
      username: 'stranger',
      provider: 'partner',
    });
    expect(page).not.toBeInstanceOf(URL);
    const refused = page as Exclude<typeof page, URL>;
    expect(refused.status).toBe(403);
    expect(text(refused)).toContain('not linked to a Bedside account');
    expect(await server.bedside.app.auth.accounts.findByUsername('stranger')).toBeUndefined();
  });

  it('a locked account cannot sign in through the provider either', async () => {
    await server.bedside.app.auth.admin.lockUser({ id: 'test', via: 'command' }, 'twin');
    const request = sampleAuthorization(server, { scope: SCOPE });
    const page = await federatedSignIn(new Browser(), request.url, request.redirectUri, idp.issuer, { ...USERS.twin, username: 'twin' });
    expect(page).not.toBeInstanceOf(URL);
    expect(text(page as Exclude<typeof page, URL>)).toContain('locked');
    await server.bedside.app.auth.admin.unlockUser({ id: 'test', via: 'command' }, 'twin');
  });

  it('cancelling at the provider comes back as a sign-in error', async () => {
    const browser = new Browser();
    const request = sampleAuthorization(server, { scope: SCOPE });
    const login = asPage(await browser.go(request.url, { stopAt: request.redirectUri }));
    const upstream = asPage(await browser.submit(formTo(login, '/federate/corp'), {}, undefined, request.redirectUri));
    expect(upstream.url.startsWith(idp.issuer)).toBe(true);
    const back = asPage(await browser.submit(formTo(upstream, '/abort'), {}, undefined, request.redirectUri));
    expect(back.status).toBe(403);
    expect(text(back)).toContain('Contoso did not sign you in (access_denied: the user cancelled)');
  });

  it('a callback URL opened in another browser signs nobody in there (the interaction cookie binds it)', async () => {
    const victim = new Browser();
    const attacker = new Browser();
    const request = sampleAuthorization(server, { scope: SCOPE });
    const login = asPage(await attacker.go(request.url));
    const upstream = asPage(await attacker.submit(formTo(login, '/federate/corp')));
    const callback = asRedirect(
      await attacker.submit(
        formTo(upstream, '/login'),
        { username: 'nkim', password: USERS.nkim.password },
        undefined,
        `${server.issuer}/federation/corp/callback`,
      ),
    );
    const landed = asPage(await victim.go(callback.href, { stopAt: request.redirectUri }));
    expect(landed.status).toBe(400);
    expect(text(landed)).toContain('session_expired');
    // The state is single-use: replaying the callback fails too.
    expect((await fetch(callback.href, { redirect: 'manual' })).status).toBe(400);
  });

  it('prompt=login and login_hint are passed on to the provider', async () => {
    const request = sampleAuthorization(server, { scope: SCOPE, prompt: 'login', login_hint: 'nkim' });
    const browser = new Browser();
    const page = asPage(await browser.go(request.url));
    expect(formTo(page, '/login').fields.find((f) => f.name === 'username')?.value).toBe('nkim');
    await browser.submit(formTo(page, '/federate/corp'));
    expect(Object.fromEntries(idp.authorizationRequests.at(-1)!)).toMatchObject({ prompt: 'login', login_hint: 'nkim' });
  });
});

describe('claims configured by the operator', () => {
  it('local_user (FHIRPath on the fhirUser) is in id_token, userinfo, access token and introspection; department (upstream) only in userinfo', async () => {
    const tokens = await signInVia('nkim');
    const idToken = decodeJwt(tokens.id_token);
    const access = decodeJwt(tokens.access_token);
    expect(idToken.local_user).toBe('KIMN01');
    expect(access.local_user).toBe('KIMN01');
    expect(idToken.department).toBeUndefined();
    expect(access.department).toBeUndefined();
    const info = await userinfo(tokens.access_token);
    expect(info.status).toBe(200);
    expect(info.body).toEqual({
      sub: 'nkim',
      fhirUser: `${server.fhirBase}/Practitioner/practitioner-nkim`,
      name: 'Nora Kim',
      given_name: 'Nora',
      family_name: 'Kim',
      preferred_username: 'nkim',
      local_user: 'KIMN01',
      department: 'ICU',
    });
    expect(await introspect(tokens.access_token)).toMatchObject({ active: true, sub: 'nkim', local_user: 'KIMN01' });
    expect((await introspect(tokens.access_token)).department).toBeUndefined();
  });

  it('the FHIR API records the mapped access-token claim in its audit log', async () => {
    const tokens = await signInVia('nkim');
    const denied = await fetch(`${server.fhirBase}/Patient`, {
      method: 'POST',
      headers: { authorization: `Bearer ${tokens.access_token}`, 'content-type': 'application/fhir+json' },
      body: JSON.stringify({ resourceType: 'Patient' }),
    });
    expect(denied.status).toBe(403);
    const audit = server.bedside.storage.documents.collection<{ subject?: string; outcome: string; claims?: Record<string, unknown> }>('audit');
    let record;
    for (let i = 0; i < 50 && !record; i++) {
      record = (await audit.list({ limit: 20 })).map((d) => d.value).find((r) => r.subject === 'nkim' && r.outcome === 'denied');
      if (!record) await new Promise((r) => setTimeout(r, 20));
    }
    expect(record?.claims).toEqual({ local_user: 'KIMN01' });
  });

  it('without the scope a mapping names, the claim is nowhere', async () => {
    const tokens = await signInVia('nkim', { scope: 'openid fhirUser user/*.rs' });
    expect(decodeJwt(tokens.id_token).local_user).toBeUndefined();
    expect(decodeJwt(tokens.access_token).local_user).toBeUndefined();
    const info = await userinfo(tokens.access_token);
    expect(info.body).toEqual({ sub: 'nkim', fhirUser: `${server.fhirBase}/Practitioner/practitioner-nkim`, department: 'ICU' });
    expect((await introspect(tokens.access_token)).local_user).toBeUndefined();
  });

  it('a user whose fhirUser has no such identifier gets no local_user', async () => {
    const tokens = await signInVia('jdoe');
    expect(decodeJwt(tokens.id_token).local_user).toBeUndefined();
    expect((await userinfo(tokens.access_token)).body).toMatchObject({ sub: 'dr.carter', department: 'Cardiology' });
  });
});

describe('password sign-in switched off (LOCAL_LOGIN=false, one provider)', () => {
  it('the authorization request goes straight to the provider and back with a code', async () => {
    const request = sampleAuthorization(closed, { scope: SCOPE });
    const first = await new Browser().go(request.url, { stopAt: request.redirectUri });
    expect(isPage(first) && first.url.startsWith(idp.issuer)).toBe(true);
    const tokens = await signInVia('nkim', { target: closed });
    expect(decodeJwt(tokens.id_token)).toMatchObject({ sub: 'nkim', fhirUser: `${closed.fhirBase}/Practitioner/practitioner-nkim` });
  });

  it('posting a username and password is refused', async () => {
    const browser = new Browser();
    const request = sampleAuthorization(closed, { scope: SCOPE });
    await browser.go(request.url, { stopAt: idp.issuer });
    const uid = (await closed.bedside.storage.documents.collection('oidc.Interaction').list({ limit: 1 }))[0]!.id;
    const refused = asPage(
      await browser.go(`${closed.issuer}/interaction/${uid}/login`, {
        method: 'POST',
        body: new URLSearchParams({ username: 'dr.carter', password: 'bedside-demo' }),
      }),
    );
    expect(refused.status).toBe(403);
    expect(text(refused)).toContain('turned off');
    expect(refused.forms.some((f) => f.action.endsWith('/login'))).toBe(false);
  });
});
