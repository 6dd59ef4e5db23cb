/**
 * FHIR search semantics as a table: query string → the ids it must find among the fixtures,
 * through extractIndex (index rows), parseSearch (conditions) and the reference evaluator.
 * https://hl7.org/fhir/R4/search.html
 */
import { describe, expect, it } from 'vitest';
import { MemoryIndex } from '../../../src/search/evaluate.js';
import { parseSearch } from '../../../src/search/parse.js';
import { BASE_URL, NOW, RESOURCES } from './fixtures.js';
import { ALL_OBS, TABLES } from './semantics-table.js';

const index = MemoryIndex.of(RESOURCES, { baseUrl: BASE_URL });
const options = { baseUrl: BASE_URL, strict: true, maxCount: 100, defaultCount: 20, now: NOW };

function search(type: string | undefined, query: string): string[] {
  const parsed = parseSearch(type, new URLSearchParams(query), options);
  const found = index.search(parsed.types, parsed.where, parsed.sort).map((r) => r.id);
  return parsed.sort.length > 0 ? found : found.sort();
}

describe('FHIR search semantics (extractIndex + parseSearch + evaluate)', () => {
  for (const [group, rows] of Object.entries(TABLES)) {
    describe(group, () => {
      it.each(rows.map(([type, query, expected]) => ({ type, query, expected })))('$type?$query', ({ type, query, expected }) => {
        expect(search(type, query)).toEqual(expected);
      });
    });
  }

  it('matches everything without criteria', () => {
    expect(search('Observation', '')).toEqual(ALL_OBS);
  });
});
