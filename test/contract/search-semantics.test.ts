/**
 * The search semantics table (test/unit/search/semantics-table.ts) on every store
 * implementation: the fixtures are written with their real index rows, each query is parsed by
 * the real parser and run by the store, and must find exactly the table's ids (in the table's
 * order when the query sorts).
 *
 * Rows on `_lastUpdated` are left out here: the stores stamp lastUpdated themselves at write
 * time, so the fixtures' meta.lastUpdated (which the table's expectations use) is not kept.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { extractIndex } from '../../src/search/extract.js';
import { parseSearch } from '../../src/search/parse.js';
import { BASE_URL, NOW, RESOURCES } from '../unit/search/fixtures.js';
import { TABLES } from '../unit/search/semantics-table.js';
import { storeImplementations, type OpenStore } from '../support/stores.js';

const options = { baseUrl: BASE_URL, strict: true, maxCount: 100, defaultCount: 100, now: NOW };
const rows = Object.entries(TABLES).flatMap(([group, list]) =>
  list.filter(([, query]) => !query.includes('_lastUpdated')).map(([type, query, expected]) => ({ group, type, query, expected })),
);

describe.each(storeImplementations())('search semantics table on $name', (impl) => {
  let storage: OpenStore;
  beforeAll(async () => {
    storage = await impl.open();
    await storage.resources.bulkPut(
      RESOURCES.map((r) => ({ resourceType: r.resourceType, id: r.id!, resource: r, index: extractIndex(r, { baseUrl: BASE_URL }), method: 'PUT' as const })),
    );
  }, 120_000);
  afterAll(async () => storage?.dispose());

  it.each(rows)('$group: $type?$query', async ({ type, query, expected }) => {
    const parsed = parseSearch(type, new URLSearchParams(query), options);
    const page = await storage.resources.search({ ...(parsed.types ? { types: parsed.types } : {}), where: parsed.where, sort: parsed.sort, limit: 100 });
    const ids = page.resources.map((v) => v.id);
    expect(parsed.sort.length > 0 ? ids : ids.sort()).toEqual(expected);
  });
});
