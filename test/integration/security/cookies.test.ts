/**
 * Every cookie Bedside sets (all are oidc-provider's: session, interaction, resume, and their
 * signatures), collected over a whole sign-in, consent, account page and logout, in each way
 * Bedside is reached: plain http on loopback, https behind a TLS-terminating proxy, built-in
 * TLS, and plain http on a closed network (ALLOW_INSECURE_HTTP). Always HttpOnly and host-only,
 * SameSite always set; Secure whenever the browser can keep a Secure cookie, and the session
 * cookie SameSite=None only then (SMART's authorize-post needs it).
 */
import { rmSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { sampleAuthorization } from '../auth/support/clients.js';
import { authorizeInBrowser } from '../auth/support/flows.js';
import { freePort, startTestServer, type TestServer } from '../auth/support/server.js';
import { hasOpenssl, selfSignedCertificate } from '../../support/tls.js';
import { asPage, RecordingBrowser } from './support.js';

/** A browser that reaches `publicBase` at the server's real address, as a proxy would forward it. */
class ForwardingBrowser extends RecordingBrowser {
  constructor(
    private readonly publicBase: string,
    private readonly listenUrl: string,
    private readonly forwardedProto?: string,
  ) {
    super();
  }

  override async request(url: string, init: { method?: string; body?: URLSearchParams; headers?: Record<string, string> } = {}): Promise<Response> {
    if (!url.startsWith(this.publicBase)) return super.request(url, init);
    const forwarded: Record<string, string> = this.forwardedProto
      ? { 'x-forwarded-proto': this.forwardedProto, 'x-forwarded-host': new URL(this.publicBase).host }
      : {};
    return super.request(this.listenUrl + url.slice(this.publicBase.length), { ...init, headers: { ...init.headers, ...forwarded } });
  }
}

interface Cookie {
  name: string;
  attributes: Map<string, string>;
}

function parseSetCookie(line: string): Cookie {
  const [pair, ...attributes] = line.split(';').map((s) => s.trim());
  return {
    name: pair!.slice(0, pair!.indexOf('=')),
    attributes: new Map(
      attributes.map((a) => {
        const eq = a.indexOf('=');
        return eq < 0 ? [a.toLowerCase(), ''] : [a.slice(0, eq).toLowerCase(), a.slice(eq + 1).toLowerCase()];
      }),
    ),
  };
}

/** Sign-in, consent, code, the connected-apps page, logout: every cookie set along the way. */
async function cookiesOfAWholeVisit(server: TestServer, browser: RecordingBrowser): Promise<Cookie[]> {
  const request = sampleAuthorization(server, { scope: 'openid fhirUser launch/patient patient/*.rs' });
  const back = await authorizeInBrowser(browser, request.url, request.redirectUri, { username: 'dr.carter', password: 'bedside-demo', patient: 'patient-001' });
  expect(back.searchParams.get('code')).toBeTruthy();
  expect(asPage(await browser.go(`${server.issuer}/account/apps`)).status).toBe(200);
  const logout = asPage(await browser.go(`${server.issuer}/logout`));
  expect(asPage(await browser.submit(logout.forms[0]!, {}, { name: 'logout', value: 'yes' })).html).toContain('You are signed out');
  const cookies = browser.setCookies().map(parseSetCookie);
  expect(new Set(cookies.map((c) => c.name.replace(/\.sig$/, '')))).toEqual(new Set(['bedside_interaction', 'bedside_resume', 'bedside_session']));
  return cookies;
}

function expectCookies(cookies: Cookie[], secure: boolean): void {
  for (const cookie of cookies) {
    const where = `${cookie.name}: ${[...cookie.attributes].map(([k, v]) => (v ? `${k}=${v}` : k)).join('; ')}`;
    expect(cookie.attributes.has('httponly'), where).toBe(true);
    expect(cookie.attributes.has('secure'), where).toBe(secure);
    expect(cookie.attributes.has('domain'), `${where} (host-only)`).toBe(false);
    expect(cookie.attributes.get('path'), where).toMatch(/^\/(oauth\/authorize\/[\w-]+)?$/);
    const sameSite = cookie.attributes.get('samesite');
    const isSession = cookie.name.startsWith('bedside_session');
    // The session cookie crosses sites only with Secure (authorize-post); the others never.
    expect(sameSite, where).toBe(isSession && secure ? 'none' : 'lax');
  }
}

describe('cookies', () => {
  const servers: TestServer[] = [];
  const dirs: string[] = [];
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.stop()));
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it('plain http on loopback (a secure context for browsers): Secure, HttpOnly, session SameSite=None', async () => {
    const server = await startTestServer();
    servers.push(server);
    expectCookies(await cookiesOfAWholeVisit(server, new RecordingBrowser()), true);
  });

  it('https behind a TLS-terminating proxy (TRUST_PROXY): Secure, HttpOnly, session SameSite=None', async () => {
    const server = await startTestServer({ baseUrl: 'https://bedside.example', trustProxy: true });
    servers.push(server);
    const visit = await cookiesOfAWholeVisit(
      { ...server, baseUrl: 'https://bedside.example', issuer: 'https://bedside.example/oauth', fhirBase: 'https://bedside.example/fhir' },
      new ForwardingBrowser('https://bedside.example', server.bedside.listenUrl, 'https'),
    );
    expectCookies(visit, true);
  });

  it.skipIf(!hasOpenssl)('built-in TLS (TLS_CERT, TLS_KEY): Secure, HttpOnly, session SameSite=None', async () => {
    const { dir, certFile, keyFile } = selfSignedCertificate();
    dirs.push(dir);
    const port = await freePort();
    const server = await startTestServer({ port, baseUrl: `https://127.0.0.1:${port}`, tls: { certFile, keyFile } });
    servers.push(server);
    // The test's own self-signed certificate (this file runs in its own process).
    const previous = process.env.NODE_TLS_REJECT_UNAUTHORIZED;
    process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0';
    try {
      expectCookies(await cookiesOfAWholeVisit(server, new RecordingBrowser()), true);
    } finally {
      if (previous === undefined) delete process.env.NODE_TLS_REJECT_UNAUTHORIZED;
      else process.env.NODE_TLS_REJECT_UNAUTHORIZED = previous;
    }
  });

  it('plain http on a closed network (ALLOW_INSECURE_HTTP): HttpOnly and SameSite=Lax, Secure impossible', async () => {
    const port = await freePort();
    const publicBase = `http://bedside.internal:${port}`;
    const server = await startTestServer({ port, baseUrl: publicBase });
    servers.push(server);
    const visit = await cookiesOfAWholeVisit(
      { ...server, baseUrl: publicBase, issuer: `${publicBase}/oauth`, fhirBase: `${publicBase}/fhir` },
      new ForwardingBrowser(publicBase, server.bedside.listenUrl),
    );
    expectCookies(visit, false);
  });
});
