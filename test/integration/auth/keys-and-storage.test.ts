/**
 * Keys and state live in the shared store: signing keys are created once and rotated (new keys
 * sign, old ones verify until their tokens expire); sessions, grants, codes, refresh tokens and
 * clients survive a restart; two nodes on one store serve one authorization together.
 */
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Browser } from './support/browser.js';
import { sampleAuthorization, SAMPLE_APP, tokenRequest } from './support/clients.js';
import { authorizeInBrowser } from './support/flows.js';
import { freePort, startTestServer, type TestServer } from './support/server.js';

const user = { username: 'dr.carter', password: 'bedside-demo', patient: 'patient-001' };

async function tokensFrom(server: TestServer, tokenBase = server.issuer) {
  const request = sampleAuthorization(server);
  const back = await authorizeInBrowser(new Browser(), request.url, request.redirectUri, user);
  const response = await fetch(`${tokenBase}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code: back.searchParams.get('code')!,
      redirect_uri: request.redirectUri,
      client_id: SAMPLE_APP,
      code_verifier: request.verifier,
    }),
  });
  expect(response.status).toBe(200);
  return (await response.json()) as Record<string, string>;
}

describe('key rotation', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => server?.stop());

  it('new keys sign after rotation; tokens signed by the old keys still verify', async () => {
    const before = await tokensFrom(server);
    const oldKid = decodeProtectedHeader(before.access_token!).kid;
    await server.bedside.app.auth.rotateKeys();
    const after = await tokensFrom(server);
    const newKid = decodeProtectedHeader(after.access_token!).kid;
    expect(newKid).not.toBe(oldKid);
    expect(decodeProtectedHeader(after.id_token!).kid).not.toBe(decodeProtectedHeader(before.id_token!).kid);

    const jwks = (await (await fetch(`${server.issuer}/jwks`)).json()) as { keys: Array<{ kid: string }> };
    expect(jwks.keys.map((k) => k.kid)).toEqual(expect.arrayContaining([oldKid, newKid]));
    expect(jwks.keys).toHaveLength(4);

    const remote = createRemoteJWKSet(new URL(`${server.issuer}/jwks`));
    for (const token of [before.access_token!, after.access_token!]) {
      await expect(jwtVerify(token, remote, { issuer: server.issuer, audience: server.fhirBase })).resolves.toBeTruthy();
      await expect(server.bedside.app.auth.verifier.verify(token)).resolves.toMatchObject({ patient: 'patient-001' });
    }
    // The refresh token from before the rotation still works, and gets a token from the new key.
    const refreshed = await tokenRequest(server, { grant_type: 'refresh_token', refresh_token: before.refresh_token!, client_id: SAMPLE_APP });
    expect(decodeProtectedHeader(String(refreshed.body.access_token)).kid).toBe(newKid);
  });
});

describe('restart and several nodes', () => {
  it('grants, refresh tokens, clients and keys survive a restart', async () => {
    const port = await freePort();
    const baseUrl = `http://127.0.0.1:${port}`;
    const first = await startTestServer({ port, baseUrl });
    const tokens = await tokensFrom(first);
    const registered = await fetch(`${first.issuer}/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token_endpoint_auth_method: 'none', redirect_uris: ['https://app.example/cb'] }),
    });
    const client = (await registered.json()) as { client_id: string };
    const jwksBefore = await (await fetch(`${first.issuer}/jwks`)).json();
    await first.bedside.stop(500);

    const second = await startTestServer({ port, baseUrl, dataDir: first.dataDir });
    try {
      expect(await (await fetch(`${second.issuer}/jwks`)).json()).toEqual(jwksBefore);
      await expect(second.bedside.app.auth.verifier.verify(tokens.access_token!)).resolves.toMatchObject({ patient: 'patient-001' });
      const refreshed = await tokenRequest(second, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token!, client_id: SAMPLE_APP });
      expect(refreshed.status).toBe(200);
      expect(refreshed.body.patient).toBe('patient-001');
      const read = await second.bedside.app.auth.holder.provider.Client.find(client.client_id);
      expect(read?.clientId).toBe(client.client_id);
    } finally {
      await second.stop();
    }
  });

  it('two nodes on one store: authorize on one, redeem and refresh on the other, revoke seen by both', async () => {
    const a = await startTestServer();
    const portB = await freePort();
    const b = await startTestServer({ port: portB, baseUrl: a.baseUrl, dataDir: a.dataDir });
    try {
      const nodeB = `http://127.0.0.1:${portB}/oauth`;
      const tokens = await tokensFrom(a, nodeB);
      await expect(b.bedside.app.auth.verifier.verify(tokens.access_token!)).resolves.toBeTruthy();
      const refreshed = await fetch(`${a.issuer}/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token!, client_id: SAMPLE_APP }),
      });
      const next = (await refreshed.json()) as Record<string, string>;
      expect(next.access_token).toBeTruthy();
      await fetch(`${nodeB}/revoke`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ token: next.refresh_token!, client_id: SAMPLE_APP }),
      });
      await expect(a.bedside.app.auth.verifier.verify(next.access_token!)).rejects.toMatchObject({ code: 'revoked' });
      await expect(b.bedside.app.auth.verifier.verify(tokens.access_token!)).rejects.toMatchObject({ code: 'revoked' });

      // A rotation on one node reaches the other when it polls the key set.
      await a.bedside.app.auth.rotateKeys();
      expect(await b.bedside.app.auth.holder.reloadIfKeysChanged()).toBe(true);
      const fresh = await tokensFrom(a, nodeB);
      await expect(a.bedside.app.auth.verifier.verify(fresh.access_token!)).resolves.toBeTruthy();
    } finally {
      await b.bedside.stop(500);
      await a.stop();
    }
  });
});
