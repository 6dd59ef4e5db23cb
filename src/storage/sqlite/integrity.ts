/**
 * Integrity check of the embedded store: every current version points at its own history row,
 * history is contiguous (1..n) for every resource, deletion flags agree with the history, and
 * the index rows of every live resource are exactly those its content gives (no missing, no
 * extra, none left for deleted or unknown resources).
 */
import type { Resource } from 'fhir/r4';
import type { IntegrityOptions, IntegrityReport } from '../resource-store.js';
import { INDEX_TABLES as TABLES } from '../index-schema.js';
import type { Connection } from './database.js';
import { columnValues, INDEX_COLUMNS } from './schema.js';

const MAX_PROBLEMS = 1000;

export function verifySqliteIntegrity(db: Connection, options: IntegrityOptions): IntegrityReport {
  const report: IntegrityReport = { resources: 0, versions: 0, indexRows: 0, problems: [] };
  const problem = (resource: string, text: string) => {
    if (report.problems.length < MAX_PROBLEMS) report.problems.push({ resource, problem: text });
  };

  // Current versions against history.
  for (const row of db
    .prepare(
      'SELECT r.rid, r.type, r.id, r.version, r.deleted, v.rid AS vrid, v.version AS vversion, v.json IS NULL AS vdeleted FROM resources r LEFT JOIN versions v ON v.vid = r.vid',
    )
    .iterate() as Iterable<{
    rid: number;
    type: string;
    id: string;
    version: number;
    deleted: number;
    vrid: number | null;
    vversion: number | null;
    vdeleted: number | null;
  }>) {
    report.resources++;
    const name = `${row.type}/${row.id}`;
    if (row.vrid === null) problem(name, `current version ${row.version} has no history row`);
    else if (row.vrid !== row.rid || row.vversion !== row.version)
      problem(name, `current version ${row.version} points at history row of version ${row.vversion}`);
    else if (Boolean(row.vdeleted) !== Boolean(row.deleted))
      problem(name, `deleted flag (${row.deleted}) disagrees with the history (${row.vdeleted ? 'deleted' : 'live'})`);
  }
  for (const row of db
    .prepare(
      'SELECT r.type, r.id, r.version, count(v.vid) AS n, min(v.version) AS lo, max(v.version) AS hi FROM resources r LEFT JOIN versions v ON v.rid = r.rid GROUP BY r.rid',
    )
    .iterate() as Iterable<{ type: string; id: string; version: number; n: number; lo: number; hi: number }>) {
    report.versions += row.n;
    if (row.n !== row.version || row.lo !== 1 || row.hi !== row.version)
      problem(`${row.type}/${row.id}`, `history is not contiguous: ${row.n} versions from ${row.lo} to ${row.hi}, current ${row.version}`);
  }
  const orphanVersions = (db.prepare('SELECT count(*) AS n FROM versions v LEFT JOIN resources r ON r.rid = v.rid WHERE r.rid IS NULL').get() as { n: number })
    .n;
  if (orphanVersions) problem('(versions)', `${orphanVersions} history rows belong to no resource`);

  // Index rows: none for deleted or unknown resources; exactly the recomputed ones for live ones.
  const params = new Map((db.prepare('SELECT pk, code FROM params').all() as Array<{ pk: number; code: string }>).map((p) => [p.pk, p.code]));
  for (const table of TABLES) {
    const stray = (
      db.prepare(`SELECT count(*) AS n FROM idx_${table} x LEFT JOIN resources r ON r.rid = x.rid WHERE r.rid IS NULL OR r.deleted = 1`).get() as { n: number }
    ).n;
    if (stray) problem(`(idx_${table})`, `${stray} index rows belong to deleted or unknown resources`);
  }
  const stored = TABLES.map((table) => ({
    table,
    statement: db.prepare(`SELECT pk, ${INDEX_COLUMNS[table].join(', ')} FROM idx_${table} WHERE rid = ?`),
  }));
  for (const row of db
    .prepare('SELECT r.rid, r.type, r.id, v.json FROM resources r JOIN versions v ON v.vid = r.vid WHERE r.deleted = 0')
    .iterate() as Iterable<{ rid: number; type: string; id: string; json: string }>) {
    const name = `${row.type}/${row.id}`;
    const expected = new Map<string, number>();
    for (const entry of options.reindex(JSON.parse(row.json) as Resource)) {
      const key = `${entry.table}|${entry.param}|${JSON.stringify(columnValues(entry))}`;
      expected.set(key, (expected.get(key) ?? 0) + 1);
    }
    const actual = new Map<string, number>();
    for (const { table, statement } of stored) {
      for (const stored of statement.all(row.rid) as Array<Record<string, string | number | null>>) {
        report.indexRows++;
        const values = INDEX_COLUMNS[table].map((c) => stored[c] ?? null);
        const key = `${table}|${params.get(stored.pk as number) ?? `#${stored.pk}`}|${JSON.stringify(values)}`;
        actual.set(key, (actual.get(key) ?? 0) + 1);
      }
    }
    const missing = [...expected].filter(([k, n]) => (actual.get(k) ?? 0) < n).map(([k]) => k);
    const extra = [...actual].filter(([k, n]) => (expected.get(k) ?? 0) < n).map(([k]) => k);
    if (missing.length || extra.length) {
      problem(
        name,
        `index rows differ from the content: ${missing.length} missing${missing.length ? ` (${missing.slice(0, 3).join('; ')})` : ''}, ${extra.length} extra${extra.length ? ` (${extra.slice(0, 3).join('; ')})` : ''}`,
      );
    }
  }
  const check = db.pragma('quick_check', { simple: true });
  if (check !== 'ok') problem('(database)', `SQLite quick_check: ${String(check)}`);
  return report;
}
