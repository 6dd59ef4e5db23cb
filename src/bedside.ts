/**
 * Starting and stopping a Bedside server from a Config: check that its folders are writable,
 * open the storage, seed it, build the app, listen (HTTP, or HTTPS with TLS_CERT/TLS_KEY), and
 * stop gracefully. main.ts calls this with the environment's config; tests call it with their own.
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { createApp, type App } from './app.js';
import type { Config } from './config.js';
import { checkWritableFolders } from './folders.js';
import { reindexIfOutdated } from './ingest/reindex.js';
import { seedIfEmpty } from './ingest/seed.js';
import type { Logger } from './log.js';
import { openStorage, type Storage } from './storage/open.js';

export interface RunningBedside {
  config: Config;
  server: http.Server | https.Server;
  storage: Storage;
  app: App;
  /** The URL the server actually listens on (port resolved when PORT=0). */
  listenUrl: string;
  /** Stop accepting, finish in-flight requests (up to `graceMs`), close the store. */
  stop(graceMs?: number): Promise<void>;
}

/** FHIR_PACKAGES: installs (or finds installed) each package, then lists missing dependencies. */
async function installConfiguredPackages(app: App, config: Config, logger: Logger): Promise<void> {
  if (config.packages.length > 0) {
    for (const report of await app.packages.install(config.packages)) {
      logger.info(
        {
          package: `${report.package.name}#${report.package.version}`,
          status: report.status,
          resources: report.package.resources.length,
          written: report.written,
          ...(report.addedSearchParameters.length
            ? { addedSearchParameters: report.addedSearchParameters, reindexed: report.reindexed, reindexMs: report.reindexMs }
            : {}),
          ms: report.elapsedMs,
        },
        report.status === 'unchanged' ? 'FHIR package already installed' : 'FHIR package installed',
      );
    }
  }
  app.packages.logMissingDependencies();
}

export async function startBedside(config: Config, logger: Logger): Promise<RunningBedside> {
  checkWritableFolders([
    ...(config.storage.kind === 'embedded' ? [{ setting: 'DATA_DIR', dir: config.storage.dataDir }] : []),
    { setting: 'EXPORT_DIR', dir: config.export.dir },
  ]);
  const storage = await openStorage(config.storage);
  logger.info({ storage: storage.description }, 'storage open');
  try {
    const app = await createApp({ config, storage, logger });
    // Rows made by another version of the search layer are remade before any search runs.
    await reindexIfOutdated({ resources: storage.resources, index: app.fhir.services.indexer, logger });
    // Seeding looks for an empty store, so it goes first; a package's new search parameters
    // then reindex the sample data like any other data.
    if (config.seed) await seedIfEmpty({ config, storage, app, logger });
    await installConfiguredPackages(app, config, logger);
    const server = config.tls
      ? https.createServer({ cert: readFileSync(config.tls.certFile), key: readFileSync(config.tls.keyFile) }, app.listener)
      : http.createServer(app.listener);
    // Slow-loris and stuck clients: bound header and request time.
    server.headersTimeout = 20_000;
    server.requestTimeout = 120_000;
    server.keepAliveTimeout = 5_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.port, config.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    // Websockets (subscription notifications) share the server; any other upgrade is refused.
    server.on('upgrade', (req, socket, head) => {
      if (!app.subscriptions.upgrade(req, socket, head)) socket.destroy();
    });
    // Export jobs and subscription deliveries run on server nodes only (not in tools that build
    // the app, such as the loader).
    app.bulk.start();
    app.packages.start();
    app.subscriptions.start();
    const address = server.address() as AddressInfo;
    const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    const listenUrl = `${config.tls ? 'https' : 'http'}://${host}:${address.port}`;
    logger.info({ listen: listenUrl, baseUrl: config.baseUrl, fhir: config.fhirBaseUrl }, 'Bedside is ready');

    let stopping: Promise<void> | undefined;
    const stop = (graceMs = 10_000) =>
      (stopping ??= (async () => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        // Websockets are not HTTP connections the server closes: the subscriptions close them.
        const subscriptionsClosed = app.subscriptions.close();
        const timer = setTimeout(() => server.closeAllConnections(), graceMs);
        await subscriptionsClosed;
        await closed;
        clearTimeout(timer);
        await app.close();
        await storage.close();
        logger.info('Bedside stopped');
      })());
    return { config, server, storage, app, listenUrl, stop };
  } catch (error) {
    await storage.close();
    throw error;
  }
}
