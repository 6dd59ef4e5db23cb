/**
 * Search parity: the same generated queries over the same sample data (fhir-data/, indexed by
 * the real extraction) return identical id sets on every store implementation, and the same
 * as the in-memory reference evaluator (src/search/evaluate.ts).
 */
import type { Bundle, Resource } from 'fhir/r4';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { extractIndex } from '../../src/search/extract.js';
import { MemoryIndex, getSearchRegistry, parseSearch } from '../../src/search/index.js';
import type { IndexEntry } from '../../src/storage/search-index.js';
import { storeImplementations, type OpenStore } from '../support/stores.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const BASE = 'http://localhost:8080/fhir';
const TYPES = [
  'Patient',
  'Observation',
  'Condition',
  'Encounter',
  'MedicationRequest',
  'Immunization',
  'Procedure',
  'DiagnosticReport',
  'AllergyIntolerance',
  'Practitioner',
  'PractitionerRole',
  'Organization',
  'Location',
  'Group',
];

function sampleResources(): Resource[] {
  const files = [
    path.join(ROOT, 'fhir-data/shared.json'),
    ...readdirSync(path.join(ROOT, 'fhir-data/patients')).map((f) => path.join(ROOT, 'fhir-data/patients', f)),
  ];
  return files.flatMap((f) => ((JSON.parse(readFileSync(f, 'utf8')) as Bundle).entry ?? []).map((e) => e.resource as Resource));
}

/** Queries made from the values the data really has, for every indexed parameter of each type. */
function generateQueries(resources: Resource[]): Array<[string, string]> {
  const registry = getSearchRegistry();
  const queries: Array<[string, string]> = [];
  const rowsByTypeParam = new Map<string, IndexEntry[]>();
  for (const r of resources) {
    for (const row of extractIndex(r, { baseUrl: BASE })) {
      const key = `${r.resourceType}.${row.param}`;
      const list = rowsByTypeParam.get(key) ?? [];
      list.push(row);
      rowsByTypeParam.set(key, list);
    }
  }
  const enc = encodeURIComponent;
  for (const type of TYPES) {
    for (const def of registry.paramsFor(type)) {
      const rows = rowsByTypeParam.get(`${type}.${def.code}`) ?? [];
      const name = def.code;
      if (!def.table || def.table === 'composite' || name.startsWith('_')) continue;
      queries.push([type, `${name}:missing=true`]);
      if (rows.length === 0) continue;
      const pick = (i: number) => rows[Math.floor((rows.length - 1) * i)]!;
      switch (def.table) {
        case 'token': {
          const a = pick(0) as Extract<IndexEntry, { table: 'token' }>;
          const b = pick(0.7) as Extract<IndexEntry, { table: 'token' }>;
          if (a.code) queries.push([type, `${name}=${enc(a.code)}`]);
          if (a.code && a.system) queries.push([type, `${name}=${enc(`${a.system}|${a.code}`)}`]);
          if (b.code && a.code && b.code !== a.code) queries.push([type, `${name}=${enc(a.code)},${enc(b.code)}`]);
          if (b.code) queries.push([type, `${name}:not=${enc(b.code)}`]);
          break;
        }
        case 'string': {
          const a = pick(0.5) as Extract<IndexEntry, { table: 'string' }>;
          queries.push([type, `${name}=${enc(a.value.slice(0, 2))}`]);
          queries.push([type, `${name}:exact=${enc(a.exact)}`]);
          if (a.value.length > 3) queries.push([type, `${name}:contains=${enc(a.value.slice(1, 3))}`]);
          break;
        }
        case 'date': {
          const a = pick(0.5) as Extract<IndexEntry, { table: 'date' }>;
          const year = new Date(Math.max(0, Math.min(a.low, 4e12))).getUTCFullYear();
          queries.push([type, `${name}=${year}`], [type, `${name}=ge${year}`], [type, `${name}=lt${year}-07`], [type, `${name}=sa${year}-01-01`]);
          break;
        }
        case 'reference': {
          const a = pick(0.3) as Extract<IndexEntry, { table: 'reference' }>;
          if (a.value) queries.push([type, `${name}=${enc(a.value)}`]);
          if (a.targetId) queries.push([type, `${name}=${enc(a.targetId)}`]);
          break;
        }
        case 'quantity':
        case 'number': {
          const a = pick(0.5) as Extract<IndexEntry, { table: 'number' }>;
          queries.push([type, `${name}=gt${a.low}`], [type, `${name}=le${a.low}`], [type, `${name}=${a.low}`]);
          break;
        }
        case 'uri': {
          const a = pick(0) as Extract<IndexEntry, { table: 'uri' }>;
          queries.push([type, `${name}=${enc(a.value)}`]);
          break;
        }
      }
    }
  }
  // Full text: words of the real narratives and contents (one word, two in a row as a phrase,
  // two anywhere, OR), for every type.
  for (const type of TYPES) {
    for (const param of ['_text', '_content']) {
      const rows = (rowsByTypeParam.get(`${type}.${param}`) ?? []) as Array<Extract<IndexEntry, { table: 'text' }>>;
      if (rows.length === 0) continue;
      const words = rows[Math.floor((rows.length - 1) / 2)]!.terms.split(' ');
      const other = rows[rows.length - 1]!.terms.split(' ');
      const at = (list: string[], i: number) => list[Math.min(i, list.length - 1)]!;
      queries.push(
        [type, `${param}=${enc(at(words, 0))}`],
        [type, `${param}=${enc(`"${at(words, 1)} ${at(words, 2)}"`)}`],
        [type, `${param}=${enc(`${at(words, 3)} ${at(other, 1)}`)}`],
        [type, `${param}=${enc(`${at(words, 0)} OR ${at(other, 0)}`)}`],
      );
    }
  }
  // near around every position in the data, at a few distances.
  for (const position of (rowsByTypeParam.get('Location.near') ?? []) as Array<Extract<IndexEntry, { table: 'position' }>>) {
    for (const km of [0.05, 2, 25]) queries.push(['Location', `near=${position.latitude}|${position.longitude}|${km}|km`]);
  }
  queries.push(['Location', 'near=42.36|-71.06'], ['Location', 'near=42.36|-71.06|20|mi&status=active'], ['Location', 'near:missing=true']);
  // _filter over the real data.
  queries.push(
    ['Patient', `_filter=${enc('gender eq female and birthdate lt 1980')}`],
    ['Patient', `_filter=${enc('family sw "sh" or given co "li"')}`],
    ['Patient', `_filter=${enc('name ew "a" and not (gender eq male)')}`],
    ['Observation', `_filter=${enc('code eq http://loinc.org|8867-4 or code eq http://loinc.org|85354-9')}`],
    ['Observation', `_filter=${enc('value-quantity gt 100 and patient eq Patient/patient-001')}`],
    ['Condition', `_filter=${enc('not (clinical-status eq active) or onset-date ge 2024')}`],
    ['Encounter', `_filter=${enc('date ge 2023-01-01 and date lt 2024 and status ne cancelled')}`],
    ['MedicationRequest', `_filter=${enc('status eq active and (intent eq order or intent eq plan)')}`],
  );
  // Combinations, chains and reverse chains.
  queries.push(
    ['Observation', 'patient=patient-001&category=vital-signs'],
    ['Observation', 'subject:Patient.gender=female&code=8867-4'],
    ['Observation', 'subject:Patient.name=shaw'],
    ['Encounter', 'subject:Patient.birthdate=lt1960'],
    ['Condition', 'subject:Patient.general-practitioner:Practitioner.name=carter'],
    ['Patient', '_has:Condition:patient:code=44054006'],
    ['Patient', '_has:Observation:patient:code=8867-4&gender=male'],
    ['Patient', '_has:Encounter:patient:_has:Condition:encounter:code=44054006'],
    ['Practitioner', '_has:Encounter:practitioner:patient=patient-002'],
    ['MedicationRequest', 'status=active&patient=patient-001,patient-003'],
    ['Observation', 'code-value-quantity=http://loinc.org|8867-4$gt60'],
    ['Observation', 'combo-code-value-quantity=8480-6$gt130'],
    ['Immunization', 'date=ge2020&status:not=completed'],
  );
  return queries;
}

const implementations = storeImplementations();
const stores: Array<{ name: string; storage: OpenStore }> = [];
let resources: Resource[];
let memory: MemoryIndex;

beforeAll(async () => {
  resources = sampleResources();
  memory = MemoryIndex.of(resources, { baseUrl: BASE });
  for (const impl of implementations) {
    const storage = await impl.open();
    await storage.resources.bulkPut(
      resources.map((r) => ({ resourceType: r.resourceType, id: r.id!, resource: r, index: extractIndex(r, { baseUrl: BASE }), method: 'PUT' as const })),
    );
    stores.push({ name: impl.name, storage });
  }
}, 240_000);
afterAll(async () => {
  for (const s of stores) await s.storage.dispose();
});

describe('search parity across stores', () => {
  it('gives identical id sets on every store and in the reference evaluator', async () => {
    const queries = generateQueries(resources);
    expect(queries.length).toBeGreaterThanOrEqual(200);
    const mismatches: string[] = [];
    let nonEmpty = 0;
    for (const [type, query] of queries) {
      const parsed = parseSearch(type, new URLSearchParams(query), { baseUrl: BASE, strict: true, maxCount: 1000, defaultCount: 1000 });
      const expected = memory
        .search([type], parsed.where)
        .map((r) => r.id)
        .sort();
      if (expected.length) nonEmpty++;
      for (const { name, storage } of stores) {
        const ids: string[] = [];
        let cursor: string | undefined;
        do {
          const page = await storage.resources.search({ types: [type], where: parsed.where, sort: [], limit: 1000, ...(cursor ? { cursor } : {}) });
          ids.push(...page.resources.map((v) => v.id));
          cursor = page.next;
        } while (cursor);
        ids.sort();
        if (JSON.stringify(ids) !== JSON.stringify(expected)) mismatches.push(`${name}: ${type}?${query}: ${ids.length} ids, expected ${expected.length}`);
      }
    }
    console.log(
      `search parity: ${queries.length} queries (${nonEmpty} with matches) on ${stores.map((s) => s.name).join(', ')} and the reference evaluator, ${mismatches.length} mismatches`,
    );
    expect(nonEmpty).toBeGreaterThan(150);
    expect(mismatches.slice(0, 20)).toEqual([]);
  }, 300_000);
});
