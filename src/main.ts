/**
 * The only module that reads the process environment: load the config, start Bedside, stop it
 * on SIGTERM/SIGINT (finish in-flight requests, close the store, exit 0).
 */
import { startBedside } from './bedside.js';
import { ConfigError, loadConfig } from './config.js';
import { StartupError } from './folders.js';
import { createLogger, resolveLogFormat } from './log.js';
import { PackageError } from './packages/errors.js';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  const logger = createLogger(config.logLevel, { format: resolveLogFormat(config.logFormat, process.stdout.isTTY === true) });
  let bedside;
  try {
    bedside = await startBedside(config, logger);
  } catch (error) {
    // The operator's to fix (a folder the server's user cannot write): one line, no stack trace.
    if (error instanceof StartupError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
  const shutdown = (signal: string) => {
    logger.info({ signal }, 'shutting down');
    bedside.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'error during shutdown');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
}

main().catch((error: unknown) => {
  if (error instanceof PackageError) {
    process.stderr.write(`Bedside failed to start: FHIR_PACKAGES: ${error.message}\n`);
    process.exit(2);
  }
  process.stderr.write(`Bedside failed to start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
