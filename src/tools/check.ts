/**
 * `npm run check`: the integrity check of the configured store (DATA_DIR or MONGODB_URI).
 * Verifies current versions against history and index rows against resource content; exits 1
 * and lists the problems when there are any. Safe to run while the server runs. Index rows are
 * compared with those of the search parameters in force: R4's and the installed packages'.
 */
import { loadConfig } from '../config.js';
import { createLogger } from '../log.js';
import { Packages } from '../packages/service.js';
import { openStorage } from '../storage/open.js';

export async function runCheck(env: NodeJS.ProcessEnv): Promise<number> {
  const config = loadConfig({ ...env, LOG_LEVEL: env.LOG_LEVEL ?? 'warn' });
  const storage = await openStorage(config.storage);
  try {
    const packages = new Packages({
      resources: storage.resources,
      documents: storage.documents,
      fhirBaseUrl: config.fhirBaseUrl,
      logger: createLogger('silent'),
    });
    await packages.refresh();
    const started = Date.now();
    const report = await storage.resources.verifyIntegrity({ reindex: (resource) => packages.index(resource) });
    process.stdout.write(
      `Checked ${storage.description}: ${report.resources} resources, ${report.versions} versions, ${report.indexRows} index rows in ${((Date.now() - started) / 1000).toFixed(1)} s: ${report.problems.length} problems\n`,
    );
    for (const p of report.problems) process.stdout.write(`  ${p.resource}: ${p.problem}\n`);
    return report.problems.length ? 1 : 0;
  } finally {
    await storage.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  // No process.exit: the check leaves nothing running, so the process ends by itself.
  runCheck(process.env).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`${(error as Error).message}\n`);
      process.exitCode = 1;
    },
  );
}
