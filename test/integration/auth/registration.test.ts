/**
 * Dynamic client registration (RFC 7591/7592) as docs/contract.md says: open unless REGISTRATION_TOKEN
 * is set; public, symmetric and asymmetric clients (inline JWKS or jwks_uri); metadata returned
 * exactly as registered; the registered scope validated and capping grants. And the RFC 7523 JWT
 * bearer grant for trusted issuers.
 */
import http from 'node:http';
import { randomBytes } from 'node:crypto';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ASSERTION_TYPE, clientAssertion, clientKey, decodeJwt, register, tokenRequest, type ClientKey } from './support/clients.js';
import { freePort, startTestServer, type TestServer } from './support/server.js';

describe('open registration', () => {
  let server: TestServer;
  let jwksServer: http.Server;
  let jwksKey: ClientKey;
  let jwksUri: string;

  beforeAll(async () => {
    server = await startTestServer({ allowPrivateNetworkFetch: true });
    jwksKey = await clientKey('RS384');
    const port = await freePort();
    jwksUri = `http://127.0.0.1:${port}/jwks.json`;
    jwksServer = http.createServer((_req, res) =>
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwksKey.publicJwk] })),
    );
    await new Promise<void>((resolve) => jwksServer.listen(port, '127.0.0.1', resolve));
  });
  afterAll(async () => {
    jwksServer?.close();
    await server?.stop();
  });

  it('a public client: metadata stored and returned exactly as registered', async () => {
    const metadata = {
      client_name: 'My SMART app',
      token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      redirect_uris: ['https://app.example/callback', 'http://localhost:3000/callback'],
      scope:
        'openid fhirUser launch launch/patient patient/Observation.rs?category=http://terminology.hl7.org/CodeSystem/observation-category|laboratory offline_access',
    };
    const { status, body } = await register(server, metadata);
    expect(status).toBe(201);
    expect(body).toMatchObject(metadata);
    expect(body.client_id).toBeTruthy();
    expect(body.client_secret).toBeUndefined();
    // RFC 7592: read it back with the registration access token.
    const read = await fetch(String(body.registration_client_uri), { headers: { authorization: `Bearer ${body.registration_access_token}` } });
    expect(read.status).toBe(200);
    expect(await read.json()).toMatchObject(metadata);
  });

  it('a confidential symmetric client gets a secret and can use it', async () => {
    const { status, body } = await register(server, {
      token_endpoint_auth_method: 'client_secret_basic',
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      scope: 'system/Patient.rs',
    });
    expect(status).toBe(201);
    const token = await tokenRequest(
      server,
      { grant_type: 'client_credentials', scope: 'system/Patient.rs' },
      { authorization: `Basic ${Buffer.from(`${body.client_id}:${body.client_secret}`).toString('base64')}` },
    );
    expect(token.body.scope).toBe('system/Patient.rs');
  });

  it('an asymmetric client with a jwks_uri (RS384): keys fetched, chosen by kid', async () => {
    const metadata = {
      token_endpoint_auth_method: 'private_key_jwt',
      token_endpoint_auth_signing_alg: 'RS384',
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      jwks_uri: jwksUri,
      scope: 'system/*.rs',
    };
    const { status, body } = await register(server, metadata);
    expect(status).toBe(201);
    expect(body).toMatchObject(metadata);
    const clientId = String(body.client_id);
    const token = await tokenRequest(server, {
      grant_type: 'client_credentials',
      scope: 'system/Observation.rs',
      client_assertion_type: ASSERTION_TYPE,
      client_assertion: await clientAssertion(server, clientId, jwksKey),
    });
    expect(token.status).toBe(200);
    expect(token.body.scope).toBe('system/Observation.rs');
  });

  it('an asymmetric client with an inline JWKS returns the JWKS as registered', async () => {
    const key = await clientKey('ES384');
    const { status, body } = await register(server, {
      token_endpoint_auth_method: 'private_key_jwt',
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      jwks: { keys: [key.publicJwk] },
      scope: 'system/*.rs',
    });
    expect(status).toBe(201);
    expect(body.jwks).toEqual({ keys: [key.publicJwk] });
  });

  it('refuses a malformed SMART scope, an unsupported grant and an unsupported signing algorithm', async () => {
    const bad = await register(server, { token_endpoint_auth_method: 'none', redirect_uris: ['https://app.example/cb'], scope: 'patient/Observation.sr' });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toBe('invalid_client_metadata');
    expect((await register(server, { token_endpoint_auth_method: 'none', redirect_uris: ['https://app.example/cb'], grant_types: ['implicit'] })).status).toBe(
      400,
    );
    const key = await clientKey('ES384');
    expect(
      (
        await register(server, {
          token_endpoint_auth_method: 'private_key_jwt',
          token_endpoint_auth_signing_alg: 'HS256',
          grant_types: ['client_credentials'],
          response_types: [],
          redirect_uris: [],
          jwks: { keys: [key.publicJwk] },
        })
      ).status,
    ).toBe(400);
  });
});

describe('registration with REGISTRATION_TOKEN', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ registrationToken: 'let-me-register' });
  });
  afterAll(async () => server?.stop());

  it('requires the initial access token', async () => {
    const metadata = { token_endpoint_auth_method: 'none', redirect_uris: ['https://app.example/cb'] };
    expect((await register(server, metadata)).status).toBe(401);
    expect((await register(server, metadata, 'wrong')).status).toBe(401);
    expect((await register(server, metadata, 'let-me-register')).status).toBe(201);
  });
});

describe('RFC 7523 JWT bearer grant', () => {
  let server: TestServer;
  let issuerKey: ClientKey;
  let clientId: string;
  let clientSecret: string;
  const trusted = 'https://idp.example';

  beforeAll(async () => {
    issuerKey = await clientKey('RS384');
    server = await startTestServer({ jwtBearerIssuers: [{ issuer: trusted, jwks: { keys: [issuerKey.publicJwk as Record<string, unknown>] } }] });
    const { body } = await register(server, {
      token_endpoint_auth_method: 'client_secret_basic',
      grant_types: ['urn:ietf:params:oauth:grant-type:jwt-bearer'],
      response_types: [],
      redirect_uris: [],
      scope: 'user/*.rs openid',
    });
    clientId = String(body.client_id);
    clientSecret = String(body.client_secret);
  });
  afterAll(async () => server?.stop());

  const assertion = (claims: Record<string, unknown> = {}, key = issuerKey) => {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({
      iss: trusted,
      sub: 'dr.carter',
      aud: `${server.issuer}/token`,
      jti: randomBytes(8).toString('hex'),
      iat: now,
      exp: now + 120,
      ...claims,
    })
      .setProtectedHeader({ alg: 'RS384', kid: issuerKey.kid })
      .sign(key.privateKey);
  };
  const exchange = async (jwt: string, scope = 'user/*.rs') =>
    tokenRequest(
      server,
      { grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion: jwt, scope },
      { authorization: `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString('base64')}` },
    );

  it('is advertised and exchanges a trusted assertion for a token acting as the user', async () => {
    const smart = (await (await fetch(`${server.fhirBase}/.well-known/smart-configuration`)).json()) as { grant_types_supported: string[] };
    expect(smart.grant_types_supported).toContain('urn:ietf:params:oauth:grant-type:jwt-bearer');
    const response = await exchange(await assertion());
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ token_type: 'Bearer', scope: 'user/*.rs' });
    expect(decodeJwt(String(response.body.access_token))).toMatchObject({
      sub: 'dr.carter',
      fhirUser: `${server.fhirBase}/Practitioner/practitioner-001`,
      aud: server.fhirBase,
    });
    expect((await server.bedside.app.auth.verifier.verify(String(response.body.access_token))).fhirUser).toBe('Practitioner/practitioner-001');
  });

  it('refuses replays, untrusted issuers, bad signatures, unknown users and patient scopes', async () => {
    const once = await assertion();
    expect((await exchange(once)).status).toBe(200);
    expect((await exchange(once)).body.error).toBe('invalid_grant');
    expect((await exchange(await assertion({ iss: 'https://evil.example' }))).body.error).toBe('invalid_grant');
    expect((await exchange(await assertion({}, await clientKey('RS384')))).body.error).toBe('invalid_grant');
    expect((await exchange(await assertion({ sub: 'nobody' }))).body.error).toBe('invalid_grant');
    expect((await exchange(await assertion({ exp: Math.floor(Date.now() / 1000) + 3600 }))).body.error).toBe('invalid_grant');
    expect((await exchange(await assertion(), 'patient/*.rs')).body.error).toBe('invalid_scope');
  });
});
