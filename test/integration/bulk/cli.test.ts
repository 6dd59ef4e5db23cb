/**
 * The `bedside` command against a real server: `clients add` registers a backend client (with a
 * generated key pair, or the integrator's own JWKS), `token` prints a token that the FHIR API
 * accepts, `export` runs a Bulk Data export to a folder, `load` loads files; and the package bin
 * runs from the repository with npx.
 */
import { execFile } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { exportJWK, exportPKCS8, generateKeyPair } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClientFile } from '../../../src/cli/client-file.js';
import type { CliIo } from '../../../src/cli/io.js';
import { main } from '../../../src/cli/main.js';
import { startTestServer, tempDir, type TestServer } from '../../support/server.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const run = promisify(execFile);
let server: TestServer;
const dir = tempDir('bedside-cli-');

beforeAll(async () => {
  // Private network fetch: the --jwks-url test serves its JWKS from loopback.
  server = await startTestServer({ seed: true, allowPrivateNetworkFetch: true });
}, 120_000);
afterAll(async () => {
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** Runs one command line in-process; resolves to its exit code and output. */
async function bedside(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: CliIo = { out: (t) => (out += t), err: (t) => (err += t), env: { BEDSIDE_URL: server.baseUrl } };
  const code = await main(argv, io);
  return { code, out, err };
}

const file = (name: string) => path.join(dir, name);

describe('bedside clients add + token', () => {
  it('registers a backend client with a generated ES384 key pair, and its token reads the FHIR API', async () => {
    const added = await bedside('clients', 'add', '--scope', 'system/*.rs', '--out', file('client.json'), '--key-out', file('key.pem'));
    expect(added.code, added.err).toBe(0);
    expect(added.out).toContain('Registered backend client');
    const client = JSON.parse(readFileSync(file('client.json'), 'utf8')) as ClientFile;
    expect(client).toMatchObject({
      fhirBaseUrl: server.fhirUrl,
      tokenEndpoint: `${server.issuer}/token`,
      scope: 'system/*.rs',
      alg: 'ES384',
      privateKey: 'key.pem',
    });
    expect(readFileSync(file('key.pem'), 'utf8')).toContain('-----BEGIN PRIVATE KEY-----');
    expect(statSync(file('key.pem')).mode & 0o777).toBe(0o600);

    const printed = await bedside('token', '--client', file('client.json'));
    expect(printed.code, printed.err).toBe(0);
    const token = printed.out.trim();
    expect(token.split('.')).toHaveLength(3);
    const read = await fetch(`${server.fhirUrl}/Patient/patient-001`, { headers: { authorization: `Bearer ${token}` } });
    expect(read.status).toBe(200);

    // A narrower scope on request; a write is refused with it.
    const narrow = (await bedside('token', '--client', file('client.json'), '--scope', 'system/Patient.rs', '--json')).out;
    expect(JSON.parse(narrow)).toMatchObject({ token_type: 'Bearer', scope: 'system/Patient.rs' });
  });

  it("registers the integrator's own RS384 JWKS; the token uses the private key given with --key", async () => {
    const { publicKey, privateKey } = await generateKeyPair('RS384', { extractable: true });
    writeFileSync(file('own-jwks.json'), JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: 'mine-1', alg: 'RS384' }] }));
    writeFileSync(file('own-key.pem'), await exportPKCS8(privateKey));
    const added = await bedside(
      'clients',
      'add',
      '--alg',
      'RS384',
      '--jwks',
      file('own-jwks.json'),
      '--key',
      file('own-key.pem'),
      '--out',
      file('own-client.json'),
    );
    expect(added.code, added.err).toBe(0);
    const client = JSON.parse(readFileSync(file('own-client.json'), 'utf8')) as ClientFile;
    expect(client).toMatchObject({ alg: 'RS384', kid: 'mine-1', privateKey: 'own-key.pem' });
    const printed = await bedside('token', '--client', file('own-client.json'));
    expect(printed.code, printed.err).toBe(0);
    expect((await fetch(`${server.fhirUrl}/Patient`, { headers: { authorization: `Bearer ${printed.out.trim()}` } })).status).toBe(200);
  });

  it('registers a JWKS URL, which the server fetches to verify the assertions', async () => {
    const { publicKey, privateKey } = await generateKeyPair('ES384', { extractable: true });
    const jwks = JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: 'hosted-1', alg: 'ES384', use: 'sig' }] });
    const host = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(jwks));
    await new Promise<void>((resolve) => host.listen(0, '127.0.0.1', resolve));
    try {
      writeFileSync(file('hosted-key.pem'), await exportPKCS8(privateKey));
      const jwksUrl = `http://127.0.0.1:${(host.address() as AddressInfo).port}/jwks.json`;
      const added = await bedside('clients', 'add', '--jwks-url', jwksUrl, '--key', file('hosted-key.pem'), '--out', file('hosted-client.json'));
      expect(added.code, added.err).toBe(0);
      expect(JSON.parse(readFileSync(file('hosted-client.json'), 'utf8'))).toMatchObject({ kid: 'hosted-1', alg: 'ES384' });
      const printed = await bedside('token', '--client', file('hosted-client.json'));
      expect(printed.code, printed.err).toBe(0);
      expect((await fetch(`${server.fhirUrl}/Patient`, { headers: { authorization: `Bearer ${printed.out.trim()}` } })).status).toBe(200);
    } finally {
      host.close();
    }
  });

  it('explains what is wrong instead of failing with a stack trace', async () => {
    const missing = await bedside('token', '--client', file('nope.json'));
    expect(missing.code).toBe(1);
    expect(missing.err).toContain('No client file');
    const again = await bedside('clients', 'add', '--out', file('client.json'), '--key-out', file('key.pem'));
    expect(again.code).toBe(1);
    expect(again.err).toContain('exists; pass --force');
    const unreachable = await bedside('clients', 'add', '--url', 'http://127.0.0.1:9', '--out', file('x.json'));
    expect(unreachable.code).toBe(1);
    expect(unreachable.err).toContain('Cannot reach');
    const badAlg = await bedside('clients', 'add', '--alg', 'HS256');
    expect(badAlg.code).toBe(2);
    expect((await bedside('frobnicate')).code).toBe(2);
    expect((await bedside('token', '--frob')).code).toBe(2);
    expect((await bedside('--help')).out).toContain('clients add');
  });
});

describe('bedside export', () => {
  it('runs an export and downloads its files', async () => {
    const out = file('export');
    const result = await bedside('export', '--client', file('client.json'), '--type', 'Patient,Condition', '--out', out);
    expect(result.code, result.err).toBe(0);
    expect(result.out).toMatch(/^Exported \d+ resources in 2 files/);
    expect(readdirSync(out).sort()).toEqual(['Condition-1.ndjson', 'Patient-1.ndjson']);
    expect(readFileSync(path.join(out, 'Patient-1.ndjson'), 'utf8').trim().split('\n')).toHaveLength(12);
  });
});

describe('bedside load', () => {
  it('loads a Bundle into a running server with --url and a token', async () => {
    // A client that may write.
    const writer = await bedside('clients', 'add', '--scope', 'system/*.cruds', '--out', file('writer.json'), '--key-out', file('writer.pem'));
    expect(writer.code, writer.err).toBe(0);
    const writeToken = (await bedside('token', '--client', file('writer.json'))).out.trim();
    mkdirSync(file('data'), { recursive: true });
    writeFileSync(
      file('data/bundle.json'),
      JSON.stringify({
        resourceType: 'Bundle',
        type: 'collection',
        entry: [{ resource: { resourceType: 'Patient', id: 'loaded-by-cli', name: [{ family: 'Cli' }] } }],
      }),
    );
    const loaded = await bedside('load', '--quiet', '--url', server.fhirUrl, '--token', writeToken, file('data'));
    expect(loaded.code, loaded.out + loaded.err).toBe(0);
    const read = await fetch(`${server.fhirUrl}/Patient/loaded-by-cli`, { headers: { authorization: `Bearer ${writeToken}` } });
    expect(read.status).toBe(200);
  });
});

describe('the package bin', () => {
  it('runs from the repository with npx (tsx as the runtime, no build step)', async () => {
    const { stdout } = await run('npx', ['--offline', 'bedside', 'token', '--client', file('client.json')], {
      cwd: ROOT,
      env: { ...process.env, BEDSIDE_URL: server.baseUrl },
    });
    const read = await fetch(`${server.fhirUrl}/Patient/patient-001`, { headers: { authorization: `Bearer ${stdout.trim()}` } });
    expect(read.status).toBe(200);
  }, 60_000);
});
