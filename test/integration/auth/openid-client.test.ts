/**
 * A certified relying party against Bedside: openid-client 6 through authorization code + PKCE,
 * id_token validation, refresh (with and without a narrower scope), private_key_jwt (RS384 and
 * ES384) for backend services, introspection and revocation.
 */
import * as oidc from 'openid-client';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Browser } from './support/browser.js';
import { clientKey, decodeJwt, register, SAMPLE_APP, sampleRedirect, type ClientKey } from './support/clients.js';
import { authorizeInBrowser } from './support/flows.js';
import { startTestServer, type TestServer } from './support/server.js';

let server: TestServer;
let app: oidc.Configuration;

async function discover(clientId: string, metadata: Partial<oidc.ClientMetadata> = {}, auth?: oidc.ClientAuth): Promise<oidc.Configuration> {
  return oidc.discovery(new URL(server.issuer), clientId, metadata, auth, { execute: [oidc.allowInsecureRequests] });
}

function privateKeyJwt(key: ClientKey): oidc.ClientAuth {
  // SMART: the assertion's aud is the token endpoint (openid-client defaults to the issuer).
  return oidc.PrivateKeyJwt(
    { key: key.privateKey, kid: key.kid },
    { [oidc.modifyAssertion]: (_header, payload) => void (payload.aud = `${server.issuer}/token`) },
  );
}

/** Runs code + PKCE as the sample app, the user acting through the HTML pages. */
async function signIn(scope: string, user = { username: 'dr.carter', password: 'bedside-demo', patient: 'patient-001' }, grant?: (all: string[]) => string[]) {
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  // A nonce goes with OpenID Connect requests only (oidc-provider refuses it without openid).
  const nonce = scope.split(' ').includes('openid') ? oidc.randomNonce() : undefined;
  const url = oidc.buildAuthorizationUrl(app, {
    redirect_uri: sampleRedirect(server),
    scope,
    state,
    ...(nonce ? { nonce } : {}),
    aud: server.fhirBase,
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
  });
  const back = await authorizeInBrowser(new Browser(), url.href, sampleRedirect(server), { ...user, ...(grant ? { grant } : {}) });
  return oidc.authorizationCodeGrant(app, back, { pkceCodeVerifier: verifier, expectedState: state, ...(nonce ? { expectedNonce: nonce } : {}) });
}

beforeAll(async () => {
  server = await startTestServer();
  app = await discover(SAMPLE_APP, { token_endpoint_auth_method: 'none' }, oidc.None());
});
afterAll(async () => server?.stop());

describe('authorization code with PKCE (public client)', () => {
  it('issues a JWT access token for the FHIR API, an RS256 id_token with fhirUser, and the launch context', async () => {
    const tokens = await signIn('openid fhirUser launch/patient patient/*.rs offline_access');
    expect(tokens.token_type.toLowerCase()).toBe('bearer');
    expect(typeof tokens.expires_in).toBe('number');
    expect(tokens.expires_in).toBeLessThanOrEqual(3600);
    expect(tokens.scope).toBe('openid fhirUser launch/patient patient/*.rs offline_access');
    expect(tokens.refresh_token).toBeTruthy();
    expect(tokens.patient).toBe('patient-001');
    expect(tokens.need_patient_banner).toBe(true);
    expect(tokens.smart_style_url).toBe(`${server.issuer}/smart-style.json`);

    const claims = tokens.claims()!;
    expect(claims.fhirUser).toBe(`${server.fhirBase}/Practitioner/practitioner-001`);
    expect(claims.sub).toBe('dr.carter');
    const header = JSON.parse(Buffer.from(tokens.id_token!.split('.')[0]!, 'base64url').toString()) as { alg: string };
    expect(header.alg).toBe('RS256');

    const jwks = createRemoteJWKSet(new URL(`${server.issuer}/jwks`));
    const { payload, protectedHeader } = await jwtVerify(tokens.access_token, jwks, {
      issuer: server.issuer,
      audience: server.fhirBase,
      algorithms: ['ES256'],
      typ: 'at+jwt',
    });
    expect(protectedHeader.alg).toBe('ES256');
    expect(payload).toMatchObject({ client_id: SAMPLE_APP, sub: 'dr.carter', scope: tokens.scope, patient: 'patient-001', fhirUser: claims.fhirUser });
    expect(payload.exp! - payload.iat!).toBeLessThanOrEqual(3600);
  });

  it('v1 asked, v1 returned', async () => {
    const tokens = await signIn('launch/patient patient/*.read');
    expect(tokens.scope).toBe('launch/patient patient/*.read');
    expect(decodeJwt(tokens.access_token).scope).toBe('launch/patient patient/*.read');
  });

  it('the user can grant a subset, and the token says exactly what was granted', async () => {
    const tokens = await signIn('openid fhirUser launch/patient patient/Observation.rs patient/Condition.rs offline_access', undefined, (all) =>
      all.filter((s) => s !== 'patient/Condition.rs' && !s.includes('?') && s !== 'offline_access'),
    );
    expect(tokens.scope).toBe('openid fhirUser launch/patient patient/Observation.rs');
    expect(tokens.refresh_token).toBeUndefined();
  });

  it('granular consent: categories instead of the whole type', async () => {
    const lab = 'patient/Observation.rs?category=http://terminology.hl7.org/CodeSystem/observation-category|laboratory';
    const vitals = 'patient/Observation.rs?category=http://terminology.hl7.org/CodeSystem/observation-category|vital-signs';
    const tokens = await signIn('launch/patient patient/Observation.rs', undefined, () => ['launch/patient', lab, vitals]);
    expect(tokens.scope).toBe(`launch/patient ${lab} ${vitals}`);
  });
});

describe('refresh', () => {
  it('without scope: same scopes, new access token, rotated refresh token; with scope: a subset', async () => {
    const first = await signIn('openid fhirUser launch/patient patient/*.rs offline_access');
    const refreshed = await oidc.refreshTokenGrant(app, first.refresh_token!);
    expect(refreshed.scope).toBe(first.scope);
    expect(refreshed.access_token).not.toBe(first.access_token);
    expect(refreshed.refresh_token).toBeTruthy();
    expect(refreshed.refresh_token).not.toBe(first.refresh_token);
    expect(refreshed.patient).toBe('patient-001');
    expect(decodeJwt(refreshed.access_token).patient).toBe('patient-001');

    const narrower = await oidc.refreshTokenGrant(app, refreshed.refresh_token!, { scope: 'launch/patient patient/*.rs' });
    expect(narrower.scope).toBe('launch/patient patient/*.rs');
    await expect(oidc.refreshTokenGrant(app, narrower.refresh_token!, { scope: 'patient/*.cruds' })).rejects.toMatchObject({ error: 'invalid_scope' });
  });

  it('a rotated-out refresh token cannot be used again (and using it revokes the grant)', async () => {
    const first = await signIn('launch/patient patient/*.rs offline_access');
    const second = await oidc.refreshTokenGrant(app, first.refresh_token!);
    await expect(oidc.refreshTokenGrant(app, first.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
    await expect(oidc.refreshTokenGrant(app, second.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
  });

  it('the token endpoint answers browser apps with CORS for the origins of their redirect URIs only', async () => {
    const tokens = await signIn('launch/patient patient/*.rs offline_access');
    const refreshFrom = (origin: string, refreshToken: string) =>
      fetch(`${server.issuer}/token`, {
        method: 'POST',
        headers: { origin, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken, client_id: SAMPLE_APP }),
      });
    const allowed = await refreshFrom(server.baseUrl, tokens.refresh_token!);
    expect(allowed.status).toBe(200);
    expect(allowed.headers.get('access-control-allow-origin')).toBe(server.baseUrl);
    const next = (await allowed.json()) as { refresh_token: string };
    const foreign = await refreshFrom('https://evil.example', next.refresh_token);
    expect(foreign.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('online_access gives a refresh token tied to the sign-in session', async () => {
    const tokens = await signIn('launch/patient patient/*.rs online_access');
    expect(tokens.refresh_token).toBeTruthy();
    expect((await oidc.refreshTokenGrant(app, tokens.refresh_token!)).access_token).toBeTruthy();
  });
});

describe('confidential clients: introspection and revocation', () => {
  let resourceServer: oidc.Configuration;

  beforeAll(async () => {
    const secret = 'a secret: with % & + = " \' and spaces';
    const registered = await register(server, {
      client_name: 'Resource server',
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: 'client_secret_basic',
      scope: 'system/*.rs',
    });
    expect(registered.status).toBe(201);
    // Secrets with any characters: set one explicitly through the store-backed client.
    const clients = server.bedside.storage.documents.collection<Record<string, unknown>>('oidc.Client');
    const stored = (await clients.get(String(registered.body.client_id)))!;
    await clients.put(String(registered.body.client_id), { ...stored, client_secret: secret });
    resourceServer = await discover(String(registered.body.client_id), {}, oidc.ClientSecretBasic(secret));
  });

  it('introspects an access token with SMART fields, and an unknown one as {"active": false} alone', async () => {
    const tokens = await signIn('openid fhirUser launch/patient patient/*.rs offline_access');
    const info = await oidc.tokenIntrospection(resourceServer, tokens.access_token);
    expect(info).toMatchObject({
      active: true,
      scope: tokens.scope,
      client_id: SAMPLE_APP,
      sub: 'dr.carter',
      iss: server.issuer,
      patient: 'patient-001',
      fhirUser: `${server.fhirBase}/Practitioner/practitioner-001`,
      token_type: 'Bearer',
    });
    expect(typeof info.exp).toBe('number');
    const refresh = await oidc.tokenIntrospection(resourceServer, tokens.refresh_token!);
    expect(refresh).toMatchObject({ active: true, client_id: SAMPLE_APP, patient: 'patient-001' });

    const response = await fetch(`${server.issuer}/introspect`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${encodeURIComponent(resourceServer.clientMetadata().client_id)}:${encodeURIComponent('a secret: with % & + = " \' and spaces')}`).toString('base64')}`,
      },
      body: new URLSearchParams({ token: 'not-a-token' }),
    });
    expect(await response.json()).toEqual({ active: false });
  });

  it('revoking the access token revokes the grant: the token and its refresh token go inactive', async () => {
    const tokens = await signIn('launch/patient patient/*.rs offline_access');
    await oidc.tokenRevocation(app, tokens.access_token);
    expect(await oidc.tokenIntrospection(resourceServer, tokens.access_token)).toEqual({ active: false });
    expect(await oidc.tokenIntrospection(resourceServer, tokens.refresh_token!)).toEqual({ active: false });
    await expect(server.bedside.app.auth.verifier.verify(tokens.access_token)).rejects.toMatchObject({ code: 'revoked' });
  });

  it('revoking the refresh token revokes the grant and its access tokens', async () => {
    const tokens = await signIn('launch/patient patient/*.rs offline_access');
    expect((await server.bedside.app.auth.verifier.verify(tokens.access_token)).patient).toBe('patient-001');
    await oidc.tokenRevocation(app, tokens.refresh_token!);
    await expect(oidc.refreshTokenGrant(app, tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
    await expect(server.bedside.app.auth.verifier.verify(tokens.access_token)).rejects.toMatchObject({ code: 'revoked' });
  });
});

describe('backend services: client_credentials with private_key_jwt', () => {
  for (const alg of ['RS384', 'ES384'] as const) {
    it(`${alg}: system scopes (v2 and v1), at most 5 minutes, no refresh token; revocable`, async () => {
      const key = await clientKey(alg);
      const registered = await register(server, {
        client_name: `Backend ${alg}`,
        grant_types: ['client_credentials'],
        response_types: [],
        redirect_uris: [],
        token_endpoint_auth_method: 'private_key_jwt',
        token_endpoint_auth_signing_alg: alg,
        jwks: { keys: [key.publicJwk] },
        scope: 'system/*.rs system/*.read introspection',
      });
      expect(registered.status).toBe(201);
      const backend = await discover(String(registered.body.client_id), { token_endpoint_auth_method: 'private_key_jwt' }, privateKeyJwt(key));
      const v2 = await oidc.clientCredentialsGrant(backend, { scope: 'system/Patient.rs system/Observation.rs' });
      expect(v2.scope).toBe('system/Patient.rs system/Observation.rs');
      expect(v2.expires_in).toBeLessThanOrEqual(300);
      expect(v2.refresh_token).toBeUndefined();
      const claims = decodeJwt(v2.access_token);
      expect(claims).toMatchObject({ sub: registered.body.client_id, client_id: registered.body.client_id, aud: server.fhirBase });
      expect((claims.exp as number) - (claims.iat as number)).toBeLessThanOrEqual(300);
      const v1 = await oidc.clientCredentialsGrant(backend, { scope: 'system/*.read' });
      expect(v1.scope).toBe('system/*.read');

      // A backend token holding the introspection scope may introspect (Bearer) ...
      const introspector = await oidc.clientCredentialsGrant(backend, { scope: 'introspection' });
      const viaBearer = await fetch(`${server.issuer}/introspect`, {
        method: 'POST',
        headers: { authorization: `Bearer ${introspector.access_token}`, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ token: v2.access_token }),
      });
      expect(await viaBearer.json()).toMatchObject({ active: true, scope: 'system/Patient.rs system/Observation.rs' });
      // ... one without it may not.
      const denied = await fetch(`${server.issuer}/introspect`, {
        method: 'POST',
        headers: { authorization: `Bearer ${v2.access_token}`, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ token: v1.access_token }),
      });
      expect(denied.status).toBe(403);
      expect(denied.headers.get('www-authenticate')).toMatch(/insufficient_scope/);

      await oidc.tokenRevocation(backend, v2.access_token);
      expect(await oidc.tokenIntrospection(backend, v2.access_token)).toEqual({ active: false });
      expect((await oidc.tokenIntrospection(backend, v1.access_token)).active).toBe(true);
    });
  }

  it('refuses user-facing scopes and scopes outside the registration', async () => {
    const key = await clientKey('ES384');
    const registered = await register(server, {
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: 'private_key_jwt',
      jwks: { keys: [key.publicJwk] },
      scope: 'system/Patient.rs',
    });
    const backend = await discover(String(registered.body.client_id), { token_endpoint_auth_method: 'private_key_jwt' }, privateKeyJwt(key));
    await expect(oidc.clientCredentialsGrant(backend, { scope: 'patient/*.rs' })).rejects.toMatchObject({ error: 'invalid_scope' });
    await expect(oidc.clientCredentialsGrant(backend, { scope: 'system/Observation.rs' })).rejects.toMatchObject({ error: 'invalid_scope' });
    await expect(oidc.clientCredentialsGrant(backend, {})).rejects.toMatchObject({ error: 'invalid_scope' });
  });
});
