/**
 * First-start seeding: an empty store gets the sample data of fhir-data/ (BEDSIDE_SEED=false
 * turns it off). A store that holds anything is left alone, so restarts never duplicate data.
 */
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { AUTH_SEED_FILES } from '../auth/accounts/seed.js';
import type { App } from '../app.js';
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import type { Storage } from '../storage/open.js';
import { inProcessSink } from './in-process-sink.js';
import { load } from './loader.js';

export async function seedIfEmpty(options: { config: Config; storage: Storage; app: App; logger: Logger }): Promise<void> {
  await seedResourcesIfEmpty(options);
  // Sample users and clients (idempotent), after the resources their fhirUser points at.
  if (existsSync(options.config.seedDir)) await options.app.auth.seed(options.config.seedDir);
}

async function seedResourcesIfEmpty({ config, storage, app, logger }: { config: Config; storage: Storage; app: App; logger: Logger }): Promise<void> {
  const counts = await storage.resources.countByType();
  if (Object.keys(counts).length > 0) return;
  if (!existsSync(config.seedDir)) {
    logger.warn({ seedDir: config.seedDir }, 'sample data folder not found; starting with an empty store');
    return;
  }
  // accounts.json and clients.json are not FHIR: the authorization server seeds them (seedIfEmpty).
  const paths = readdirSync(config.seedDir)
    .filter((name) => !(AUTH_SEED_FILES as readonly string[]).includes(name))
    .map((name) => path.join(config.seedDir, name));
  const summary = await load({ sink: inProcessSink(app.fhir.api, app.fhir.services, app.fhir.access), paths });
  if (summary.failures.length) {
    logger.error({ failures: summary.failures }, 'some sample data could not be loaded');
  }
  const total = Object.values(summary.written).reduce((a, b) => a + b, 0);
  logger.info({ resources: total, ms: summary.elapsedMs }, 'sample data loaded');
}
