/**
 * The headers as a real browser enforces them (headless Chromium): an app on another origin
 * completes sign-in and consent (the pages' form-action lets the redirect to its redirect URI
 * through, also with response_mode=form_post and its inline script), with no CSP violation on
 * the way; another site framing the sign-in or consent page gets nothing (clickjacking), while
 * Bedside's own EHR frame shows it.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser as Chromium, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshContext, hasChromium, launchChromium, SKIP_REASON } from '../../e2e/support/browser.js';
import { authorizationUrl, pkce, register } from '../auth/support/clients.js';
import { freePort, startTestServer, type TestServer } from '../auth/support/server.js';

describe.skipIf(!hasChromium)(hasChromium ? 'in Chromium' : `in Chromium (${SKIP_REASON})`, () => {
  let server: TestServer;
  let chromium: Chromium;
  let app: http.Server;
  /** The app's origin: another host and port than Bedside's. */
  let appOrigin: string;
  let clientId: string;
  /** What the app received at its redirect URI. */
  const received: Array<{ method: string; url: string; body: string }> = [];
  let framedUrl = '';

  beforeAll(async () => {
    const port = await freePort();
    [server, chromium] = await Promise.all([startTestServer({ port, baseUrl: `http://localhost:${port}` }), launchChromium()]);
    app = http.createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk));
      req.on('end', () => {
        if (req.url?.startsWith('/frame')) {
          res
            .writeHead(200, { 'content-type': 'text/html' })
            .end(`<!doctype html><title>Framing site</title><iframe id="victim" src="${framedUrl.replace(/"/g, '&quot;')}" width="800" height="600"></iframe>`);
          return;
        }
        received.push({ method: req.method ?? '', url: req.url ?? '', body });
        res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>App callback</title><p id="done">back at the app</p>');
      });
    });
    await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', resolve));
    appOrigin = `http://127.0.0.1:${(app.address() as AddressInfo).port}`;
    const { body } = await register(server, {
      client_name: 'Cross-origin app',
      token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code'],
      response_types: ['code'],
      redirect_uris: [`${appOrigin}/cb`],
      scope: 'openid launch/patient patient/*.rs',
    });
    clientId = String(body.client_id);
  }, 60_000);
  afterAll(async () => {
    await chromium?.close();
    await server?.stop();
    await new Promise((resolve) => app?.close(resolve));
  });

  function authorize(extra: Record<string, string> = {}): string {
    return authorizationUrl(server, {
      response_type: 'code',
      client_id: clientId,
      redirect_uri: `${appOrigin}/cb`,
      scope: 'openid launch/patient patient/*.rs',
      aud: server.fhirBase,
      state: 'xyz',
      code_challenge: pkce().challenge,
      code_challenge_method: 'S256',
      ...extra,
    });
  }

  /** Collects the console's CSP reports of a page. */
  function cspReports(page: Page): string[] {
    const reports: string[] = [];
    page.on('console', (message) => {
      if (/Content Security Policy|Refused to/i.test(message.text())) reports.push(message.text());
    });
    return reports;
  }

  async function signInAndApprove(page: Page, username: string, patient?: string): Promise<void> {
    await page.locator('#username').fill(username);
    await page.locator('#password').fill('bedside-demo');
    await page.locator('button[type="submit"]', { hasText: 'Sign in' }).click();
    if (patient) {
      await page.locator(`input[name="patient"][value="${patient}"]`).check();
      await page.locator('button[type="submit"]', { hasText: 'Continue' }).click();
    }
    await page.locator('button[name="decision"][value="approve"]').click();
  }

  it('an app on another origin gets its code after sign-in, patient choice and consent, with no CSP violation', async () => {
    const context = await freshContext(chromium, 'cross-origin-redirect');
    const page = await context.newPage();
    const reports = cspReports(page);
    await page.goto(authorize());
    await signInAndApprove(page, 'dr.carter', 'patient-002');
    await page.locator('#done').waitFor();
    const back = new URL(page.url());
    expect(back.origin).toBe(appOrigin);
    expect(back.searchParams.get('code')).toBeTruthy();
    expect(back.searchParams.get('state')).toBe('xyz');
    expect(reports).toEqual([]);
    await context.close();
  });

  it('response_mode=form_post: the auto-submitting page runs (its script is allowed by hash) and posts to the app', async () => {
    const context = await freshContext(chromium, 'form-post');
    const page = await context.newPage();
    const reports = cspReports(page);
    await page.goto(authorize({ response_mode: 'form_post' }));
    await signInAndApprove(page, 'amy.shaw');
    await page.locator('#done').waitFor();
    const post = received.findLast((r) => r.method === 'POST')!;
    expect(new URLSearchParams(post.body).get('code')).toBeTruthy();
    expect(reports).toEqual([]);
    await context.close();
  });

  it('another site framing the sign-in page gets nothing (frame-ancestors, X-Frame-Options)', async () => {
    for (const target of ['signIn', 'consent'] as const) {
      const context = await freshContext(chromium, `clickjacking-${target}`);
      const page = await context.newPage();
      // The consent page of an interaction already signed in, in this browser.
      if (target === 'consent') {
        await page.goto(authorize());
        await page.locator('#username').fill('amy.shaw');
        await page.locator('#password').fill('bedside-demo');
        await page.locator('button[type="submit"]', { hasText: 'Sign in' }).click();
        await page.locator('button[name="decision"]').first().waitFor();
        framedUrl = page.url();
      } else {
        framedUrl = authorize();
      }
      const reports = cspReports(page);
      await page.goto(`${appOrigin}/frame`);
      const frame = page.frames().find((f) => f !== page.mainFrame());
      await page.waitForTimeout(500);
      const content = frame ? await frame.content().catch(() => '') : '';
      expect(content, target).not.toMatch(/name="(password|decision)"/);
      expect(
        reports.some((r) => /frame-ancestors/.test(r)),
        `${target}: ${reports.join(' | ')}`,
      ).toBe(true);
      await context.close();
    }
  });

  it("Bedside's own EHR frame shows the sign-in page", async () => {
    const context = await freshContext(chromium, 'ehr-frame');
    const page = await context.newPage();
    await page.goto(`${server.baseUrl}/launcher/ehr?app=${encodeURIComponent(authorize())}`);
    await page.frameLocator('#app-frame').locator('#username').waitFor();
    await context.close();
  });
});
