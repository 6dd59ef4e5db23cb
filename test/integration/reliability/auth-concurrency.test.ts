/**
 * Concurrency at the authorization server: a refresh token used several times at once never
 * mints two live chains; an authorization code exchanged several times at once gives at most
 * one token; parallel sign-ins of one user all work.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Browser } from '../auth/support/browser.js';
import { sampleAuthorization, SAMPLE_APP, tokenRequest } from '../auth/support/clients.js';
import { authorizeInBrowser } from '../auth/support/flows.js';
import { startTestServer, type TestServer } from '../../support/server.js';
import { PATIENT_USER, userToken } from '../../support/user-tokens.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ seed: true });
}, 120_000);
afterAll(async () => server?.stop());

async function refresh(refreshToken: string) {
  return tokenRequest(server, { grant_type: 'refresh_token', refresh_token: refreshToken, client_id: SAMPLE_APP });
}

describe('concurrent token requests', () => {
  it('a refresh token used 10 times at once yields at most one live chain', async () => {
    const first = await userToken(server, { ...PATIENT_USER, scope: 'openid fhirUser user/Patient.rs offline_access' });
    const results = await Promise.all(Array.from({ length: 10 }, () => refresh(first.refresh_token!)));
    const ok = results.filter((r) => r.status === 200);
    console.log(`concurrent refresh: ${ok.length} of 10 succeeded, ${results.length - ok.length} invalid_grant`);
    expect(ok.length).toBeLessThanOrEqual(1);
    for (const r of results.filter((x) => x.status !== 200)) {
      expect(r.status).toBe(400);
      expect(r.body.error).toBe('invalid_grant');
    }
    // Of every refresh token handed out, at most one can still be used.
    const issued = ok.map((r) => r.body.refresh_token as string);
    const usable = (await Promise.all(issued.map(refresh))).filter((r) => r.status === 200);
    expect(usable.length).toBeLessThanOrEqual(1);
    // And the original can never be used again.
    expect((await refresh(first.refresh_token!)).status).toBe(400);
  });

  it('an authorization code exchanged 10 times at once gives one token at most', async () => {
    const request = sampleAuthorization(server, { scope: 'openid fhirUser user/Patient.rs' });
    const back = await authorizeInBrowser(new Browser(), request.url, request.redirectUri, { ...PATIENT_USER });
    const code = back.searchParams.get('code')!;
    const results = await Promise.all(
      Array.from({ length: 10 }, () =>
        tokenRequest(server, {
          grant_type: 'authorization_code',
          code,
          redirect_uri: request.redirectUri,
          client_id: SAMPLE_APP,
          code_verifier: request.verifier,
        }),
      ),
    );
    const ok = results.filter((r) => r.status === 200);
    console.log(`concurrent code exchange: ${ok.length} of 10 succeeded`);
    expect(ok.length).toBeLessThanOrEqual(1);
    for (const r of results.filter((x) => x.status !== 200)) expect(r.body.error).toBe('invalid_grant');
    // A code used twice revokes what the first exchange issued (RFC 6749 §4.1.2).
    for (const r of ok) {
      const fhir = await fetch(`${server.fhirUrl}/Patient/patient-001`, { headers: { authorization: `Bearer ${r.body.access_token as string}` } });
      expect([200, 401]).toContain(fhir.status);
    }
  });

  it('20 parallel sign-ins of the same user all complete', async () => {
    const tokens = await Promise.all(Array.from({ length: 20 }, () => userToken(server, { ...PATIENT_USER, scope: 'openid fhirUser user/Patient.rs' })));
    expect(tokens.every((t) => typeof t.access_token === 'string')).toBe(true);
    expect(new Set(tokens.map((t) => t.access_token)).size).toBe(20);
  });
});
