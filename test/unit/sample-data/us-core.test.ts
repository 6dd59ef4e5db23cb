/**
 * Our sample data is US Core data: every resource of the committed fhir-data/ (except the Groups,
 * which US Core does not profile) claims a US Core profile and validates against it, with the
 * real US Core 6.1.0 package from ../shared/fhir-packages (skipped when absent). The same data
 * also passes US Core 3.1.1 and 7.0.0, so a Bedside running either accepts its own sample data
 * (3.1.1 lacks the per-vital-sign profiles: those are only warnings).
 */
import type { Resource } from 'fhir/r4';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { validateR4 } from '../../../src/fhir/validator/index.js';
import { ProfileValidator } from '../../../src/fhir/validator/profiles/index.js';
import { US_CORE } from '../../../src/sample-data/us-core.js';
import { hasSharedPackages, lookupOf, sharedPackage, testTerminology } from '../../support/fhir-packages.js';
import { readBundleFolder } from './helpers.js';

const FHIR_DATA = fileURLToPath(new URL('../../../fhir-data/', import.meta.url));
const resources = readBundleFolder(FHIR_DATA).resources;

describe('fhir-data/ and US Core', () => {
  it('claims a US Core profile on every resource but the Groups', () => {
    const claims: Record<string, number> = {};
    for (const r of resources) {
      const profiles = r.meta?.profile ?? [];
      if (r.resourceType === 'Group') expect(profiles).toEqual([]);
      else {
        expect(profiles, `${r.resourceType}/${r.id}`).toHaveLength(1);
        expect(Object.values(US_CORE)).toContain(profiles[0]);
        claims[profiles[0]!] = (claims[profiles[0]!] ?? 0) + 1;
      }
    }
    // Observations: one profile per vital sign, plus lab results and smoking status.
    expect(Object.keys(claims)).toHaveLength(24);
    expect(claims[US_CORE.labResult]).toBe(500);
    expect(claims[US_CORE.bloodPressure]).toBe(137);
  });

  describe.skipIf(!hasSharedPackages).each([
    ['hl7.fhir.us.core-6.1.0.tgz', []],
    ['hl7.fhir.us.core-7.0.0.tgz', []],
    [
      'hl7.fhir.us.core-3.1.1.tgz',
      [
        US_CORE.bloodPressure,
        US_CORE.heartRate,
        US_CORE.respiratoryRate,
        US_CORE.bodyTemperature,
        US_CORE.bodyWeight,
        US_CORE.bodyHeight,
        US_CORE.bmi,
        US_CORE.headCircumference,
        US_CORE.problem,
        US_CORE.encounterDiagnosis,
      ].sort(),
    ],
  ])('validated against %s', (file, notInPackage) => {
    it('every resource conforms to the profile it claims: no errors', async () => {
      const pkg = sharedPackage(file);
      const validator = new ProfileValidator({ structureDefinition: lookupOf(pkg), validateCode: testTerminology(pkg) });
      const errors: string[] = [];
      const unknown = new Set<string>();
      let checked = 0;
      for (const r of resources as Array<Resource & Record<string, unknown>>) {
        for (const issue of validateR4(r).issues) if (issue.severity === 'error') errors.push(`${r.resourceType}/${r.id} ${issue.path}: ${issue.message}`);
        const result = await validator.validate(r, ProfileValidator.declaredProfiles(r));
        checked += result.checked.length;
        for (const u of result.unknown) unknown.add(u);
        for (const issue of result.issues) if (issue.severity === 'error') errors.push(`${r.resourceType}/${r.id} ${issue.path}: ${issue.message}`);
      }
      expect(errors).toEqual([]);
      expect([...unknown].sort()).toEqual(notInPackage);
      expect(checked).toBeGreaterThan(notInPackage.length ? 900 : 2260);
    }, 120_000);
  });
});
