/**
 * Global setup for the whole suite. Starts the services tests need and exposes them through
 * environment variables, which the test processes (forked after this runs) inherit:
 * - BEDSIDE_TEST_CONGO_URI: CongoDB, an in-process MongoDB wire-protocol server, so the MongoDB
 *   store is tested on every run. Not started when MONGODB_URI points
 *   at a real MongoDB: then the suites run on that instead (test/support/stores.ts).
 */
import { createServer } from 'node:net';
import type { TestProject } from 'vitest/node';

export const CONGO_URI_VARIABLE = 'BEDSIDE_TEST_CONGO_URI';

export default async function setup(_project: TestProject): Promise<() => Promise<void>> {
  const stops: Array<() => Promise<void>> = [];
  if (!process.env.MONGODB_URI) {
    const congo = await startCongo();
    process.env[CONGO_URI_VARIABLE] = congo.uri;
    stops.push(congo.stop);
  }
  return async () => {
    for (const stop of stops.reverse()) await stop();
  };
}

/** Starts CongoDB on a free loopback port (retrying if another process takes the port first). */
async function startCongo(): Promise<{ uri: string; stop: () => Promise<void> }> {
  // Loaded lazily: only needed when there is no real MongoDB.
  const { CongoServer } = await import('@push.rocks/smartmongo/dist_ts/congodb/index.js');
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const server = new CongoServer({ port, host: '127.0.0.1' });
    try {
      await server.start();
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE' && attempt < 5) continue;
      throw error;
    }
    // serverMonitoringMode=poll: the driver's default streaming heartbeat (an exhaust `hello`)
    // sometimes breaks on CongoDB under load ("Server ended moreToCome unexpectedly"); the driver
    // then clears its connection pool and the operations in flight fail. Real MongoDB streams.
    return { uri: `mongodb://127.0.0.1:${port}/?directConnection=true&serverMonitoringMode=poll`, stop: () => server.stop() };
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}
