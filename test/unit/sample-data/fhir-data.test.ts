/**
 * The committed fhir-data/ folder: valid R4, every reference resolvable, the ids the rest of the
 * team relies on, and exactly what `npm run generate` (no arguments) produces today.
 */
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AllergyIntolerance, Condition, Group, Patient, Practitioner, Resource } from 'fhir/r4';
import { beforeAll, describe, expect, it } from 'vitest';
import { writeSampleData } from '../../../src/sample-data/index.js';
import { indexR4Definitions, key, readBundleFolder, referencesIn, shapeProblems, tempDir, validationError, type BundleFolder } from './helpers.js';

const FHIR_DATA = fileURLToPath(new URL('../../../fhir-data/', import.meta.url));

let folder: BundleFolder;
const byKey = new Map<string, Resource>();
const get = <T extends Resource>(k: string): T => {
  const resource = byKey.get(k);
  if (!resource) throw new Error(`${k} is not in fhir-data/`);
  return resource as T;
};

beforeAll(() => {
  indexR4Definitions();
  folder = readBundleFolder(FHIR_DATA);
  for (const r of folder.resources) byKey.set(key(r), r);
});

describe('fhir-data/', () => {
  it('holds shared.json and one bundle per patient, patient-001 to patient-012', () => {
    expect([...folder.patients.keys()]).toEqual(Array.from({ length: 12 }, (_, i) => `patient-${String(i + 1).padStart(3, '0')}`));
  });

  it('contains only R4-valid resources', () => {
    const errors = folder.resources.map(validationError).filter((e): e is string => e !== undefined);
    expect(errors).toEqual([]);
  });

  it('uses FHIR ids and has no empty or null values', () => {
    expect(folder.resources.flatMap(shapeProblems)).toEqual([]);
  });

  it('has each resource once', () => {
    expect(byKey.size).toBe(folder.resources.length);
  });

  it('only has references that resolve to a resource in fhir-data/', () => {
    const dangling = folder.resources.flatMap((r) =>
      referencesIn(r)
        .filter((ref) => !byKey.has(ref))
        .map((ref) => `${key(r)} -> ${ref}`),
    );
    expect(dangling).toEqual([]);
  });

  it('is made of transaction bundles of idempotent PUTs', () => {
    for (const bundle of [folder.shared, ...folder.patients.values()]) {
      expect(bundle.type).toBe('transaction');
      for (const entry of bundle.entry ?? []) {
        expect(entry.fullUrl).toBeUndefined();
        expect(entry.request).toEqual({ method: 'PUT', url: key(entry.resource as Resource) });
      }
    }
  });

  it('keeps each patient bundle to that patient, plus nothing shared', () => {
    for (const [id, bundle] of folder.patients) {
      const resources = (bundle.entry ?? []).map((e) => e.resource as Resource);
      expect(key(resources[0] as Resource)).toBe(`Patient/${id}`);
      for (const r of resources.slice(1)) {
        expect(r.id?.startsWith(`${id}-`)).toBe(true);
        expect(referencesIn(r)).toContain(`Patient/${id}`);
      }
      expect(resources.length).toBeGreaterThanOrEqual(60);
      expect(resources.length).toBeLessThanOrEqual(350);
    }
  });

  it('has Amy Shaw as Patient/patient-001: adult woman with hypertension, diabetes and an allergy', () => {
    const amy = get<Patient>('Patient/patient-001');
    expect(amy.name?.[0]).toMatchObject({ family: 'Shaw', given: ['Amy', 'Elizabeth'] });
    expect(amy.gender).toBe('female');
    const age = 2026 - Number(amy.birthDate?.slice(0, 4));
    expect(age).toBeGreaterThanOrEqual(30);
    expect(age).toBeLessThan(65);
    expect(amy.identifier?.[0]).toMatchObject({ system: 'urn:oid:2.16.840.1.113883.19.5', type: { coding: [{ code: 'MR' }] } });
    expect(amy.generalPractitioner).toEqual([{ reference: 'Practitioner/practitioner-001', display: 'Dr. Alice Carter' }]);
    const problems = folder.resources
      .filter((r): r is Condition => r.resourceType === 'Condition' && (r as Condition).subject.reference === 'Patient/patient-001')
      .map((c) => c.code?.coding?.[0]?.code);
    expect(problems).toEqual(expect.arrayContaining(['38341003', '44054006']));
    const allergies = folder.resources.filter(
      (r): r is AllergyIntolerance => r.resourceType === 'AllergyIntolerance' && (r as AllergyIntolerance).patient.reference === 'Patient/patient-001',
    );
    expect(allergies.map((a) => a.code?.coding?.[0]?.code)).toEqual(['91936005']);
  });

  it('has Dr. Alice Carter as Practitioner/practitioner-001, and Organization/bedside-general', () => {
    const alice = get<Practitioner>('Practitioner/practitioner-001');
    expect(alice.name?.[0]).toMatchObject({ family: 'Carter', given: ['Alice'], prefix: ['Dr.'] });
    expect(alice.identifier?.[0]?.system).toBe('http://hl7.org/fhir/sid/us-npi');
    expect(get('Organization/bedside-general')).toMatchObject({ name: 'Bedside General Hospital' });
    const practitioners = folder.resources.filter((r) => r.resourceType === 'Practitioner');
    expect(practitioners.length).toBeGreaterThanOrEqual(5);
  });

  it('has diverse names, including accented ones for accent-insensitive search', () => {
    const names = folder.resources.filter((r): r is Patient => r.resourceType === 'Patient').map((p) => p.name?.[0]?.text ?? '');
    for (const accented of ['José', 'Zoë', 'Müller', 'Nguyễn']) expect(names.join(' ')).toContain(accented);
  });

  it('has Groups for bulk export: all patients, and a diabetes cohort with Amy in it', () => {
    const all = get<Group>('Group/all-patients');
    expect(all).toMatchObject({ type: 'person', actual: true, quantity: 12 });
    expect(all.member?.map((m) => m.entity.reference)).toEqual([...folder.patients.keys()].map((id) => `Patient/${id}`));
    const diabetes = get<Group>('Group/diabetes-cohort');
    const members = diabetes.member?.map((m) => m.entity.reference) ?? [];
    expect(members).toContain('Patient/patient-001');
    for (const member of members) {
      expect(
        folder.resources.some(
          (r) => r.resourceType === 'Condition' && (r as Condition).subject.reference === member && (r as Condition).code?.coding?.[0]?.code === '44054006',
        ),
        `${member} has diabetes`,
      ).toBe(true);
    }
  });

  it('mixes ages and record types so sample apps have something to chart', () => {
    const counts = new Map<string, number>();
    for (const r of folder.resources) counts.set(r.resourceType, (counts.get(r.resourceType) ?? 0) + 1);
    for (const type of ['Encounter', 'Observation', 'Condition', 'MedicationRequest', 'AllergyIntolerance', 'Immunization', 'Procedure', 'DiagnosticReport']) {
      expect(counts.get(type) ?? 0, type).toBeGreaterThan(0);
    }
    const years = folder.resources.filter((r): r is Patient => r.resourceType === 'Patient').map((p) => 2026 - Number(p.birthDate?.slice(0, 4)));
    expect(Math.min(...years)).toBeLessThan(3);
    expect(years.some((y) => y >= 10 && y < 18)).toBe(true);
    expect(Math.max(...years)).toBeGreaterThanOrEqual(75);
  });

  it('is exactly what `npm run generate` writes with no arguments (regenerate after changing the generator)', async () => {
    const dir = tempDir('regenerate');
    await writeSampleData({}, { outDir: dir, format: 'bundles' });
    const files = (root: string): string[] => [
      'shared.json',
      ...readdirSync(path.join(root, 'patients'))
        .sort()
        .map((f) => `patients/${f}`),
    ];
    expect(files(dir)).toEqual(files(FHIR_DATA));
    for (const file of files(dir)) {
      expect(readFileSync(path.join(dir, file), 'utf8') === readFileSync(path.join(FHIR_DATA, file), 'utf8'), file).toBe(true);
    }
  });
});
