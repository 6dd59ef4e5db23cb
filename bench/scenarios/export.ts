/**
 * Bulk Data export at scale on the embedded store: a system-level `$export` of the generated
 * data set of the search scenario (about 1.2 million resources, 10,000 patients; loaded once into
 * .bench/ and shared), by a real backend-services client. Reports resources per second from
 * kick-off to manifest, the server's memory above idle while exporting (sampled from /proc), API
 * latency while the export runs against the same requests before it, and download throughput.
 */
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { backendClient } from '../../test/support/tokens.js';
import { BENCH_DIR, ROOT, percentile, startProcess, type BenchContext, type ScenarioResult } from '../harness.js';
import { DB_DIR, PATIENTS, ensureDataSet, patientId } from './search.js';

const EXPORT_DIR = path.join(BENCH_DIR, `export-files-${process.pid}`);
const MB = 1024 * 1024;

/** Allocated (RssAnon) and whole resident memory of a process, bytes. */
function memory(pid: number): { anon: number; total: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name: string) => Number(new RegExp(`${name}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0) * 1024;
  return { anon: field('RssAnon'), total: field('VmRSS') };
}

/** Sequential requests until `until()` says stop (or `max` requests): their latencies, ms. */
async function probe(requests: Array<() => string>, headers: Record<string, string>, until: () => boolean, max = 2000): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < max && !until(); i++) {
    const url = requests[i % requests.length]!();
    const started = performance.now();
    const response = await fetch(url, { headers });
    await response.arrayBuffer();
    if (response.status !== 200) throw new Error(`${url} answered ${response.status}`);
    times.push(performance.now() - started);
  }
  return times;
}

/** Kick-off, then polls every 100 ms until the manifest; the time between the two. */
async function timedExport(fhir: string, auth: Record<string, string>, operation: string) {
  const started = performance.now();
  const kickOff = await fetch(`${fhir}/${operation}`, { headers: { ...auth, prefer: 'respond-async', accept: 'application/fhir+json' } });
  if (kickOff.status !== 202) throw new Error(`kick-off answered ${kickOff.status}: ${await kickOff.text()}`);
  await kickOff.arrayBuffer();
  const statusUrl = kickOff.headers.get('content-location')!;
  for (;;) {
    const response = await fetch(statusUrl, { headers: auth });
    if (response.status === 200) {
      const ms = performance.now() - started;
      const manifest = (await response.json()) as { output: Array<{ url: string; count: number }> };
      return { statusUrl, manifest, ms, resources: manifest.output.reduce((n, f) => n + f.count, 0) };
    }
    if (response.status !== 202) throw new Error(`status answered ${response.status}: ${await response.text()}`);
    await response.arrayBuffer();
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function exportAtScale(ctx: BenchContext): Promise<ScenarioResult[]> {
  ensureDataSet();
  const server = await startProcess(path.join(ROOT, 'src/main.ts'), { DATA_DIR: DB_DIR, BEDSIDE_SEED: 'false', EXPORT_DIR, EXPORT_FILE_TTL: '600' });
  try {
    const baseUrl = server.url.replace('127.0.0.1', 'localhost');
    const fhir = `${baseUrl}/fhir`;
    const token = await (await backendClient(baseUrl, 'system/*.rs')).token();
    const auth = { authorization: `Bearer ${token}` };
    const pid = server.child.pid!;
    let seed = 11;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const patient = () => patientId(1 + Math.floor(random() * PATIENTS));
    const requests = [() => `${fhir}/Patient/${patient()}`, () => `${fhir}/Observation?patient=${patient()}&code=http://loinc.org|8867-4`];

    // Idle: warmed up, then the same requests the export will compete with.
    await probe(requests, auth, () => false, 100);
    const before = await probe(requests, auth, () => false, 400);
    const idle = memory(pid);

    // 1. The export alone, twice: first with the database file as the OS cache has it (often
    // cold: a 4 GB file read from disk), then again with it cached, which measures the exporter.
    const first = await timedExport(fhir, auth, '$export');
    await (await fetch(first.statusUrl, { method: 'DELETE', headers: auth })).arrayBuffer();
    const peak = { ...idle };
    const sampler = setInterval(() => {
      const now = memory(pid);
      peak.anon = Math.max(peak.anon, now.anon);
      peak.total = Math.max(peak.total, now.total);
    }, 50);
    const alone = await timedExport(fhir, auth, '$export');
    clearInterval(sampler);

    const downloadStarted = performance.now();
    let bytes = 0;
    for (const file of alone.manifest.output) {
      const response = await fetch(file.url, { headers: auth });
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) bytes += chunk.length;
    }
    const downloadSeconds = (performance.now() - downloadStarted) / 1000;
    await (await fetch(alone.statusUrl, { method: 'DELETE', headers: auth })).arrayBuffer();

    // 2. The API while an export runs: the same requests as before, one after another.
    let done = false;
    const competing = timedExport(fhir, auth, '$export?_type=Observation').finally(() => (done = true));
    const during = await probe(requests, auth, () => done, 1_000_000);
    const observations = await competing;
    await (await fetch(observations.statusUrl, { method: 'DELETE', headers: auth })).arrayBuffer();
    void ctx;

    const resources = alone.resources;
    const elapsed = alone.ms;
    const latency = (times: number[]) => `p50 ${percentile(times, 50).toFixed(1)} ms, p99 ${percentile(times, 99).toFixed(1)} ms`;
    return [
      {
        name: `export ${first.resources} resources, first run (file as the OS cache had it)`,
        value: Math.round(first.resources / (first.ms / 1000)),
        unit: 'resources/s',
        detail: `${(first.ms / 1000).toFixed(1)} s kick-off to manifest; includes reading the database file from disk when it was not cached`,
      },
      {
        name: `export ${resources} resources (system $export, embedded store, file cached)`,
        value: Math.round(resources / (elapsed / 1000)),
        unit: 'resources/s',
        detail: `${(elapsed / 1000).toFixed(1)} s kick-off to manifest, ${alone.manifest.output.length} files, ${(bytes / MB).toFixed(0)} MB, target 50000/s ${resources / (elapsed / 1000) >= 50_000 ? 'met' : 'MISSED'}`,
      },
      {
        name: 'export peak memory above idle (allocated, RssAnon)',
        value: Math.round((peak.anon - idle.anon) / MB),
        unit: 'MB',
        detail: `idle ${(idle.anon / MB).toFixed(0)} MB; whole RSS ${(idle.total / MB).toFixed(0)} -> ${(peak.total / MB).toFixed(0)} MB incl. SQLite's mmap of the database file`,
      },
      {
        name: 'API latency during export (read + search, sequential)',
        value: Number(percentile(during, 99).toFixed(1)),
        unit: 'ms p99',
        detail: `${latency(during)} over ${during.length} requests while exporting ${observations.resources} Observations (${Math.round(observations.resources / (observations.ms / 1000))}/s); before the export ${latency(before)}`,
      },
      {
        name: 'download export files',
        value: Math.round(bytes / MB / downloadSeconds),
        unit: 'MB/s',
        detail: `${(bytes / MB).toFixed(0)} MB in ${downloadSeconds.toFixed(1)} s`,
      },
    ];
  } finally {
    await server.stop();
    rmSync(EXPORT_DIR, { recursive: true, force: true });
  }
}
