/**
 * An export of more than 100,000 generated resources runs in bounded memory: Bedside runs as its
 * own process (test/support/process.ts) and its resident memory is sampled from /proc every 20 ms
 * while it exports and while the files are downloaded; the peak of what the process allocates
 * (RssAnon) must stay within 100 MB of the idle process. File pages that SQLite maps from the
 * database (mmap_size) are counted apart: they are the page cache, bounded by that setting. The data is generated with src/sample-data and written in-process through the store's
 * bulk path with the real index extraction (what the loader's sink ends in, without validation,
 * which costs most of the loading time and is not under test here).
 */
import { readFileSync, rmSync } from 'node:fs';
import type { Resource } from 'fhir/r4';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generatePatients, generateShared } from '../../../src/sample-data/index.js';
import { INDEX_VERSION } from '../../../src/search/extract.js';
import { extractIndex } from '../../../src/search/index.js';
import { openStorage } from '../../../src/storage/open.js';
import type { PutRequest } from '../../../src/storage/resource-store.js';
import { spawnBedside, type BedsideProcess } from '../../support/process.js';
import { freePort, tempDir } from '../../support/server.js';
import { backendClient } from '../../support/tokens.js';
import { pollStatus, runExport, startExport } from './support.js';

/** About 118 resources per generated patient: 850 patients give a little over 100,000. */
const PATIENTS = 850;
const MB = 1024 * 1024;

const dataDir = tempDir('bedside-large-export-');
let bedside: BedsideProcess;
let loaded = 0;

async function loadGenerated(): Promise<number> {
  const storage = await openStorage({ kind: 'embedded', dataDir });
  const baseUrl = 'http://localhost/fhir';
  let written = 0;
  const put = async (resources: Resource[]) => {
    await storage.resources.bulkPut(
      resources.map(
        (resource): PutRequest => ({
          resourceType: resource.resourceType,
          id: resource.id!,
          resource,
          index: extractIndex(resource, { baseUrl }),
          method: 'PUT',
        }),
      ),
    );
    written += resources.length;
  };
  try {
    await put(generateShared({ patients: PATIENTS }));
    let batch: Resource[] = [];
    for (const record of generatePatients({ patients: PATIENTS })) {
      batch.push(...record.resources);
      if (batch.length >= 5000) {
        await put(batch);
        batch = [];
      }
    }
    await put(batch);
    // Rows made by this version's extraction, as the loader stamps them: no start-up reindex.
    await storage.resources.setIndexVersion(INDEX_VERSION);
  } finally {
    await storage.close();
  }
  return written;
}

/**
 * Resident memory of a process (Linux /proc), in bytes: `anon` is what the process allocated
 * (V8 heap, buffers, SQLite's page cache); `file` is mapped file pages, here SQLite's memory map
 * of the database file (mmap_size, 256 MB), which the kernel can drop at any time.
 */
function memory(pid: number): { anon: number; file: number; total: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name: string) => Number(new RegExp(`${name}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0) * 1024;
  return { anon: field('RssAnon'), file: field('RssFile'), total: field('VmRSS') };
}

beforeAll(async () => {
  loaded = await loadGenerated();
  bedside = await spawnBedside({ PORT: String(await freePort()), DATA_DIR: dataDir, BEDSIDE_SEED: 'false', EXPORT_FILE_SIZE: '16mb' }, 60_000);
}, 150_000);

afterAll(async () => {
  if (bedside && bedside.child.exitCode === null) {
    bedside.child.kill('SIGTERM');
    await bedside.exited;
  }
  rmSync(dataDir, { recursive: true, force: true });
});

describe('a large export', () => {
  it(`exports over 100,000 resources within 100 MB of the idle process`, async () => {
    expect(loaded).toBeGreaterThan(100_000);
    const pid = bedside.child.pid!;
    const fhir = `${bedside.baseUrl}/fhir`;
    const token = await (await backendClient(bedside.baseUrl, 'system/*.rs')).token();

    // Warm up the code paths an export uses (kick-off, runner, download), then measure idle.
    const warm = await runExport(fhir, token, '$export', { query: { _type: 'Organization,Location' } });
    for (const file of warm.output) await (await fetch(file.url, { headers: { authorization: `Bearer ${token}` } })).text();
    await new Promise((r) => setTimeout(r, 1000));
    const idleSamples = [];
    for (let i = 0; i < 5; i++) {
      idleSamples.push(memory(pid));
      await new Promise((r) => setTimeout(r, 100));
    }
    const idle = { anon: Math.max(...idleSamples.map((m) => m.anon)), total: Math.max(...idleSamples.map((m) => m.total)) };

    const peak = { ...idle };
    const sampler = setInterval(() => {
      const now = memory(pid);
      peak.anon = Math.max(peak.anon, now.anon);
      peak.total = Math.max(peak.total, now.total);
    }, 20);
    const started = performance.now();
    let exportMs = 0;
    let downloaded = 0;
    let bytes = 0;
    try {
      const statusUrl = await startExport(fhir, token, '$export');
      const { manifest } = await pollStatus(statusUrl, token, 100_000);
      exportMs = performance.now() - started;
      expect(manifest.output.reduce((n, f) => n + f.count, 0)).toBe(loaded);
      // Download everything, streaming, counting lines.
      for (const file of manifest.output) {
        const response = await fetch(file.url, { headers: { authorization: `Bearer ${token}` } });
        expect(response.status).toBe(200);
        let lines = 0;
        for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
          bytes += chunk.length;
          for (const byte of chunk) if (byte === 10) lines++;
        }
        expect(lines).toBe(file.count);
        downloaded += lines;
      }
    } finally {
      clearInterval(sampler);
    }
    const growth = peak.anon - idle.anon;
    console.info(
      `exported ${loaded} resources (${(bytes / MB).toFixed(0)} MB of NDJSON) in ${(exportMs / 1000).toFixed(1)} s ` +
        `(${Math.round(loaded / (exportMs / 1000))} resources/s, kick-off to manifest); ` +
        `allocated memory (RssAnon) idle ${(idle.anon / MB).toFixed(0)} MB, peak ${(peak.anon / MB).toFixed(0)} MB (+${(growth / MB).toFixed(0)} MB); ` +
        `whole RSS idle ${(idle.total / MB).toFixed(0)} MB, peak ${(peak.total / MB).toFixed(0)} MB (with the database file's memory map)`,
    );
    expect(downloaded).toBe(loaded);
    expect(growth).toBeLessThan(100 * MB);
    // Mapped pages of the database file come on top, at most SQLite's mmap_size (storage/sqlite/database.ts).
    expect(peak.total - idle.total).toBeLessThan(100 * MB + 256 * MB);
  }, 120_000);
});
