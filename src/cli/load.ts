/**
 * `bedside load` and `npm run load -- [--url <FHIR base>] [--token <bearer>] [--concurrency N] [--chunk N] <files or folders>`
 *
 * Loads transaction, batch and collection Bundles and NDJSON files. With --url it POSTs
 * transaction Bundles to a running FHIR server; without, it writes to the store configured by
 * the environment (DATA_DIR or MONGODB_URI) through Bedside's FHIR core in-process, which works
 * while the server runs too. Either way every resource is validated and indexed.
 */
import { parseArgs } from 'node:util';
import { loadConfig } from '../config.js';
import { createFhirCore, type FhirCore } from '../fhir-core.js';
import { inProcessSink } from '../ingest/in-process-sink.js';
import { reindexIfOutdated } from '../ingest/reindex.js';
import { formatProgress, httpSink, load, type BundleSink, type LoadSummary } from '../ingest/loader.js';
import { createLogger, resolveLogFormat } from '../log.js';
import { openStorage, type Storage } from '../storage/open.js';
import type { CliIo } from './io.js';

export async function runLoad(argv: string[], io: CliIo): Promise<number> {
  const { env } = io;
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      url: { type: 'string' },
      token: { type: 'string' },
      concurrency: { type: 'string', default: '1' },
      chunk: { type: 'string', default: '1000' },
      quiet: { type: 'boolean', default: false },
      lenient: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help || positionals.length === 0) {
    io.out(
      'Usage: npm run load -- [--url http://localhost:8080/fhir] [--token TOKEN] [--concurrency N] [--chunk N] [--lenient] <files or folders>\n' +
        'Loads FHIR Bundles (.json) and NDJSON (.ndjson). Without --url, writes to the store of DATA_DIR / MONGODB_URI directly.\n' +
        '--lenient removes elements that are not R4 (and lists them) instead of rejecting their Bundle.\n',
    );
    return values.help ? 0 : 2;
  }
  let storage: Storage | undefined;
  let core: FhirCore | undefined;
  let sink: BundleSink;
  if (values.url) {
    sink = httpSink(values.url, values.token ?? env.BEDSIDE_TOKEN);
  } else {
    const config = loadConfig({ ...env, LOG_LEVEL: env.LOG_LEVEL ?? 'warn' });
    storage = await openStorage(config.storage);
    const logger = createLogger(config.logLevel, { format: resolveLogFormat(config.logFormat, process.stdout.isTTY === true) });
    // The FHIR core only: no authorization server, nothing left running once it is closed.
    core = await createFhirCore({ config, storage, logger });
    // New rows are made by this version's extraction: older ones are remade first, as at start-up.
    await reindexIfOutdated({ resources: storage.resources, index: core.services.indexer, logger });
    sink = inProcessSink(core.api, core.services, core.access);
  }
  const tty = io.terminal === true && !values.quiet;
  let lastPrinted = 0;
  try {
    io.err(`Loading into ${sink.describe}\n`);
    const summary = await load({
      sink,
      paths: positionals,
      concurrency: Number(values.concurrency),
      chunkSize: Number(values.chunk),
      lenient: values.lenient,
      onProgress: (p) => {
        if (values.quiet) return;
        const now = Date.now();
        if (tty) io.err(`\r${formatProgress(p)}   `);
        else if (now - lastPrinted > 2000) {
          io.err(`${formatProgress(p)}\n`);
          lastPrinted = now;
        }
      },
    });
    if (tty) io.err('\n');
    io.out(formatSummary(summary));
    return summary.failures.length ? 1 : 0;
  } finally {
    await core?.close();
    await storage?.close();
  }
}

export function formatSummary(summary: LoadSummary): string {
  const total = Object.values(summary.written).reduce((a, b) => a + b, 0);
  const lines = [
    `Loaded ${total} resources from ${summary.files} files in ${(summary.elapsedMs / 1000).toFixed(1)} s (${summary.resourcesPerSecond} resources/s)`,
    ...Object.entries(summary.written)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([type, n]) => `  ${type.padEnd(28)} ${n}`),
  ];
  if (summary.duplicates) lines.push(`Skipped ${summary.duplicates} repeated resources (same id and content as one already loaded)`);
  if (summary.skipped) lines.push(`Ignored ${summary.skipped} entries that do not write a resource`);
  for (const file of summary.notFhir) lines.push(`Skipped ${file}: not FHIR`);
  lines.push(...formatStripped(summary.stripped));
  for (const failure of summary.failures) lines.push(`FAILED ${failure.file}: ${failure.message}`);
  return `${lines.join('\n')}\n`;
}

/**
 * What --lenient removed, one line per element path with the resources it was removed from
 * (the first five), so a data set repeating one mistake stays readable.
 */
function formatStripped(stripped: string[]): string[] {
  const byPath = new Map<string, string[]>();
  for (const item of stripped) {
    const [resource = '', path = ''] = item.split(': ');
    byPath.set(path, [...(byPath.get(path) ?? []), resource]);
  }
  return [...byPath].map(([path, resources]) => {
    const shown = resources.slice(0, 5).join(', ');
    const more = resources.length > 5 ? ` and ${resources.length - 5} more` : '';
    return `Removed a non-R4 element (--lenient): ${path} from ${shown}${more}`;
  });
}
