/**
 * The baseline: a bare node:http server answering a small JSON body. Every Bedside figure is
 * reported as a ratio to this, measured in the same run (machines are noisy).
 */
import http from 'node:http';

const body = JSON.stringify({ resourceType: 'Patient', id: 'bare', name: [{ family: 'Baseline' }] });
const port = Number(process.env.PORT ?? 0);
const server = http.createServer((_req, res) => {
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(body.length) });
  res.end(body);
});
server.listen(port, '127.0.0.1', () => process.stdout.write(`listening ${(server.address() as { port: number }).port}\n`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
