/**
 * Upgrading an embedded database written before full-text and position rows (schema 1): on
 * start the schema moves to 2 (new tables, the reference target lookup in the index schema's
 * order), every stored resource is reindexed before the server answers, `_content` finds what
 * was stored before, the integrity check is clean, and the next start does not reindex again.
 */
import Database from 'better-sqlite3';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { extractIndex, INDEX_VERSION } from '../../../src/search/extract.js';
import { SCHEMA_VERSION } from '../../../src/storage/sqlite/schema.js';
import { startTestServer, tempDir } from '../../support/server.js';
import { backendClient } from '../../support/tokens.js';

const ROOT = path.resolve(import.meta.dirname, '../../..');
const dataDir = tempDir('bedside-upgrade-');
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

/** Turns the database back into what schema 1 had: no full-text, position or state tables. */
function downgradeToSchema1(file: string): void {
  const db = new Database(file);
  db.exec(`
    DROP TRIGGER idx_text_added; DROP TRIGGER idx_text_removed;
    DROP TABLE fts_text; DROP TABLE idx_text; DROP TABLE idx_position; DROP TABLE store_state;
    DROP INDEX idx_reference_target; CREATE INDEX idx_reference_target ON idx_reference(target_id, target_type);
    PRAGMA user_version = 1;
  `);
  db.close();
}

async function contentSearch(fhirUrl: string, token: string, query: string): Promise<string[]> {
  const response = await fetch(`${fhirUrl}/${query}`, { headers: { authorization: `Bearer ${token}` } });
  expect(response.status).toBe(200);
  const bundle = (await response.json()) as { entry?: Array<{ resource: { id: string } }> };
  return (bundle.entry ?? []).map((e) => e.resource.id).sort();
}

describe('an embedded database from before full-text search', () => {
  it('is reindexed once, on the first start, and then answers _content, _text and near', async () => {
    const seedFiles = [
      path.join(ROOT, 'fhir-data/shared.json'),
      path.join(ROOT, 'fhir-data/patients/patient-001.json'),
      path.join(ROOT, 'fhir-data/patients/patient-002.json'),
    ];
    const first = await startTestServer({ dataDir, seedFiles });
    const stored = await first.bedside.storage.resources.countByType();
    await first.stop();
    downgradeToSchema1(path.join(dataDir, 'bedside.db'));

    const upgraded = await startTestServer({ dataDir });
    try {
      const store = upgraded.bedside.storage.resources;
      expect(await store.indexVersion()).toBe(INDEX_VERSION);
      expect(await store.countByType()).toEqual(stored);
      const token = await (await backendClient(upgraded.baseUrl, 'system/*.rs')).token();
      expect(await contentSearch(upgraded.fhirUrl, token, 'Patient?_content=amy shaw quincy')).toEqual(['patient-001']);
      expect(await contentSearch(upgraded.fhirUrl, token, 'Organization?_content=%22Bedside General Hospital%22')).toEqual(['bedside-general']);
      expect(await contentSearch(upgraded.fhirUrl, token, 'Condition?_text=diabetes&patient=patient-001')).not.toEqual([]);
      expect(await contentSearch(upgraded.fhirUrl, token, 'Location?near=42.3626|-71.0691|1|km')).toEqual([
        'bedside-general-clinic',
        'bedside-general-ed',
        'bedside-general-pediatrics',
        'bedside-general-ward',
      ]);
      const report = await store.verifyIntegrity({ reindex: (r) => extractIndex(r, { baseUrl: upgraded.config.fhirBaseUrl }) });
      expect(report.problems).toEqual([]);
    } finally {
      await upgraded.stop();
    }

    const db = new Database(path.join(dataDir, 'bedside.db'));
    expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    expect((db.pragma('index_info(idx_reference_target)') as Array<{ name: string }>).map((c) => c.name)).toEqual(['target_type', 'target_id']);
    // Rows written by the reindex are plain rows: drop one, and a start with the current version leaves it missing.
    db.prepare("DELETE FROM idx_text WHERE rid = (SELECT rid FROM resources WHERE type = 'Organization' AND id = 'bedside-general')").run();
    db.close();
    const again = await startTestServer({ dataDir });
    try {
      const token = await (await backendClient(again.baseUrl, 'system/*.rs')).token();
      expect(await contentSearch(again.fhirUrl, token, 'Organization?_content=%22Bedside General Hospital%22')).toEqual([]);
    } finally {
      await again.stop();
    }
  }, 180_000);
});
