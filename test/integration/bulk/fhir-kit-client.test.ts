/**
 * The integrator guide's fhir-kit-client examples (docs/integrators.md), run as written against
 * a real server: a backend-services token signed with jose, a search with paging, and a Bulk Data
 * export kicked off and polled with fhir-kit-client, the NDJSON files fetched as streams.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import type { Bundle } from 'fhir/r4';
import { Client } from 'fhir-kit-client';
import { SignJWT, importPKCS8 } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClientFile } from '../../../src/cli/client-file.js';
import { main } from '../../../src/cli/main.js';
import { startTestServer, tempDir, type TestServer } from '../../support/server.js';

let server: TestServer;
const dir = tempDir('bedside-fkc-');

beforeAll(async () => {
  server = await startTestServer({ seed: true });
  const io = { out: () => undefined, err: () => undefined, env: { BEDSIDE_URL: server.baseUrl } };
  expect(
    await main(
      ['clients', 'add', '--scope', 'system/*.rs', '--out', path.join(dir, 'bedside-client.json'), '--key-out', path.join(dir, 'bedside-key.pem')],
      io,
    ),
  ).toBe(0);
}, 120_000);
afterAll(async () => {
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

// ---- as in docs/integrators.md ----
async function backendToken(client: ClientFile, pem: string): Promise<string> {
  const key = await importPKCS8(pem, 'ES384');
  const assertion = await new SignJWT({})
    .setProtectedHeader({ alg: 'ES384', kid: client.kid, typ: 'JWT' })
    .setIssuer(client.clientId)
    .setSubject(client.clientId)
    .setAudience(client.tokenEndpoint)
    .setJti(randomUUID())
    .setIssuedAt()
    .setExpirationTime('4m')
    .sign(key);
  const response = await fetch(client.tokenEndpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'client_credentials',
      scope: 'system/*.rs',
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: assertion,
    }),
  });
  return ((await response.json()) as { access_token: string }).access_token;
}
// -----------------------------------

describe('fhir-kit-client with a backend-services token', () => {
  it('searches and pages', async () => {
    const settings = JSON.parse(readFileSync(path.join(dir, 'bedside-client.json'), 'utf8')) as ClientFile;
    const token = await backendToken(settings, readFileSync(path.join(dir, 'bedside-key.pem'), 'utf8'));
    const client = new Client({ baseUrl: settings.fhirBaseUrl, bearerToken: token });
    let page = (await client.search({
      resourceType: 'Observation',
      searchParams: { patient: 'patient-001', category: 'vital-signs', _count: '50' },
    })) as unknown as Bundle;
    let seen = page.entry?.length ?? 0;
    while (page.link?.some((l) => l.relation === 'next')) {
      page = (await client.nextPage({ bundle: page } as never)) as unknown as Bundle;
      seen += page.entry?.length ?? 0;
    }
    expect(seen).toBeGreaterThan(50);
  });

  it('runs a Bulk Data export', async () => {
    const settings = JSON.parse(readFileSync(path.join(dir, 'bedside-client.json'), 'utf8')) as ClientFile;
    const token = await backendToken(settings, readFileSync(path.join(dir, 'bedside-key.pem'), 'utf8'));
    const client = new Client({ baseUrl: settings.fhirBaseUrl, bearerToken: token });

    const accepted = await client.operation({
      name: '$export',
      method: 'GET',
      input: { _type: 'Patient,Condition' },
      options: { headers: { prefer: 'respond-async' } },
    });
    const statusUrl = Client.httpFor(accepted).response!.headers.get('content-location')!;
    let status = await client.request(statusUrl);
    while (Client.httpFor(status).response!.status === 202) {
      const wait = Number(Client.httpFor(status).response!.headers.get('retry-after') ?? 1);
      await new Promise((resolve) => setTimeout(resolve, wait * 100)); // (the guide waits `wait` seconds)
      status = await client.request(statusUrl);
    }
    const manifest = status as unknown as { output: Array<{ type: string; url: string; count: number }> };
    let lines = 0;
    for (const file of manifest.output) {
      const response = await fetch(file.url, { headers: { authorization: `Bearer ${token}`, accept: 'application/fhir+ndjson' } });
      lines += (await response.text()).split('\n').filter(Boolean).length;
    }
    expect(manifest.output.map((f) => f.type).sort()).toEqual(['Condition', 'Patient']);
    expect(lines).toBe(manifest.output.reduce((n, f) => n + f.count, 0));
  });
});
