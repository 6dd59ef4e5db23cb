/**
 * The rest-hook receiver of the subscriptions scenario, in a process of its own (as a real
 * receiver is), so the load generator does not share its event loop. Notifications are R4 PUTs
 * of the resource; the latency of each is its arrival time minus the resource's
 * meta.lastUpdated (the server's commit time, same clock). `GET /stats` answers the count and
 * the latencies received since the last `POST /reset`.
 */
import http from 'node:http';

let latencies: number[] = [];
const port = Number(process.env.PORT ?? 0);
const server = http.createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const at = Date.now();
    if (req.method === 'GET' && req.url === '/stats') {
      const body = JSON.stringify({ received: latencies.length, latencies });
      res.writeHead(200, { 'content-type': 'application/json' }).end(body);
      return;
    }
    if (req.method === 'POST' && req.url === '/reset') {
      latencies = [];
      res.writeHead(204).end();
      return;
    }
    const resource = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { meta: { lastUpdated: string } };
    latencies.push(at - Date.parse(resource.meta.lastUpdated));
    res.writeHead(200, { 'content-length': '0' }).end();
  });
});
server.keepAliveTimeout = 60_000;
server.listen(port, '127.0.0.1');
process.on('SIGTERM', () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
});
