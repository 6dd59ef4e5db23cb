/**
 * HTTPS: behind a TLS-terminating proxy (https BASE_URL, TRUST_PROXY) every advertised URL is
 * https and cookies are Secure; built-in TLS with TLS_CERT/TLS_KEY; plain http only on loopback
 * unless ALLOW_INSECURE_HTTP, with a clear start-up error otherwise.
 */
import { rmSync } from 'node:fs';
import https from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { smartConfiguration } from '../../../src/auth/discovery.js';
import { ConfigError, loadConfig, testConfig } from '../../../src/config.js';
import { parseForms } from './support/browser.js';
import { pkce } from './support/clients.js';
import { hasOpenssl, selfSignedCertificate } from '../../support/tls.js';
import { startTestServer, type TestServer } from './support/server.js';

function cookieNamed(setCookies: string[], prefix: string): string | undefined {
  return setCookies.find((c) => c.startsWith(prefix));
}

describe('behind a TLS-terminating proxy', () => {
  let server: TestServer;
  const publicBase = 'https://bedside.example';
  beforeAll(async () => {
    server = await startTestServer({ baseUrl: publicBase, trustProxy: true });
  });
  afterAll(async () => server?.stop());

  /** A request as the proxy forwards it. */
  const viaProxy = (url: string, init: RequestInit = {}) => {
    const u = new URL(url, publicBase);
    return fetch(`${server.bedside.listenUrl}${u.pathname}${u.search}`, {
      redirect: 'manual',
      ...init,
      headers: { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'bedside.example', ...(init.headers as Record<string, string>) },
    });
  };

  it('advertises https URLs everywhere', async () => {
    const smart = (await (await viaProxy('/fhir/.well-known/smart-configuration')).json()) as Record<string, unknown>;
    for (const key of ['issuer', 'authorization_endpoint', 'token_endpoint', 'jwks_uri', 'registration_endpoint'])
      expect(String(smart[key])).toMatch(/^https:\/\/bedside\.example\//);
    expect(smart.capabilities).toContain('authorize-post');
    const oidc = (await (await viaProxy('/oauth/.well-known/openid-configuration')).json()) as Record<string, string>;
    expect(oidc.issuer).toBe(`${publicBase}/oauth`);
  });

  it('sets Secure cookies; the session cookie is SameSite=None (for POST to the authorization endpoint)', async () => {
    const { challenge } = pkce();
    const query = new URLSearchParams({
      response_type: 'code',
      client_id: 'bedside-sample-app',
      redirect_uri: `${publicBase}/sample-app/`,
      scope: 'launch/patient patient/*.rs',
      state: 's',
      aud: `${publicBase}/fhir`,
      code_challenge: challenge,
      code_challenge_method: 'S256',
    });
    const start = await viaProxy(`/oauth/authorize?${query}`);
    expect(start.status).toBe(303);
    const interactionCookie = cookieNamed(start.headers.getSetCookie(), 'bedside_interaction=');
    expect(interactionCookie).toMatch(/; secure/i);
    const cookies = start.headers
      .getSetCookie()
      .map((c) => c.split(';')[0])
      .join('; ');
    const loginPage = await viaProxy(start.headers.get('location')!, { headers: { cookie: cookies } });
    const form = parseForms(await loginPage.text(), publicBase).find((f) => f.action.endsWith('/login'))!;
    const login = await viaProxy(form.action, {
      method: 'POST',
      headers: { cookie: cookies, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams([
        ...form.fields.filter((f) => f.type === 'hidden').map((f) => [f.name, f.value]),
        ['username', 'dr.carter'],
        ['password', 'bedside-demo'],
      ]),
    });
    expect(login.status).toBe(303);
    const resume = await viaProxy(login.headers.get('location')!, {
      headers: {
        cookie: `${cookies}; ${login.headers
          .getSetCookie()
          .map((c) => c.split(';')[0])
          .join('; ')}`,
      },
    });
    const session = cookieNamed(resume.headers.getSetCookie(), 'bedside_session=');
    expect(session).toMatch(/; secure/i);
    expect(session).toMatch(/; samesite=none/i);
  });
});

describe('built-in TLS (TLS_CERT, TLS_KEY)', () => {
  let dir: string;
  let server: TestServer | undefined;
  afterAll(async () => {
    await server?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it.skipIf(!hasOpenssl)('serves https with the given certificate', async () => {
    const { certFile, keyFile, ...made } = selfSignedCertificate();
    dir = made.dir;
    const { freePort } = await import('./support/server.js');
    const port = await freePort();
    server = await startTestServer({ port, baseUrl: `https://127.0.0.1:${port}`, tls: { certFile, keyFile } });
    const body = await new Promise<string>((resolve, reject) => {
      https
        .get(`https://127.0.0.1:${port}/fhir/.well-known/smart-configuration`, { rejectUnauthorized: false }, (res) => {
          let data = '';
          res.on('data', (chunk: Buffer) => (data += chunk));
          res.on('end', () => resolve(data));
        })
        .on('error', reject);
    });
    expect(JSON.parse(body)).toMatchObject({ issuer: `https://127.0.0.1:${port}/oauth` });
    expect(server.bedside.listenUrl).toMatch(/^https:/);
  });
});

describe('plain http', () => {
  it('is refused at start-up for a non-loopback BASE_URL, with what to do', () => {
    expect(() => loadConfig({ BASE_URL: 'http://bedside.example' })).toThrow(ConfigError);
    expect(() => loadConfig({ BASE_URL: 'http://bedside.example' })).toThrow(/TRUST_PROXY|TLS_CERT|ALLOW_INSECURE_HTTP/);
  });

  it('is allowed on loopback, and on a closed network with ALLOW_INSECURE_HTTP (then without authorize-post, whose cookies need Secure)', () => {
    expect(() => loadConfig({ BASE_URL: 'http://localhost:8080' })).not.toThrow();
    const config = loadConfig({ BASE_URL: 'http://bedside.internal', ALLOW_INSECURE_HTTP: 'true' });
    expect(smartConfiguration(config, false).capabilities).not.toContain('authorize-post');
    expect(smartConfiguration(testConfig(), true).capabilities).toContain('authorize-post');
  });
});
