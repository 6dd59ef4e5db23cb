/**
 * `npm run bench [-- --only name,name] [--duration seconds] [--connections n]`
 *
 * Runs the benchmark scenarios against servers in child processes and prints each figure with
 * its ratio to a bare node:http server measured in the same run. Results are also written to
 * .bench/results.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { BENCH_DIR, ROOT, benchDataDir, runAutocannon, startProcess, type BenchContext, type ScenarioResult } from './harness.js';
import { enforcementCost, tokenEndpoint } from './scenarios/auth.js';
import { bare, ingest, readAndCreate } from './scenarios/core.js';
import { searchAtScale } from './scenarios/search.js';
import { exportAtScale } from './scenarios/export.js';
import { xmlFormat } from './scenarios/xml.js';
import { profileValidation } from './scenarios/profiles.js';
import { packagesAndTerminology } from './scenarios/packages.js';
import { subscriptionsUnderLoad } from './scenarios/subscriptions.js';

/** Every scenario, in run order (the baseline first). Later features add theirs here. */
const SCENARIOS: Record<string, (ctx: BenchContext) => Promise<ScenarioResult[]>> = {
  bare,
  'read-create': readAndCreate,
  xml: xmlFormat,
  ingest,
  'search-1m': searchAtScale,
  export: exportAtScale,
  'token-endpoint': tokenEndpoint,
  enforcement: enforcementCost,
  profiles: profileValidation,
  packages: packagesAndTerminology,
  subscriptions: subscriptionsUnderLoad,
};

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      only: { type: 'string' },
      duration: { type: 'string', default: '10' },
      connections: { type: 'string', default: '50' },
    },
  });
  const only = values.only?.split(',');
  let serverCount = 0;
  const ctx: BenchContext = {
    duration: Number(values.duration),
    connections: Number(values.connections),
    startBedside: (env = {}) => startProcess(path.join(ROOT, 'src/main.ts'), { DATA_DIR: benchDataDir(`run-${process.pid}-${serverCount++}`), ...env }),
    startBare: () => startProcess(path.join(ROOT, 'bench/bare-server.ts'), {}, '/'),
    load: (options) => runAutocannon({ connections: ctx.connections, duration: ctx.duration, ...options }),
  };
  const results: ScenarioResult[] = [];
  for (const [name, scenario] of Object.entries(SCENARIOS)) {
    if (only && name !== 'bare' && !only.includes(name)) continue;
    process.stderr.write(`running ${name} ...\n`);
    for (const r of await scenario(ctx)) {
      results.push(r);
      process.stderr.write(`  ${format(r)}\n`);
    }
  }
  process.stdout.write(`\nBedside benchmarks (${ctx.connections} connections, ${ctx.duration} s per load, loopback, one run)\n`);
  for (const r of results) process.stdout.write(`${format(r)}\n`);
  mkdirSync(BENCH_DIR, { recursive: true });
  writeFileSync(path.join(BENCH_DIR, 'results.json'), JSON.stringify({ date: new Date().toISOString(), node: process.version, results }, null, 2));
}

function format(r: ScenarioResult): string {
  const ratio = r.ratioToBare === undefined ? '' : `  (${r.ratioToBare.toFixed(2)} of bare)`;
  return `${r.name.padEnd(58)} ${String(r.value).padStart(9)} ${r.unit}${ratio}${r.detail ? `  ${r.detail}` : ''}`;
}

main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
