/**
 * A learner's whole SMART journey in real headless Chromium, against a real Bedside (sample data,
 * real authorization server, token-enforcing FHIR API): the launcher at `/`, an EHR launch into
 * the EHR frame with sign-in and a partial consent, standalone patient and provider launches
 * (with the patient picker), a simulated EHR session, a denied consent and a used launch, a
 * revocation on the grants page, and a backend-service client registered from the launcher.
 */
import type { Browser, BrowserContext, Frame, FrameLocator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.js';
import { freshContext, hasChromium, journeyShot, launchChromium, SKIP_REASON, written } from './support/browser.js';

const PASSWORD = 'bedside-demo';

describe.skipIf(!hasChromium)(hasChromium ? 'the SMART journey in Chromium' : `the SMART journey in Chromium (${SKIP_REASON})`, () => {
  let server: TestServer;
  let browser: Browser;

  beforeAll(async () => {
    // Revocations reach the FHIR API at once (the default allows up to a second).
    [server, browser] = await Promise.all([startTestServer({ seed: true, revocationCheckMs: 0 }), launchChromium()]);
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    if (written.length) console.info(`screenshots:\n  ${[...new Set(written)].join('\n  ')}`);
  });

  async function openLauncher(context: BrowserContext): Promise<Page> {
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    await page.goto(`${server.baseUrl}/`);
    await page.locator('body[data-state="ready"]').waitFor();
    expect(errors).toEqual([]);
    return page;
  }

  /** Clicks Launch and returns the tab the launcher opened. */
  async function launch(context: BrowserContext, launcher: Page): Promise<Page> {
    const opened = context.waitForEvent('page');
    await launcher.locator('#launch-button').click();
    const tab = await opened;
    await tab.waitForURL((url) => url.protocol !== 'about:');
    return tab;
  }

  async function signIn(frame: Page | FrameLocator, username: string, password = PASSWORD): Promise<void> {
    await frame.locator('#username').fill(username);
    await frame.locator('#password').fill(password);
    await frame.locator('button[type="submit"]', { hasText: 'Sign in' }).click();
  }

  /** The sample app's page (or frame) once it has read everything. */
  async function appReady(app: Page | FrameLocator): Promise<void> {
    await app.locator('body[data-state="ready"]').waitFor();
  }

  async function sampleSession(frame: Page | Frame): Promise<{ token: { access_token: string; patient?: string } }> {
    return frame.evaluate(() => JSON.parse(sessionStorage.getItem('bedside-sample-app:session') ?? 'null'));
  }

  it('EHR launch: launcher → EHR frame → sign-in → consent to a subset → the app shows the patient and reports the denied type', async () => {
    const context = await freshContext(browser, 'ehr-launch');
    const launcher = await openLauncher(context);
    await launcher.locator('#patient-search').fill('García');
    await launcher.locator('#patient-results input[value="patient-002"]').check();
    await expect.poll(() => launcher.locator('#encounter option').count()).toBeGreaterThan(1);
    await launcher.locator('#practitioner-results input[value="practitioner-001"]').check();
    await expect.poll(() => launcher.locator('#scope-preview').textContent()).toContain('patient/MedicationRequest.rs');
    expect(await launcher.locator('#scope-preview').textContent()).toBe(
      'openid fhirUser launch offline_access patient/Patient.rs patient/Observation.rs patient/Condition.rs patient/MedicationRequest.rs patient/AllergyIntolerance.rs patient/Immunization.rs',
    );
    await journeyShot(launcher, 'launcher', { fullPage: true });

    const ehr = await launch(context, launcher);
    expect(new URL(ehr.url()).pathname).toBe('/launcher/ehr');
    const app = ehr.frameLocator('#app-frame');
    await app.locator('#username').waitFor();
    await journeyShot(ehr, 'ehr-sign-in');
    await signIn(app, 'dr.carter');

    const refused = app.locator('input[name="scope"][value="patient/MedicationRequest.rs"]');
    await refused.uncheck();
    await journeyShot(ehr, 'consent');
    await app.locator('button[name="decision"][value="approve"]').click();

    await appReady(app);
    // need_patient_banner=false: the EHR shows the banner, the app does not repeat it.
    await expect.poll(() => ehr.locator('#ehr-banner').textContent()).toContain('José Luis García');
    expect(await app.locator('#banner').textContent()).toContain('need_patient_banner is false');
    expect(await app.locator('#conditions .records li').count()).toBeGreaterThan(0);
    expect(await app.locator('#conditions').textContent()).toMatch(/hypertension/i);
    expect(await app.locator('#vitals svg.chart').count()).toBeGreaterThanOrEqual(3);
    expect(await app.locator('#allergies').textContent()).toMatch(/no known allergies/i);
    expect(await app.locator('#immunizations .records li').count()).toBeGreaterThan(0);
    const medications = app.locator('#medications .denied');
    expect(await medications.getAttribute('data-status')).toBe('403');
    expect(await medications.textContent()).toContain('Not granted');
    expect(await app.locator('#denied-summary').textContent()).toContain('patient/MedicationRequest.rs');
    expect(await app.locator('#status').textContent()).toContain('not granted: Medications');
    expect(await app.locator('#context-table').textContent()).toContain('patient-002');
    await journeyShot(ehr, 'sample-app-ehr-launch');
    await app.locator('.inspector').evaluate((e) => e.scrollIntoView({ block: 'start', behavior: 'instant' }));
    await journeyShot(ehr, 'token-inspector');
    await context.close();
  });

  it('standalone patient launch: the patient signs in and the app shows her own record; refresh works', async () => {
    const context = await freshContext(browser, 'standalone-patient');
    const launcher = await openLauncher(context);
    await launcher.locator('input[name="launchType"][value="patient"]').check();
    expect(await launcher.locator('#scope-preview').textContent()).toContain('launch/patient');
    const app = await launch(context, launcher);
    await signIn(app, 'amy.shaw');
    await app.locator('button[name="decision"][value="approve"]').click();
    await appReady(app);
    expect(await app.locator('#banner .banner-name').textContent()).toBe('Amy Elizabeth Shaw');
    expect(await app.locator('#medications .records li').count()).toBeGreaterThan(0);
    expect(await app.locator('#allergies').textContent()).toMatch(/penicillin/i);
    expect(await app.locator('#denied-summary').count()).toBe(0);
    expect((await sampleSession(app)).token.patient).toBe('patient-001');
    await journeyShot(app, 'sample-app-standalone-patient');

    const before = (await sampleSession(app)).token.access_token;
    await app.locator('#refresh').click();
    await expect.poll(async () => (await sampleSession(app)).token.access_token, { timeout: 10_000 }).not.toBe(before);
    await appReady(app);
    expect(await app.locator('#status').textContent()).toContain('Showing the record of Amy Elizabeth Shaw');
    await context.close();
  });

  it('standalone provider launch: the clinician signs in and picks a patient on the patient picker, by keyboard', async () => {
    const context = await freshContext(browser, 'standalone-provider');
    const launcher = await openLauncher(context);
    await launcher.locator('input[name="launchType"][value="provider"]').check();
    expect(await launcher.locator('#scope-preview').textContent()).toContain('user/Observation.rs');
    const app = await launch(context, launcher);
    await signIn(app, 'dr.carter');

    await app.locator('#q').fill('Müller');
    await app.locator('#q').press('Enter');
    const choice = app.locator('input[name="patient"][value="patient-003"]');
    await choice.waitFor();
    await choice.focus();
    await app.keyboard.press('Space');
    expect(await choice.isChecked()).toBe(true);
    await journeyShot(app, 'patient-picker');
    await app.keyboard.press('Enter');

    await app.locator('input[name="scope"]').first().waitFor();
    await app.locator('button[name="decision"][value="approve"]').focus();
    await app.keyboard.press('Enter');
    await appReady(app);
    expect(await app.locator('#banner .banner-name').textContent()).toBe('Zoë Müller');
    expect(await app.locator('#allergies').textContent()).toMatch(/peanut/i);
    expect(await app.locator('#scope-table').textContent()).toContain('user/Condition.rs');
    await context.close();
  });

  it('simulated EHR session: no sign-in page; a denied consent and a used launch are clear messages', async () => {
    const context = await freshContext(browser, 'simulated-session');
    // Someone else is signed in to Bedside in this browser: the simulated session replaces them.
    const account = await context.newPage();
    await account.goto(`${server.baseUrl}/oauth/account/apps`);
    await signIn(account, 'amy.shaw');
    await account.locator('h1', { hasText: 'Connected apps' }).waitFor();
    const launcher = await openLauncher(context);
    await launcher.locator('#patient-results input[value="patient-001"]').check();
    await launcher.locator('#practitioner-results input[value="practitioner-001"]').check();
    await launcher.locator('#simulate-session').check();
    await launcher.locator('#ehr-frame').uncheck();
    expect(await launcher.locator('#need-banner').isChecked()).toBe(true);

    // Approve: straight to the consent page, then the app, with its own patient banner.
    const first = await launch(context, launcher);
    await first.locator('button[name="decision"][value="approve"]').waitFor();
    expect(await first.locator('main').textContent()).toContain('as dr.carter');
    await first.locator('button[name="decision"][value="approve"]').click();
    await appReady(first);
    expect(await first.locator('#banner .banner-name').textContent()).toBe('Amy Elizabeth Shaw');
    const used = await launcher.locator('#launch-url-output').textContent();

    // The same launch again: single-use.
    const again = await context.newPage();
    await again.goto(used!);
    await again.locator('body[data-state="problem"]').waitFor();
    expect(await again.locator('#problem').getAttribute('data-code')).toBe('launch_expired');
    expect(await again.locator('#problem').textContent()).toContain('This launch has expired');
    await journeyShot(again, 'sample-app-launch-used');

    // Deny.
    const second = await launch(context, launcher);
    await second.locator('button[name="decision"][value="deny"]').click();
    await second.locator('body[data-state="problem"]').waitFor();
    expect(await second.locator('#problem').getAttribute('data-code')).toBe('access_denied');
    expect(await second.locator('#problem').textContent()).toContain('Access was not allowed');
    await journeyShot(second, 'sample-app-denied');
    await context.close();
  });

  it("revoking the grant on the grants page makes the app's next request fail", async () => {
    const context = await freshContext(browser, 'revoke');
    const launcher = await openLauncher(context);
    await launcher.locator('input[name="launchType"][value="patient"]').check();
    const app = await launch(context, launcher);
    await signIn(app, 'amy.shaw');
    await app.locator('button[name="decision"][value="approve"]').click();
    await appReady(app);
    const grantId = JSON.parse(Buffer.from((await sampleSession(app)).token.access_token.split('.')[1]!, 'base64url').toString()).grant_id as string;

    const operator = await freshContext(browser, 'revoke-operator');
    const grants = await operator.newPage();
    await grants.goto(`${server.baseUrl}/oauth/admin/grants`);
    await signIn(grants, 'admin', 'bedside-admin');
    const row = grants.locator('tr', { has: grants.locator(`input[name="grant_id"][value="${grantId}"]`) });
    await row.waitFor();
    expect(await row.textContent()).toContain('amy.shaw');
    await journeyShot(grants, 'grants', { fullPage: true });
    await row.locator('button', { hasText: 'Revoke' }).click();
    await expect.poll(() => grants.locator('[role="status"]').textContent()).toContain('Grant revoked');
    expect(await grants.locator(`input[name="grant_id"][value="${grantId}"]`).count()).toBe(0);

    await app.locator('#reload').click();
    await app.locator('#problem[data-code="token_refused"]').waitFor();
    expect(await app.locator('#medications .error').getAttribute('data-status')).toBe('401');
    expect(await app.locator('#banner .error').getAttribute('data-status')).toBe('401');
    await journeyShot(app, 'sample-app-revoked');
    await app.locator('#refresh').click();
    await app.locator('#problem[data-code="invalid_grant"]').waitFor();
    await operator.close();
    await context.close();
  });

  it('backend service: registers an asymmetric client in the launcher and gets a token with its key', async () => {
    const context = await freshContext(browser, 'backend');
    const launcher = await openLauncher(context);
    await launcher.locator('input[name="launchType"][value="backend"]').check();
    expect(await launcher.locator('#scope-preview').textContent()).toBe(
      'system/Patient.rs system/Observation.rs system/Condition.rs system/MedicationRequest.rs system/AllergyIntolerance.rs system/Immunization.rs',
    );
    await launcher.locator('#register summary').click();
    expect(await launcher.locator('input[name="regKind"][value="asymmetric"]').isChecked()).toBe(true);
    await launcher.locator('#reg-name').fill('Nightly export');
    await launcher.locator('#register-button').click();
    const clientId = await launcher.locator('#registered-client-id').textContent();
    expect(await launcher.locator('#client-select').inputValue()).toBe(clientId);
    await launcher.locator('#launch-button').click();
    await launcher.locator('#backend-token').waitFor();
    expect(await launcher.locator('#backend-token').textContent()).toContain('"scope": "system/Patient.rs');
    await journeyShot(launcher.locator('.launch-panel'), 'backend-token');
    await context.close();
  });

  it('without the launcher sandbox: ids typed by hand, launches only by an operator, completed only by a user who may open the patient', async () => {
    const config = server.bedside.config;
    config.launcherSandbox = false;
    try {
      const anonymous = await fetch(`${server.baseUrl}/launcher/api/launch`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ launch_uri: `${server.baseUrl}/sample-app/launch`, patient: 'patient-004' }),
      });
      expect(anonymous.status).toBe(401);
      expect((await fetch(`${server.baseUrl}/launcher/api/patients`)).status).toBe(401);

      // The operator signs in (grants page), then launches from the launcher by typing the id.
      const operator = await freshContext(browser, 'no-sandbox');
      const grants = await operator.newPage();
      await grants.goto(`${server.baseUrl}/oauth/admin/grants`);
      await signIn(grants, 'admin', 'bedside-admin');
      await grants.locator('h1', { hasText: 'Grants' }).waitFor();
      const launcher = await openLauncher(operator);
      expect(await launcher.locator('label[for="patient-search"]').textContent()).toBe('Patient id');
      expect(await launcher.locator('#patient-help').textContent()).toContain('EHR launches need an operator');
      expect(await launcher.locator('#simulate-session').isDisabled()).toBe(true);
      await launcher.locator('#patient-search').fill('patient-004');
      await launcher.locator('#ehr-frame').uncheck();
      const opened = await launch(operator, launcher);
      // The app opened in the operator's own browser runs as the operator, who may not open the patient.
      await opened.locator('#problem').waitFor();
      expect(await opened.locator('#problem h2').textContent()).toBe('Access was not allowed');
      expect(await opened.locator('#problem').textContent()).toContain('the launch is for a patient whose record admin may not open');
      const launchUrl = (await launcher.locator('#launch-url-output').textContent())!;

      // The clinician opens the same (still unused) launch in her own browser.
      const clinician = await freshContext(browser, 'no-sandbox-clinician');
      const app = await clinician.newPage();
      await app.goto(launchUrl);
      await signIn(app, 'dr.carter');
      await app.locator('button[name="decision"][value="approve"]').click();
      await appReady(app);
      expect(await app.locator('#banner .banner-name').textContent()).toBe("Liam O'Brien");
      await operator.close();
      await clinician.close();
    } finally {
      config.launcherSandbox = true;
    }
  });

  it('every control of the launcher has a label, and the tutorial is served', async () => {
    const context = await freshContext(browser, 'labels');
    const launcher = await openLauncher(context);
    const unlabelled = await launcher.evaluate(() =>
      Array.from(document.querySelectorAll<HTMLInputElement | HTMLSelectElement | HTMLButtonElement>('input, select, button'))
        .filter(
          (e) =>
            !(e as HTMLInputElement).labels?.length &&
            !e.getAttribute('aria-label') &&
            !e.getAttribute('aria-labelledby') &&
            !(e.tagName === 'BUTTON' && e.textContent?.trim()),
        )
        .map((e) => e.outerHTML.slice(0, 80)),
    );
    expect(unlabelled).toEqual([]);
    await launcher.keyboard.press('Tab');
    expect(await launcher.evaluate(() => document.activeElement?.textContent)).toBe('Skip to content');
    const tutorial = await context.newPage();
    await tutorial.goto(`${server.baseUrl}/tutorial/`);
    expect(await tutorial.locator('h1').first().textContent()).toContain('SMART');
    await context.close();
  });
});
