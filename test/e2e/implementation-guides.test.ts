/**
 * An Implementation Guide in the browser (real headless Chromium, real Bedside with our example
 * package installed): the launcher's scope builder marks the types the IG profiles and names the
 * IG, and after an EHR launch the sample app's token inspector links each granted type to its
 * profile, as the server's CapabilityStatement lists it.
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXAMPLE_PACKAGE } from '../support/packages.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { freshContext, hasChromium, launchChromium, SKIP_REASON } from './support/browser.js';

describe.skipIf(!hasChromium)(
  hasChromium ? 'Implementation Guides in the launcher and the sample app' : `Implementation Guides in Chromium (${SKIP_REASON})`,
  () => {
    let server: TestServer;
    let browser: Browser;

    beforeAll(async () => {
      [server, browser] = await Promise.all([startTestServer({ seed: true, packages: [EXAMPLE_PACKAGE] }), launchChromium()]);
    }, 60_000);
    afterAll(async () => {
      await browser?.close();
      await server?.stop();
    });

    it('marks profiled types in the scope builder and links granted types to their profiles in the token inspector', async () => {
      const context = await freshContext(browser, 'implementation-guides');
      const launcher = await context.newPage();
      await launcher.goto(`${server.baseUrl}/`);
      await launcher.locator('body[data-state="ready"]').waitFor();
      expect(await launcher.locator('#ig-note').textContent()).toBe('Implementation Guides on this server: bedside.example#1.0.0.');
      const patientBox = launcher.locator('#resource-types label', { has: launcher.locator('input[value="Patient"]') });
      expect(await patientBox.textContent()).toBe('Patient (profiled)');
      expect(await patientBox.getAttribute('title')).toBe('Profiled by bedside.example#1.0.0: http://bedside.example/fhir/StructureDefinition/bedside-patient');

      await launcher.locator('#patient-results input[value="patient-002"]').check();
      await launcher.locator('#practitioner-results input[value="practitioner-001"]').check();
      const opened = context.waitForEvent('page');
      await launcher.locator('#launch-button').click();
      const ehr = await opened;
      const app = ehr.frameLocator('#app-frame');
      await app.locator('#username').fill('dr.carter');
      await app.locator('#password').fill('bedside-demo');
      await app.locator('button[type="submit"]', { hasText: 'Sign in' }).click();
      await app.locator('button[name="decision"][value="approve"]').click();
      await app.locator('body[data-state="ready"]').waitFor();

      const link = app.locator('#profile-table tr', { hasText: 'Patient' }).locator('a');
      await link.waitFor();
      expect(await link.getAttribute('href')).toBe('http://bedside.example/fhir/StructureDefinition/bedside-patient');
      expect(await link.textContent()).toBe('bedside-patient');
      expect(await app.locator('#profile-table tr', { hasText: 'Observation' }).textContent()).toBe('Observationbase R4');
      await context.close();
    });
  },
);
