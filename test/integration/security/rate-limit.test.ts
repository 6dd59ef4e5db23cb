/**
 * Sign-in rate limiting and lockout, through the login form: five failures lock a username for
 * the rest of a 15-minute window (known or not, so nothing tells which usernames exist), a
 * hundred failures lock a client address (password spraying), concurrent guesses get no more
 * than the allowance, an operator-locked account is said to be locked only to someone who knows
 * its password, and an unknown username costs the same password hashing as a wrong password.
 */
import type { IncomingMessage } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { THROTTLE } from '../../../src/auth/accounts/account-store.js';
import { LOGIN_FAILURES_BY_ADDRESS } from '../../../src/auth/index.js';
import { ADDRESS_RULE, addressKey, clientAddress } from '../../../src/security/rate-limit.js';
import { Browser } from '../auth/support/browser.js';
import { startTestServer, type TestServer } from '../auth/support/server.js';
import { formBody, loginPage, text } from './support.js';

let server: TestServer;

beforeAll(async () => {
  // Behind a proxy (TRUST_PROXY), so each test can speak from its own client address.
  server = await startTestServer({ trustProxy: true });
});
afterAll(async () => server?.stop());

let nextAddress = 1;
/** A browser speaking from its own address (the proxy's X-Forwarded-For). */
function client(): { browser: Browser; address: string } {
  const address = `198.51.100.${nextAddress++}`;
  return { browser: new Browser(), address };
}

interface Attempt {
  status: number;
  retryAfter: string | null;
  message: string;
  ms: number;
}

/** One sign-in attempt on a fresh sign-in page, as `address`. */
async function attempt(browser: Browser, address: string, username: string, password: string, forwardedFor = address): Promise<Attempt> {
  const { form } = await loginPage(browser, server);
  const started = performance.now();
  const response = await browser.request(form.action, {
    method: 'POST',
    body: formBody(form, { username, password }),
    headers: { 'x-forwarded-for': forwardedFor },
  });
  const ms = performance.now() - started;
  const html = await response.text();
  return {
    status: response.status,
    retryAfter: response.headers.get('retry-after'),
    message: /role="alert"[^>]*>([^<]*)</.exec(html)?.[1] ?? text({ html } as never).slice(0, 80),
    ms,
  };
}

describe('per username', () => {
  it('five failures lock the username for the window: 429 with Retry-After and a clear message, even for the right password', async () => {
    const { browser, address } = client();
    const results: Attempt[] = [];
    for (let i = 0; i < THROTTLE.maxFailures; i++) results.push(await attempt(browser, address, 'amy.shaw', `wrong-${i}`));
    expect(results.map((r) => r.status)).toEqual([401, 401, 401, 401, 429]);
    expect(results[0]!.message).toBe('The username or password is not right.');
    const locked = await attempt(browser, address, 'amy.shaw', 'bedside-demo');
    expect(locked.status).toBe(429);
    expect(locked.message).toMatch(/^Too many failed sign-ins for this username\. Try again in 1[45] minutes\.$/);
    expect(Number(locked.retryAfter)).toBeGreaterThan(14 * 60);
    expect(Number(locked.retryAfter)).toBeLessThanOrEqual(15 * 60);
    await server.bedside.storage.documents.collection('auth.login-failures').delete('amy.shaw');
    expect((await attempt(browser, address, 'amy.shaw', 'bedside-demo')).status).toBe(303);
  });

  it('an unknown username gets the same answers as a wrong password: same status, same message, same lock', async () => {
    const { browser, address } = client();
    const unknown: Attempt[] = [];
    const known: Attempt[] = [];
    for (let i = 0; i < THROTTLE.maxFailures + 1; i++) {
      unknown.push(await attempt(browser, address, 'no.such.user', `guess-${i}`));
      known.push(await attempt(browser, address, 'dr.carter', `guess-${i}`));
    }
    expect(unknown.map((r) => [r.status, r.message])).toEqual(known.map((r) => [r.status, r.message]));
    await server.bedside.storage.documents.collection('auth.login-failures').delete('dr.carter');
  });

  it('an unknown username costs the same password hashing as a wrong password (timing)', async () => {
    const accounts = server.bedside.app.auth.accounts;
    const names = Array.from({ length: 7 }, (_, i) => `timing.user.${i}`);
    for (const username of names) await accounts.createIfAbsent({ username, password: 'the-right-password' });
    const { browser, address } = client();
    const wrong: number[] = [];
    const missing: number[] = [];
    // Interleaved, so load on the machine falls on both alike; one attempt per username (no lock).
    for (const [i, username] of names.entries()) {
      wrong.push((await attempt(browser, address, username, 'not-the-password')).ms);
      missing.push((await attempt(browser, address, `nobody.${i}`, 'not-the-password')).ms);
    }
    const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
    // Both verify an scrypt hash (tens of milliseconds); an early return for unknown users would be ~1 ms.
    expect(median(missing)).toBeGreaterThan(15);
    expect(median(missing) / median(wrong)).toBeGreaterThan(0.4);
    expect(median(missing) / median(wrong)).toBeLessThan(2.5);
  });

  it('concurrent guesses get no more than the allowance between them', async () => {
    const { browser, address } = client();
    const { form } = await loginPage(browser, server);
    const statuses = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        browser
          .request(form.action, {
            method: 'POST',
            body: formBody(form, { username: 'concurrent.target', password: `guess-${i}` }),
            headers: { 'x-forwarded-for': address },
          })
          .then((r) => r.status),
      ),
    );
    // Attempts are counted before the password is checked: 4 answered "wrong", the 5th and the rest "too many".
    expect(statuses.filter((s) => s === 401)).toHaveLength(THROTTLE.maxFailures - 1);
    expect(statuses.filter((s) => s === 429)).toHaveLength(12 - (THROTTLE.maxFailures - 1));
  });

  it('an operator-locked account: "locked" only with the right password, the usual answer otherwise', async () => {
    const admin = server.bedside.app.auth.admin;
    await admin.createUser({ id: 'test', via: 'command' }, { username: 'locked.nurse', password: 'locked-nurse-password' });
    await admin.lockUser({ id: 'test', via: 'command' }, 'locked.nurse');
    const { browser, address } = client();
    const wrong = await attempt(browser, address, 'locked.nurse', 'a-wrong-password');
    expect([wrong.status, wrong.message]).toEqual([401, 'The username or password is not right.']);
    const right = await attempt(browser, address, 'locked.nurse', 'locked-nurse-password');
    expect([right.status, right.message]).toEqual([403, 'This account is locked. Ask an operator.']);
  });
});

describe('per client address', () => {
  it(`${ADDRESS_RULE.maxFailures} failures from one address lock it (any usernames), not other addresses; a forged X-Forwarded-For entry does not help`, async () => {
    const { browser, address } = client();
    const usernames = ['spray.a', 'spray.b', 'spray.c', 'spray.d'];
    const statuses: number[] = [];
    for (let i = 0; i < ADDRESS_RULE.maxFailures; i++) statuses.push((await attempt(browser, address, usernames[i % usernames.length]!, `spray-${i}`)).status);
    // Each username locks after 5 (429), the address after 100 attempts in all.
    expect(statuses.filter((s) => s === 401)).toHaveLength(usernames.length * (THROTTLE.maxFailures - 1));
    const blocked = await attempt(browser, address, 'dr.carter', 'bedside-demo');
    expect(blocked.status).toBe(429);
    expect(blocked.message).toMatch(/^Too many failed sign-ins from your network\. Try again in 1[45] minutes\.$/);
    expect(Number(blocked.retryAfter)).toBeGreaterThan(0);
    // The proxy appends the real address last; whatever the client wrote before it is not trusted.
    expect((await attempt(browser, address, 'dr.carter', 'bedside-demo', `203.0.113.9, ${address}`)).status).toBe(429);
    // Another address signs in; dr.carter's own counter was never touched.
    expect((await attempt(new Browser(), '198.51.100.250', 'dr.carter', 'bedside-demo')).status).toBe(303);
    expect(await server.bedside.storage.documents.collection(LOGIN_FAILURES_BY_ADDRESS).get(address)).toMatchObject({ failures: ADDRESS_RULE.maxFailures });
  });

  it('a successful sign-in gives its place back (a busy shared network is not locked by its own users)', async () => {
    const { browser, address } = client();
    for (let i = 0; i < 3; i++) expect((await attempt(browser, address, 'admin', 'bedside-admin')).status).toBe(303);
    expect(await server.bedside.storage.documents.collection(LOGIN_FAILURES_BY_ADDRESS).get(address)).toMatchObject({ failures: 0 });
  });
});

describe('the client address', () => {
  const request = (remote: string, forwarded?: string) =>
    ({ headers: forwarded ? { 'x-forwarded-for': forwarded } : {}, socket: { remoteAddress: remote } }) as unknown as IncomingMessage;

  it('is the peer, or behind a trusted proxy the entry the proxy added (the last)', () => {
    expect(clientAddress(request('10.0.0.5', '1.2.3.4'), false)).toBe('10.0.0.5');
    expect(clientAddress(request('10.0.0.5', '1.2.3.4, 5.6.7.8'), true)).toBe('5.6.7.8');
    expect(clientAddress(request('10.0.0.5'), true)).toBe('10.0.0.5');
  });

  it('counts IPv4-mapped addresses as IPv4 and IPv6 by /64', () => {
    expect(addressKey('::ffff:192.0.2.7')).toBe('192.0.2.7');
    expect(addressKey('2001:db8:1:2:aaaa::1')).toBe('2001:db8:1:2::/64');
    expect(addressKey('2001:db8:1:2:bbbb:cccc:dddd:eeee')).toBe('2001:db8:1:2::/64');
    expect(addressKey('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(addressKey('::1')).toBe('0:0:0:0::/64');
  });
});
