/**
 * `npm run generate -- [--patients N] [--seed S] [--out DIR] [--format bundles|ndjson] [--today YYYY-MM-DD]`
 *
 * Writes deterministic FHIR R4 sample data. With no arguments it regenerates the committed
 * fhir-data/ folder (12 patients, seed "bedside", today 2026-01-01, transaction bundles).
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { DEFAULT_OPTIONS, writeSampleData, type OutputFormat, type WriteSummary } from '../sample-data/index.js';

const DEFAULT_OUT = fileURLToPath(new URL('../../fhir-data/', import.meta.url));

const USAGE = `Usage: npm run generate -- [options]

  --patients N        number of patients (default ${DEFAULT_OPTIONS.patients})
  --seed S            any string; same seed and options give identical files (default "${DEFAULT_OPTIONS.seed}")
  --out DIR           output folder (default: the repository's fhir-data/)
  --format F          bundles: shared.json + patients/<id>.json transaction bundles (default)
                      ndjson:  one <ResourceType>.ndjson file per type
  --today YYYY-MM-DD  reference date; every record lies before it (default ${DEFAULT_OPTIONS.today})
  -h, --help          show this help`;

class UsageError extends Error {}

interface CliOptions {
  readonly patients: number;
  readonly seed: string;
  readonly today: string;
  readonly outDir: string;
  readonly format: OutputFormat;
}

function parseCli(argv: readonly string[]): CliOptions | 'help' {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      options: {
        patients: { type: 'string' },
        seed: { type: 'string' },
        out: { type: 'string' },
        format: { type: 'string' },
        today: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const { values } = parsed;
  if (values.help) return 'help';
  const patients = values.patients === undefined ? DEFAULT_OPTIONS.patients : Number(values.patients);
  if (!/^\d+$/.test(values.patients ?? '1')) throw new UsageError(`--patients must be a whole number, got "${values.patients}"`);
  const format = values.format ?? 'bundles';
  if (format !== 'bundles' && format !== 'ndjson') throw new UsageError(`--format must be bundles or ndjson, got "${format}"`);
  return {
    patients,
    seed: values.seed ?? DEFAULT_OPTIONS.seed,
    today: values.today ?? DEFAULT_OPTIONS.today,
    outDir: values.out === undefined ? DEFAULT_OUT : path.resolve(values.out),
    format,
  };
}

function formatSummary(cli: CliOptions, summary: WriteSummary, seconds: number): string {
  const number = (n: number): string => n.toLocaleString('en-US');
  const width = Math.max(...Object.keys(summary.counts).map((t) => t.length), 'total'.length);
  const rows = Object.entries(summary.counts).map(([type, n]) => `  ${type.padEnd(width)}  ${number(n).padStart(10)}`);
  const rate = seconds > 0 ? Math.round(summary.total / seconds) : summary.total;
  return [
    `Generated ${number(cli.patients)} patients (seed "${cli.seed}", today ${cli.today}) as ${cli.format} into ${cli.outDir}`,
    ...rows,
    `  ${'total'.padEnd(width)}  ${number(summary.total).padStart(10)} resources`,
    `${number(summary.files.length)} files, ${(summary.bytes / 1_048_576).toFixed(1)} MB, ` + `${seconds.toFixed(2)} s, ${number(rate)} resources/s`,
  ].join('\n');
}

async function main(argv: readonly string[]): Promise<number> {
  try {
    const cli = parseCli(argv);
    if (cli === 'help') {
      console.log(USAGE);
      return 0;
    }
    const started = performance.now();
    const summary = await writeSampleData({ patients: cli.patients, seed: cli.seed, today: cli.today }, { outDir: cli.outDir, format: cli.format });
    console.log(formatSummary(cli, summary, (performance.now() - started) / 1000));
    return 0;
  } catch (error) {
    if (error instanceof UsageError || error instanceof RangeError) {
      console.error(`generate: ${error.message}\n\n${USAGE}`);
      return 2;
    }
    throw error;
  }
}

process.exitCode = await main(process.argv.slice(2));
