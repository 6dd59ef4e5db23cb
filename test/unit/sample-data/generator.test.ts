/** The generator as a library: determinism, both output formats, scale, options. */
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Resource } from 'fhir/r4';
import { beforeAll, describe, expect, it } from 'vitest';
import { generatePatients, generateShared, patientId, resolveOptions, writeSampleData } from '../../../src/sample-data/index.js';
import { npiWithCheckDigit } from '../../../src/sample-data/people/staff.js';
import { asciiSlug } from '../../../src/sample-data/people/names.js';
import { indexR4Definitions, key, readBundleFolder, readNdjsonFolder, referencesIn, shapeProblems, tempDir, validationError } from './helpers.js';

const filesIn = (dir: string): string[] =>
  readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile())
    .map((d) => path.relative(dir, path.join(d.parentPath, d.name)))
    .sort();

beforeAll(indexR4Definitions);

describe('determinism', () => {
  it('writes byte-identical files for the same seed and options', async () => {
    const [a, b] = [tempDir('det-a'), tempDir('det-b')];
    const options = { patients: 30, seed: 'determinism' };
    await writeSampleData(options, { outDir: a, format: 'bundles' });
    await writeSampleData(options, { outDir: b, format: 'bundles' });
    expect(filesIn(a)).toEqual(filesIn(b));
    for (const file of filesIn(a)) {
      expect(readFileSync(path.join(a, file)).equals(readFileSync(path.join(b, file))), file).toBe(true);
    }
  });

  it('generates the same records in memory as on disk, and other records for another seed', async () => {
    const dir = tempDir('memory');
    await writeSampleData({ patients: 5, seed: 's1' }, { outDir: dir, format: 'bundles' });
    const onDisk = readBundleFolder(dir);
    const inMemory = [...generateShared({ patients: 5, seed: 's1' }), ...[...generatePatients({ patients: 5, seed: 's1' })].flatMap((r) => r.resources)];
    expect(JSON.parse(JSON.stringify(inMemory))).toEqual(onDisk.resources);
    const other = [...generatePatients({ patients: 5, seed: 's2' })].flatMap((r) => r.resources);
    expect(JSON.stringify(other)).not.toBe(JSON.stringify(inMemory.slice(-other.length)));
  });

  it('makes patient n independent of how many patients are generated', () => {
    const few = [...generatePatients({ patients: 14, seed: 'n' })][13];
    const many = [...generatePatients({ patients: 20, seed: 'n' })][13];
    expect(few?.patientId).toBe('patient-014');
    expect(JSON.stringify(many?.resources)).toBe(JSON.stringify(few?.resources));
  });
});

describe('formats', () => {
  it('puts the same resources in ndjson as in bundles', async () => {
    const [bundles, ndjson] = [tempDir('fmt-b'), tempDir('fmt-n')];
    const options = { patients: 25, seed: 'formats' };
    await writeSampleData(options, { outDir: bundles, format: 'bundles' });
    const summary = await writeSampleData(options, { outDir: ndjson, format: 'ndjson' });
    const fromBundles = new Map(readBundleFolder(bundles).resources.map((r) => [key(r), r]));
    const fromNdjson = readNdjsonFolder(ndjson);
    expect(fromNdjson.length).toBe(fromBundles.size);
    for (const r of fromNdjson) expect(r).toEqual(fromBundles.get(key(r)));
    for (const file of summary.files) {
      const type = file.replace('.ndjson', '');
      expect(
        readFileSync(path.join(ndjson, file), 'utf8')
          .split('\n')
          .filter(Boolean)
          .every((l) => JSON.parse(l).resourceType === type),
      ).toBe(true);
    }
  });

  it('indents the default-sized set and writes large sets compact', async () => {
    const dir = tempDir('compact');
    await writeSampleData({ patients: 101, seed: 'compact' }, { outDir: dir, format: 'bundles' });
    expect(readFileSync(path.join(dir, 'patients', 'patient-001.json'), 'utf8').split('\n')).toHaveLength(2);
    expect(readdirSync(path.join(dir, 'patients'))).toHaveLength(101);
  });

  it('replaces its own earlier output and nothing else', async () => {
    const dir = tempDir('stale');
    await writeSampleData({ patients: 8 }, { outDir: dir, format: 'ndjson' });
    await writeSampleData({ patients: 8 }, { outDir: dir, format: 'bundles' });
    writeFileSync(path.join(dir, 'README.md'), 'keep me');
    mkdirSync(path.join(dir, 'notes'));
    writeFileSync(path.join(dir, 'notes', 'x.json'), '{}');
    await writeSampleData({ patients: 3 }, { outDir: dir, format: 'bundles' });
    expect(filesIn(dir)).toEqual([
      'README.md',
      'notes/x.json',
      'patients/patient-001.json',
      'patients/patient-002.json',
      'patients/patient-003.json',
      'shared.json',
    ]);
  });
});

describe('a 200-patient set', () => {
  let resources: readonly Resource[];
  let summary: Awaited<ReturnType<typeof writeSampleData>>;

  beforeAll(async () => {
    const dir = tempDir('scale');
    summary = await writeSampleData({ patients: 200, seed: 'scale' }, { outDir: dir, format: 'bundles' });
    resources = readBundleFolder(dir).resources;
  });

  it('reports what it wrote', () => {
    const counts: Record<string, number> = {};
    for (const r of resources) counts[r.resourceType] = (counts[r.resourceType] ?? 0) + 1;
    expect(summary.counts).toEqual(counts);
    expect(summary.total).toBe(resources.length);
    expect(summary.files).toHaveLength(201);
    expect(summary.files[0]).toBe('shared.json');
    expect(counts.Patient).toBe(200);
    // The benchmark relies on roughly 100 resources per patient (10,000 patients ≈ 1 million).
    expect(resources.length / 200).toBeGreaterThan(80);
    expect(resources.length / 200).toBeLessThan(160);
  });

  it('is R4-valid, well-formed and self-contained (random patients, not just the cast)', () => {
    const random = resources.filter((r) => !/^patient-0(0\d|1[0-2])($|-)/.test(r.id ?? ''));
    expect(random.length).toBeGreaterThan(15_000);
    expect(random.map(validationError).filter(Boolean)).toEqual([]);
    expect(resources.flatMap(shapeProblems)).toEqual([]);
    const ids = new Set(resources.map(key));
    expect(ids.size).toBe(resources.length);
    expect(resources.flatMap((r) => referencesIn(r).filter((ref) => !ids.has(ref)))).toEqual([]);
  });

  it('covers the problems, medications and vaccines a sample app would show', () => {
    const codes = new Set(resources.flatMap((r) => JSON.stringify(r).match(/"code":"[^"]+"/g) ?? []));
    for (const code of [
      '38341003',
      '44054006',
      '195967001',
      '55822004',
      '314076',
      '860975',
      '617310',
      '745679',
      '140',
      '115',
      '208',
      '85354-9',
      '4548-4',
      '72166-2',
    ]) {
      expect(codes.has(`"code":"${code}"`), code).toBe(true);
    }
  });
});

describe('--today', () => {
  it('keeps every event before the reference date', () => {
    const today = '2019-07-01';
    const eventFields = ['effectiveDateTime', 'occurrenceDateTime', 'authoredOn', 'recordedDate', 'onsetDateTime', 'abatementDateTime', 'issued', 'birthDate'];
    let checked = 0;
    for (const { resources } of generatePatients({ patients: 40, seed: 'past', today })) {
      for (const r of resources) {
        const record = r as unknown as Record<string, unknown>;
        const period = (record.period ?? record.performedPeriod) as { start: string; end: string } | undefined;
        const dates = [...eventFields.map((f) => record[f]), period?.start, period?.end].filter((v): v is string => typeof v === 'string');
        for (const date of dates) {
          expect(date.slice(0, 10) < today, `${key(r)} ${date}`).toBe(true);
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThan(1000);
  });
});

describe('options', () => {
  it.each([
    [{ patients: 0 }],
    [{ patients: -3 }],
    [{ patients: 1.5 }],
    [{ patients: Number.NaN }],
    [{ patients: 2_000_000 }],
    [{ seed: '' }],
    [{ today: '2026-02-30' }],
    [{ today: '2026/01/01' }],
    [{ today: 'tomorrow' }],
  ])('rejects %j', (options) => {
    expect(() => resolveOptions(options)).toThrow(RangeError);
  });

  it('pads patient numbers to 3 digits, or more when the set needs it', () => {
    expect(patientId(1, resolveOptions({}).idWidth)).toBe('patient-001');
    expect(patientId(7, resolveOptions({ patients: 999 }).idWidth)).toBe('patient-007');
    expect(patientId(7, resolveOptions({ patients: 1000 }).idWidth)).toBe('patient-0007');
    expect(patientId(10_000, resolveOptions({ patients: 10_000 }).idWidth)).toBe('patient-10000');
  });

  it('lists every patient of a large set in Group/all-patients without generating records', () => {
    const started = performance.now();
    const shared = generateShared({ patients: 20_000 });
    const all = shared.find((r) => key(r) === 'Group/all-patients') as { quantity: number } | undefined;
    expect(all?.quantity).toBe(20_000);
    expect(performance.now() - started).toBeLessThan(5_000);
  });
});

describe('helpers', () => {
  it('computes NPI check digits (CMS example 123456789 → 1234567893)', () => {
    expect(npiWithCheckDigit('123456789')).toBe('1234567893');
  });

  it('folds names to ASCII for e-mail addresses', () => {
    expect(['Nguyễn', 'Søren', 'José', "O'Brien", 'Größ', 'Ó Súilleabháin'].map(asciiSlug)).toEqual([
      'nguyen',
      'soren',
      'jose',
      'obrien',
      'gross',
      'osuilleabhain',
    ]);
  });
});
