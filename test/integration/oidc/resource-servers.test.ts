/**
 * Other APIs protected by Bedside: a resource server configured by the operator (RESOURCE_SERVERS)
 * and one registered at run time; tokens asked for with RFC 8707 `resource` are ES256 JWTs with
 * that API's audience and scopes, refused by the FHIR API (wrong audience) and accepted by a
 * sample express service using the documented middleware (docs/oidc.md), which also sees
 * revocation through introspection. The gateway check (nginx auth_request) answers the same way.
 */
import { readFileSync } from 'node:fs';
import type http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import express from 'express';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireBedsideToken, type BedsideToken } from '../../../src/auth/policy/resource-servers/express-middleware.js';
import { Browser, formTo, isPage } from '../auth/support/browser.js';
import { decodeJwt, pkce, register } from '../auth/support/clients.js';
import { userToken } from '../../support/user-tokens.js';
import { text } from './support/flows.js';
import { freePort, startOidcServer, type OidcTestServer as TestServer } from './support/server.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(HERE, '../../..');

let server: TestServer;
let service: http.Server;
let servicePort: number;
let orders: string;
let backend: { id: string; secret: string };
let entry: string;
const ENTRY_REDIRECT = 'http://127.0.0.1:9/order-entry/cb';

beforeAll(async () => {
  servicePort = await freePort();
  orders = `http://127.0.0.1:${servicePort}/orders`;
  server = await startOidcServer({
    config: { revocationCheckMs: 0 },
    env: {
      RESOURCE_SERVERS: JSON.stringify([
        { identifier: orders, name: 'Orders API', scopes: { 'orders.read': 'Read orders', 'orders.write': 'Place orders' }, accessTokenTtlSeconds: 600 },
      ]),
      CLAIM_MAPPINGS: JSON.stringify([{ claim: 'login_name', account: 'username', in: ['access_token'], audiences: [orders] }]),
    },
  });
  const registered = await register(server, {
    client_name: 'Order sync',
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
    token_endpoint_auth_method: 'client_secret_basic',
    scope: 'orders.read system/Patient.rs',
  });
  expect(registered.status).toBe(201);
  expect(registered.body.scope).toBe('orders.read system/Patient.rs');
  backend = { id: String(registered.body.client_id), secret: String(registered.body.client_secret) };
  entry = String(
    (
      await register(server, {
        client_name: 'Order entry',
        token_endpoint_auth_method: 'none',
        grant_types: ['authorization_code'],
        response_types: ['code'],
        redirect_uris: [ENTRY_REDIRECT],
        scope: 'openid profile orders.read orders.write',
      })
    ).body.client_id,
  );

  // The "existing service" protected with the middleware from docs/oidc.md.
  const app = express();
  app.get('/orders', requireBedsideToken({ issuer: server.issuer, audience: orders, scopes: ['orders.read'] }), (_req, res) => {
    const token = res.locals.bedside as BedsideToken;
    res.json({ orders: [], for: token.claims.sub, client: token.claims.client_id, login_name: token.claims.login_name ?? null });
  });
  app.post(
    '/orders',
    requireBedsideToken({ issuer: server.issuer, audience: orders, scopes: ['orders.write'] }),
    (_req, res) => void res.status(201).json({ ok: true }),
  );
  app.get(
    '/orders/strict',
    requireBedsideToken({
      issuer: server.issuer,
      audience: orders,
      scopes: ['orders.read'],
      introspection: { clientId: backend.id, clientSecret: backend.secret },
    }),
    (_req, res) => void res.json({ ok: true }),
  );
  service = app.listen(servicePort, '127.0.0.1');
  await new Promise((resolve) => service.once('listening', resolve));
});
afterAll(async () => {
  service?.closeAllConnections();
  await new Promise((resolve) => service?.close(resolve));
  await server?.stop();
});

const basic = () => `Basic ${Buffer.from(`${backend.id}:${backend.secret}`).toString('base64')}`;

async function clientCredentials(params: Record<string, string>): Promise<{ status: number; body: Record<string, string> }> {
  const response = await fetch(`${server.issuer}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic() },
    body: new URLSearchParams({ grant_type: 'client_credentials', ...params }),
  });
  return { status: response.status, body: (await response.json()) as Record<string, string> };
}

async function introspect(token: string): Promise<Record<string, unknown>> {
  const response = await fetch(`${server.issuer}/introspect`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic() },
    body: new URLSearchParams({ token }),
  });
  return (await response.json()) as Record<string, unknown>;
}

const call = (url: string, token?: string, method = 'GET') => fetch(url, { method, headers: token ? { authorization: `Bearer ${token}` } : {} });
const gateway = (token: string | undefined, query: Record<string, string>) => call(`${server.issuer}/gateway/check?${new URLSearchParams(query)}`, token);

describe('tokens for another API (RFC 8707 resource)', () => {
  it('client_credentials with resource= gets an ES256 JWT whose aud is the API and whose scope is only its scopes', async () => {
    const { status, body } = await clientCredentials({ resource: orders, scope: 'orders.read' });
    expect(status).toBe(200);
    expect(body).toMatchObject({ token_type: 'Bearer', scope: 'orders.read' });
    expect(Number(body.expires_in)).toBeLessThanOrEqual(600);
    expect(decodeProtectedHeader(body.access_token!)).toMatchObject({ alg: 'ES256', typ: 'at+jwt' });
    const { payload } = await jwtVerify(body.access_token!, createRemoteJWKSet(new URL(`${server.issuer}/jwks`)), {
      issuer: server.issuer,
      audience: orders,
      algorithms: ['ES256'],
      typ: 'at+jwt',
    });
    expect(payload).toMatchObject({ aud: orders, scope: 'orders.read', client_id: backend.id, sub: backend.id });
  });

  it('the FHIR API refuses it (wrong audience); the sample service accepts it', async () => {
    const token = (await clientCredentials({ resource: orders, scope: 'orders.read' })).body.access_token!;
    const fhir = await call(`${server.fhirBase}/Patient`, token);
    expect(fhir.status).toBe(401);
    expect(fhir.headers.get('www-authenticate')).toMatch(/error="invalid_token".*another resource server/);
    const accepted = await call(orders, token);
    expect(accepted.status).toBe(200);
    expect(await accepted.json()).toEqual({ orders: [], for: backend.id, client: backend.id, login_name: null });
  });

  it('the service refuses FHIR tokens, missing tokens and missing scopes, with RFC 6750 challenges', async () => {
    const fhirToken = (await clientCredentials({ scope: 'system/Patient.rs' })).body.access_token!;
    expect((await call(`${server.fhirBase}/Patient`, fhirToken)).status).toBe(200);
    const wrong = await call(orders, fhirToken);
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('www-authenticate')).toBe(
      `Bearer realm="${orders}", error="invalid_token", error_description="the access token is invalid, expired or not meant for this service"`,
    );
    expect((await call(orders)).status).toBe(401);
    const readOnly = (await clientCredentials({ resource: orders, scope: 'orders.read' })).body.access_token!;
    const write = await call(orders, readOnly, 'POST');
    expect(write.status).toBe(403);
    expect(write.headers.get('www-authenticate')).toMatch(/error="insufficient_scope".*scope="orders.write"/);
  });

  it('introspection describes it; after revocation introspection and the introspecting middleware refuse it', async () => {
    const token = (await clientCredentials({ resource: orders, scope: 'orders.read' })).body.access_token!;
    expect(await introspect(token)).toMatchObject({ active: true, aud: orders, scope: 'orders.read', client_id: backend.id, iss: server.issuer });
    expect((await call(`${orders}/strict`, token)).status).toBe(200);
    await fetch(`${server.issuer}/revoke`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic() },
      body: new URLSearchParams({ token }),
    });
    expect(await introspect(token)).toEqual({ active: false });
    expect((await call(`${orders}/strict`, token)).status).toBe(401);
    // Offline verification cannot know (documented): it accepts the token until it expires.
    expect((await call(orders, token)).status).toBe(200);
  });

  it('refuses scopes outside the client registration, FHIR scopes for the API, and unknown resources', async () => {
    expect((await clientCredentials({ resource: orders, scope: 'orders.write' })).body).toMatchObject({ error: 'invalid_scope' });
    expect((await clientCredentials({ resource: orders, scope: 'orders.read system/Patient.rs' })).body).toMatchObject({ error: 'invalid_scope' });
    expect((await clientCredentials({ resource: orders })).body).toMatchObject({ error: 'invalid_scope' });
    expect((await clientCredentials({ resource: 'https://unknown.example/api', scope: 'orders.read' })).body).toMatchObject({ error: 'invalid_target' });
  });

  it('a user authorizes an app for the API: consent shows its scopes, the token holds what the user kept, with the mapped claim for that audience only', async () => {
    const { verifier, challenge } = pkce();
    const url = new URL(`${server.issuer}/authorize`);
    url.search = new URLSearchParams({
      response_type: 'code',
      client_id: entry,
      redirect_uri: ENTRY_REDIRECT,
      scope: 'openid orders.read orders.write',
      resource: orders,
      state: 's1',
      code_challenge: challenge,
      code_challenge_method: 'S256',
    }).toString();
    const browser = new Browser();
    let page = await browser.go(url.href, { stopAt: ENTRY_REDIRECT });
    if (!isPage(page)) throw new Error('expected the sign-in page');
    page = await browser.submit(formTo(page, '/login'), { username: 'dr.carter', password: 'bedside-demo' }, undefined, ENTRY_REDIRECT);
    if (!isPage(page)) throw new Error('expected the consent page');
    expect(text(page)).toContain('Orders API: Read orders');
    expect(text(page)).toContain('Orders API: Place orders');
    const back = await browser.submit(formTo(page, '/consent'), { scope: ['openid', 'orders.read'] }, { name: 'decision', value: 'approve' }, ENTRY_REDIRECT);
    if (isPage(back)) throw new Error(text(back));
    const code = new URL(back.stoppedAt).searchParams.get('code')!;
    const response = await fetch(`${server.issuer}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: ENTRY_REDIRECT, client_id: entry, code_verifier: verifier }),
    });
    const tokens = (await response.json()) as Record<string, string>;
    expect(response.status).toBe(200);
    expect(tokens.scope).toBe('orders.read');
    expect(decodeJwt(tokens.access_token!)).toMatchObject({
      aud: orders,
      sub: 'dr.carter',
      scope: 'orders.read',
      login_name: 'dr.carter',
      fhirUser: `${server.fhirBase}/Practitioner/practitioner-001`,
    });
    expect(decodeJwt(tokens.id_token!).login_name).toBeUndefined();
    expect(await (await call(orders, tokens.access_token)).json()).toMatchObject({ for: 'dr.carter', login_name: 'dr.carter' });
    expect((await call(orders, tokens.access_token, 'POST')).status).toBe(403);
    // Userinfo belongs to the FHIR audience's tokens, not to another API's.
    expect((await call(`${server.issuer}/userinfo`, tokens.access_token)).status).toBe(401);

    // The mapped claim is configured for the orders audience only: not in FHIR tokens.
    const fhir = await userToken(server, { username: 'dr.carter', password: 'bedside-demo', scope: 'openid fhirUser user/*.rs' });
    expect(decodeJwt(fhir.access_token).login_name).toBeUndefined();
    expect((await introspect(fhir.access_token)).login_name).toBeUndefined();
  });
});

describe('gateway check (nginx auth_request)', () => {
  it('204 with who is calling for a live token of that resource holding the scopes; 401 / 403 / 400 otherwise', async () => {
    const token = (await clientCredentials({ resource: orders, scope: 'orders.read' })).body.access_token!;
    const ok = await gateway(token, { resource: orders, scope: 'orders.read' });
    expect(ok.status).toBe(204);
    expect(ok.headers.get('x-bedside-sub')).toBe(backend.id);
    expect(ok.headers.get('x-bedside-client-id')).toBe(backend.id);
    expect(ok.headers.get('x-bedside-scope')).toBe('orders.read');
    const missing = await gateway(token, { resource: orders, scope: 'orders.write' });
    expect(missing.status).toBe(403);
    expect(missing.headers.get('www-authenticate')).toMatch(/insufficient_scope/);
    const fhirToken = (await clientCredentials({ scope: 'system/Patient.rs' })).body.access_token!;
    expect((await gateway(fhirToken, { resource: orders })).status).toBe(401);
    expect((await gateway(undefined, { resource: orders })).status).toBe(401);
    expect((await gateway(token, { resource: 'https://unknown.example/' })).status).toBe(400);
  });

  it('forwards the mapped claims of a user token', async () => {
    const user = await server.bedside.app.auth.accounts.findByUsername('dr.carter');
    expect(user).toBeDefined();
    const { verifier, challenge } = pkce();
    const browser = new Browser();
    const url = `${server.issuer}/authorize?${new URLSearchParams({ response_type: 'code', client_id: entry, redirect_uri: ENTRY_REDIRECT, scope: 'orders.read', resource: orders, state: 's2', code_challenge: challenge, code_challenge_method: 'S256' })}`;
    let page = await browser.go(url, { stopAt: ENTRY_REDIRECT });
    if (isPage(page)) page = await browser.submit(formTo(page, '/login'), { username: 'dr.carter', password: 'bedside-demo' }, undefined, ENTRY_REDIRECT);
    if (isPage(page)) page = await browser.submit(formTo(page, '/consent'), {}, { name: 'decision', value: 'approve' }, ENTRY_REDIRECT);
    if (isPage(page)) throw new Error(text(page));
    const code = new URL(page.stoppedAt).searchParams.get('code')!;
    const tokens = (await (
      await fetch(`${server.issuer}/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: ENTRY_REDIRECT, client_id: entry, code_verifier: verifier }),
      })
    ).json()) as Record<string, string>;
    const ok = await gateway(tokens.access_token, { resource: orders, scope: 'orders.read' });
    expect(ok.status).toBe(204);
    expect(ok.headers.get('x-bedside-sub')).toBe('dr.carter');
    expect(ok.headers.get('x-bedside-fhir-user')).toBe(`${server.fhirBase}/Practitioner/practitioner-001`);
    expect(JSON.parse(Buffer.from(ok.headers.get('x-bedside-claims')!, 'base64url').toString())).toEqual({ login_name: 'dr.carter' });
  });
});

describe('resource servers registered by an operator at run time', () => {
  it('register, opt a client in, get a token; after removal the resource is unknown', async () => {
    const admin = server.bedside.app.auth.admin;
    const actor = { id: 'admin', via: 'command' as const };
    const billing = 'https://billing.example.org/api';
    await admin.putResourceServer(actor, { identifier: billing, name: 'Billing', scopes: { 'billing.read': 'Read invoices' } });
    expect((await clientCredentials({ resource: billing, scope: 'billing.read' })).body).toMatchObject({ error: 'invalid_scope' });
    await admin.editClient(actor, backend.id, { scope: 'orders.read system/Patient.rs billing.read' });
    const { body } = await clientCredentials({ resource: billing, scope: 'billing.read' });
    expect(decodeJwt(body.access_token!)).toMatchObject({ aud: billing, scope: 'billing.read' });
    expect((await introspect(body.access_token!)).active).toBe(true);
    await admin.removeResourceServer(actor, billing);
    expect((await clientCredentials({ resource: billing, scope: 'billing.read' })).body).toMatchObject({ error: 'invalid_target' });
    expect(await introspect(body.access_token!)).toEqual({ active: false });
    await expect(admin.putResourceServer(actor, { identifier: orders, name: 'x', scopes: { 'x.read': 'x' } })).rejects.toMatchObject({ code: 'forbidden' });
    await expect(admin.putResourceServer(actor, { identifier: server.fhirBase, name: 'x', scopes: { 'x.read': 'x' } })).rejects.toMatchObject({
      code: 'invalid',
    });
    await expect(admin.putResourceServer(actor, { identifier: 'https://x.example/', name: 'x', scopes: { 'patient/*.rs': 'x' } })).rejects.toMatchObject({
      code: 'invalid',
    });
  });
});

describe('documentation', () => {
  it('docs/oidc.md prints the middleware exactly as tested here', () => {
    const docs = readFileSync(path.join(REPO, 'docs/oidc.md'), 'utf8');
    const source = readFileSync(path.join(REPO, 'src/auth/policy/resource-servers/express-middleware.ts'), 'utf8');
    expect(docs).toContain(source.trim());
  });
});

describe('configuration examples in docs/oidc.md', () => {
  it('are accepted as they are printed (one federation, the claim mappings, one resource server)', async () => {
    const { loadConfig } = await import('../../../src/config.js');
    const docs = readFileSync(path.join(REPO, 'docs/oidc.md'), 'utf8');
    const env: Record<string, string> = {};
    for (const [, name, value] of docs.matchAll(/^([A-Z_]+)='([\s\S]*?)'$/gm)) env[name!] = value!.replace(/'"'"'/g, "'");
    expect(Object.keys(env).sort()).toEqual(['CLAIM_MAPPINGS', 'FEDERATION_PROVIDERS', 'RESOURCE_SERVERS']);
    const config = loadConfig({ ...env, BASE_URL: 'https://bedside.example.org', LOG_LEVEL: 'silent' });
    expect(config.federation).toMatchObject([{ id: 'contoso', firstLogin: 'link-or-provision', fhirUser: { identifierSystem: 'urn:example:lan-id' } }]);
    expect(config.claimMappings.map((m) => m.claim)).toEqual(['local_user', 'department', 'login_name']);
    expect(config.resourceServers).toMatchObject([{ identifier: 'https://orders.example.org/api/', scopes: { 'orders.read': 'Read orders' } }]);
  });
});
