/**
 * Extraction over real data: the fast path and FHIRPath.js give identical rows for every
 * resource of the HL7 R4 examples, Synthea, Inferno and fhir-data/, and the average extraction
 * time over Synthea is printed. Skipped (and reported so) without ../shared/fhir-samples.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { extractIndex } from '../../../src/search/extract.js';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const SAMPLES = path.resolve(ROOT, '../shared/fhir-samples');
const FHIR_DATA = path.resolve(ROOT, 'fhir-data');

type Json = { resourceType?: string; entry?: Array<{ resource?: Json }> };

function* filesUnder(dir: string): Generator<string> {
  if (!existsSync(dir)) return;
  for (const name of readdirSync(dir).sort()) {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) yield* filesUnder(full);
    else if (name.endsWith('.json') || name.endsWith('.ndjson')) yield full;
  }
}

/** Every resource in the files, Bundle entries included (recursively). */
function resourcesUnder(dir: string): Json[] {
  const out: Json[] = [];
  const walk = (r: Json | undefined): void => {
    if (!r || typeof r.resourceType !== 'string') return;
    out.push(r);
    if (r.resourceType === 'Bundle') for (const e of r.entry ?? []) walk(e.resource);
  };
  for (const file of filesUnder(dir)) {
    const text = readFileSync(file, 'utf8');
    if (file.endsWith('.ndjson')) for (const line of text.split('\n')) line.trim() && walk(JSON.parse(line) as Json);
    else walk(JSON.parse(text) as Json);
  }
  return out;
}

function parityFailures(resources: Json[]): string[] {
  const failures: string[] = [];
  for (const r of resources) {
    const resource = r as { resourceType: string; id?: string };
    const fast = extractIndex(resource, { baseUrl: 'http://example.org/fhir' })
      .map((x) => JSON.stringify(x))
      .sort();
    const slow = extractIndex(resource, { baseUrl: 'http://example.org/fhir', engine: 'fhirpath' })
      .map((x) => JSON.stringify(x))
      .sort();
    if (JSON.stringify(fast) !== JSON.stringify(slow)) failures.push(`${resource.resourceType}/${resource.id}`);
  }
  return failures;
}

const sets = [
  ['HL7 R4 examples', path.join(SAMPLES, 'hl7-r4-examples')],
  ['Synthea', path.join(SAMPLES, 'synthea')],
  ['Inferno US Core', path.join(SAMPLES, 'inferno-uscore')],
] as const;

describe.skipIf(!existsSync(SAMPLES))('fast path = FHIRPath.js on the shared samples', () => {
  for (const [name, dir] of sets) {
    it(name, () => {
      const resources = resourcesUnder(dir);
      expect(resources.length).toBeGreaterThan(0);
      expect(parityFailures(resources)).toEqual([]);
    });
  }
});

describe.skipIf(resourcesUnder(FHIR_DATA).length === 0)('fast path = FHIRPath.js on fhir-data/', () => {
  it('every resource', () => {
    expect(parityFailures(resourcesUnder(FHIR_DATA))).toEqual([]);
  });
});

describe.skipIf(!existsSync(path.join(SAMPLES, 'synthea')))('extraction speed (printed, not asserted)', () => {
  it('over Synthea', () => {
    const resources = resourcesUnder(path.join(SAMPLES, 'synthea')).filter((r) => r.resourceType !== 'Bundle') as Array<{ resourceType: string }>;
    for (const r of resources) extractIndex(r);
    const rounds = 3;
    let rows = 0;
    const start = performance.now();
    for (let i = 0; i < rounds; i++) for (const r of resources) rows += extractIndex(r, { baseUrl: 'http://example.org/fhir' }).length;
    const micros = ((performance.now() - start) * 1000) / (rounds * resources.length);
    console.log(
      `extractIndex over Synthea: ${resources.length} resources, ${(rows / rounds / resources.length).toFixed(1)} rows/resource, ${micros.toFixed(1)} µs/resource (target < 40)`,
    );
    expect(rows).toBeGreaterThan(0);
  });
});
