/**
 * Upstream data with elements that are not R4 (one of Inferno's reference-server patients has an
 * Observation with `effectivePeriod.stop`): `bedside load` refuses the Bundle and names the
 * element; `bedside load --lenient` loads it, in file mode (into the store) and with --url (over
 * HTTP), and names every element it dropped, and the elements a removal left empty.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CliIo } from '../../../src/cli/io.js';
import { main } from '../../../src/cli/main.js';
import { startTestServer, tempDir, type TestServer } from '../../support/server.js';
import { backendClient } from '../../support/tokens.js';

let server: TestServer;
let token: string;
const dir = tempDir('bedside-lenient-');

/** A transaction Bundle as upstream servers export them, plus an NDJSON file, every id prefixed. */
function writeUpstreamData(folder: string, prefix: string): void {
  mkdirSync(folder, { recursive: true });
  const patient = `urn:uuid:${prefix === 'file' ? '0f' : '0a'}000000-0000-4000-8000-000000000001`;
  writeFileSync(
    path.join(folder, 'patient.json'),
    JSON.stringify({
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        {
          fullUrl: patient,
          resource: { resourceType: 'Patient', id: `${prefix}-patient`, name: [{ family: `Lenient${prefix}` }] },
          request: { method: 'POST', url: 'Patient' },
        },
        {
          resource: {
            resourceType: 'Observation',
            id: `${prefix}-obs-1`,
            status: 'final',
            code: { text: 'blood pressure' },
            subject: { reference: patient },
            effectivePeriod: { start: '2020-01-01T10:00:00Z', stop: '2020-01-01T10:30:00Z' },
          },
          request: { method: 'POST', url: 'Observation' },
        },
        {
          resource: {
            resourceType: 'Observation',
            id: `${prefix}-obs-2`,
            status: 'final',
            code: { text: 'heart rate' },
            subject: { reference: patient },
            effectivePeriod: { stop: '2020-01-02T10:30:00Z' },
            valueQuantity: { value: 72, unit: '/min' },
          },
          request: { method: 'POST', url: 'Observation' },
        },
      ],
    }),
  );
  writeFileSync(
    path.join(folder, 'encounters.ndjson'),
    `${JSON.stringify({ resourceType: 'Encounter', id: `${prefix}-enc`, status: 'finished', class: { code: 'AMB' }, subject: { reference: `Patient/${prefix}-patient` }, period: { start: '2020-01-01', stop: '2020-01-02' } })}\n`,
  );
}

async function bedside(env: Record<string, string>, ...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: CliIo = { out: (t) => (out += t), err: (t) => (err += t), env: { LOG_LEVEL: 'silent', ...env } };
  return { code: await main(argv, io), out, err };
}

async function read(reference: string): Promise<{ status: number; body: Record<string, any> }> {
  const response = await fetch(`${server.fhirUrl}/${reference}`, { headers: { authorization: `Bearer ${token}` } });
  return { status: response.status, body: (await response.json()) as Record<string, any> };
}

beforeAll(async () => {
  server = await startTestServer();
  token = await (await backendClient(server.baseUrl, 'system/*.cruds')).token();
  writeUpstreamData(path.join(dir, 'file'), 'file');
  writeUpstreamData(path.join(dir, 'url'), 'url');
});
afterAll(async () => {
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** What --lenient must report for the data of `prefix`, one line per dropped element (files in name order). */
const dropped = (prefix: string) => [
  `Removed a non-R4 element (--lenient): Encounter.period.stop from Encounter/${prefix}-enc`,
  `Removed a non-R4 element (--lenient): Observation.effectivePeriod.stop from Observation/${prefix}-obs-1, Observation/${prefix}-obs-2`,
  `Removed a non-R4 element (--lenient): Observation.effectivePeriod (left empty) from Observation/${prefix}-obs-2`,
];

async function expectLoaded(prefix: string): Promise<void> {
  const first = await read(`Observation/${prefix}-obs-1`);
  expect(first.status).toBe(200);
  expect(first.body.effectivePeriod).toEqual({ start: '2020-01-01T10:00:00Z' });
  expect(first.body.subject).toEqual({ reference: `Patient/${prefix}-patient` });
  const second = await read(`Observation/${prefix}-obs-2`);
  expect(second.body).not.toHaveProperty('effectivePeriod');
  expect(second.body.valueQuantity).toEqual({ value: 72, unit: '/min' });
  expect((await read(`Encounter/${prefix}-enc`)).body.period).toEqual({ start: '2020-01-01' });
}

describe('bedside load into the configured store (file mode)', () => {
  it('without --lenient refuses the Bundle, naming the element, and writes none of it', async () => {
    const res = await bedside({ DATA_DIR: server.dataDir }, 'load', '--quiet', path.join(dir, 'file'));
    expect(res.code).toBe(1);
    expect(res.out).toMatch(/FAILED .*patient\.json: 400: .*Observation\.effectivePeriod\.stop: Period has no element "stop"/);
    expect(res.out).toMatch(/FAILED .*encounters\.ndjson: 400: .*Encounter\.period\.stop: Period has no element "stop"/);
    expect((await read('Patient/file-patient')).status).toBe(404);
  });

  it('with --lenient loads everything and names each dropped element', async () => {
    const res = await bedside({ DATA_DIR: server.dataDir }, 'load', '--quiet', '--lenient', path.join(dir, 'file'));
    expect(res.code, res.out + res.err).toBe(0);
    expect(res.out).toContain('Loaded 4 resources from 2 files');
    expect(res.out.split('\n').filter((line) => line.startsWith('Removed'))).toEqual(dropped('file'));
    await expectLoaded('file');
  });
});

describe('bedside load --url (into a running server over HTTP)', () => {
  it('without --lenient the server refuses the Bundle, naming the element', async () => {
    const res = await bedside({}, 'load', '--quiet', '--url', server.fhirUrl, '--token', token, path.join(dir, 'url'));
    expect(res.code).toBe(1);
    expect(res.out).toMatch(/FAILED .*patient\.json: HTTP 400: .*Observation\.effectivePeriod\.stop: Period has no element "stop"/);
    expect((await read('Patient/url-patient')).status).toBe(404);
  });

  it('with --lenient loads everything and names each dropped element', async () => {
    const res = await bedside({}, 'load', '--quiet', '--lenient', '--url', server.fhirUrl, '--token', token, path.join(dir, 'url'));
    expect(res.code, res.out + res.err).toBe(0);
    expect(res.out.split('\n').filter((line) => line.startsWith('Removed'))).toEqual(dropped('url'));
    await expectLoaded('url');
  });
});
