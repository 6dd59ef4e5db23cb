/**
 * Integrity check of the MongoDB store, the same checks as the embedded store's
 * (sqlite/integrity.ts): current versions agree with history (contiguous 1..n, the same
 * deletion flag), deleted resources carry no index rows, and the rows of every live resource
 * are exactly those its content gives. Streams the collections; bounded memory.
 */
import type { Resource } from 'fhir/r4';
import type { Collection } from 'mongodb';
import type { IntegrityOptions, IntegrityReport } from '../resource-store.js';
import { INDEX_TABLES as TABLES, type IndexTable } from '../index-schema.js';
import { indexFields, type HistoryDoc, type IndexRow, type ResourceDoc } from './documents.js';
const MAX_PROBLEMS = 1000;

export async function verifyMongoIntegrity(
  resources: Collection<ResourceDoc>,
  history: Collection<HistoryDoc>,
  options: IntegrityOptions,
): Promise<IntegrityReport> {
  const report: IntegrityReport = { resources: 0, versions: 0, indexRows: 0, problems: [] };
  const problem = (resource: string, text: string) => {
    if (report.problems.length < MAX_PROBLEMS) report.problems.push({ resource, problem: text });
  };
  // Canonical text of a row set, so the stored and the recomputed can be compared as multisets.
  const rowKeys = (doc: Partial<Record<`ix_${IndexTable}`, IndexRow[]>>): Map<string, number> => {
    const keys = new Map<string, number>();
    for (const table of TABLES) {
      for (const row of doc[`ix_${table}`] ?? []) {
        const key = `${table}|${JSON.stringify(
          Object.keys(row)
            .sort()
            .map((k) => [k, row[k]]),
        )}`;
        keys.set(key, (keys.get(key) ?? 0) + 1);
      }
    }
    return keys;
  };

  for await (const doc of resources.find({ versionId: { $gt: 0 } }).sort({ _id: 1 })) {
    report.resources++;
    const name = `${doc.resourceType}/${doc.id}`;
    const versions = await history
      .find({ resourceType: doc.resourceType, id: doc.id }, { projection: { versionId: 1, deleted: 1 } })
      .sort({ versionId: 1 })
      .toArray();
    report.versions += versions.length;
    const numbers = versions.map((v) => v.versionId);
    if (numbers.length !== doc.versionId || numbers.some((n, i) => n !== i + 1)) {
      problem(name, `history is not contiguous: versions ${numbers.join(',') || 'none'}, current ${doc.versionId}`);
    }
    const latest = versions[versions.length - 1];
    if (latest && latest.deleted !== doc.deleted)
      problem(name, `deleted flag (${doc.deleted}) disagrees with the history (${latest.deleted ? 'deleted' : 'live'})`);
    const stored = rowKeys(doc);
    for (const n of stored.values()) report.indexRows += n;
    if (doc.deleted) {
      if (stored.size) problem(name, 'a deleted resource still has index rows');
      continue;
    }
    if (doc.json === null) {
      problem(name, 'a live resource has no content');
      continue;
    }
    const expected = rowKeys(indexFields(options.reindex(JSON.parse(doc.json) as Resource)));
    const missing = [...expected].filter(([k, n]) => (stored.get(k) ?? 0) < n).map(([k]) => k);
    const extra = [...stored].filter(([k, n]) => (expected.get(k) ?? 0) < n).map(([k]) => k);
    if (missing.length || extra.length) {
      problem(
        name,
        `index rows differ from the content: ${missing.length} missing${missing.length ? ` (${missing.slice(0, 3).join('; ')})` : ''}, ${extra.length} extra${extra.length ? ` (${extra.slice(0, 3).join('; ')})` : ''}`,
      );
    }
  }
  // History rows of resources that do not exist.
  const orphans = await history
    .aggregate<{ n: number }>([
      {
        $lookup: {
          from: resources.collectionName,
          let: { t: '$resourceType', i: '$id' },
          pipeline: [{ $match: { $expr: { $and: [{ $eq: ['$resourceType', '$$t'] }, { $eq: ['$id', '$$i'] }] } } }, { $limit: 1 }],
          as: 'current',
        },
      },
      { $match: { current: { $size: 0 } } },
      { $count: 'n' },
    ])
    .toArray()
    .catch(() => [] as Array<{ n: number }>);
  if (orphans[0]?.n) problem('(history)', `${orphans[0].n} history versions belong to no resource`);
  return report;
}
