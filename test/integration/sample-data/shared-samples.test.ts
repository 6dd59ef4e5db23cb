/**
 * Real third-party data through the real server: every Synthea and Inferno transaction Bundle
 * POSTed as it is, the same data through the loader, and every HL7 R4 example PUT one by one.
 * Expected counts are computed from the JSON here, independently of Bedside's code.
 */
import type { Bundle, BundleEntry } from 'fhir/r4';
import { readdirSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stripUnknownElements } from '../../../src/fhir/validation.js';
import { httpSink, load } from '../../../src/ingest/loader.js';
import { hasSharedSamples, sharedPath } from '../../support/shared-samples.js';
import { startTestServer, type TestServer } from '../../support/server.js';
import { backendClient } from '../../support/tokens.js';
import knownInvalid from '../../fixtures/known-invalid-samples.json' with { type: 'json' };

const bundleFiles = () => [
  ...readdirSync(sharedPath('synthea'))
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => sharedPath('synthea', f)),
  ...readdirSync(sharedPath('inferno-uscore'))
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => sharedPath('inferno-uscore', f)),
];
const readBundle = (file: string) => JSON.parse(readFileSync(file, 'utf8')) as Bundle;
const invalidInferno = knownInvalid['inferno-uscore'] as Record<string, { expect: string }>;
const invalidExamples = knownInvalid['hl7-r4-examples'] as Record<string, { expect: string }>;

async function countsOf(server: TestServer): Promise<Record<string, number>> {
  return server.bedside.storage.resources.countByType();
}

function add(counts: Record<string, number>, type: string, n = 1) {
  counts[type] = (counts[type] ?? 0) + n;
}

describe.skipIf(!hasSharedSamples)('Synthea and Inferno bundles', () => {
  let server: TestServer;
  let token: string;
  beforeAll(async () => {
    server = await startTestServer();
    token = await (await backendClient(server.baseUrl)).token();
  });
  afterAll(async () => {
    await server.stop();
  });

  it('load by POSTing each transaction Bundle as it is; per-type counts match the data', async () => {
    const expected: Record<string, number> = {};
    const putIds = new Set<string>();
    let posted = 0;
    for (const file of bundleFiles()) {
      let bundle = readBundle(file);
      const name = file.split('/').pop()!;
      let response = await fetch(server.fhirUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/fhir+json', prefer: 'return=minimal', authorization: `Bearer ${token}` },
        body: JSON.stringify(bundle),
      });
      if (invalidInferno[name]) {
        expect(response.status).toBe(400);
        expect(JSON.stringify(await response.json())).toContain(invalidInferno[name].expect);
        bundle = { ...bundle, entry: bundle.entry!.map((e) => ({ ...e, resource: stripUnknownElements(e.resource!).resource as BundleEntry['resource'] })) };
        response = await fetch(server.fhirUrl, {
          method: 'POST',
          headers: { 'content-type': 'application/fhir+json', prefer: 'return=minimal', authorization: `Bearer ${token}` },
          body: JSON.stringify(bundle),
        });
      }
      expect(response.status, `${name}: ${response.status}`).toBe(200);
      const body = (await response.json()) as Bundle;
      expect(body.type).toBe('transaction-response');
      expect(body.entry).toHaveLength(bundle.entry!.length);
      posted++;
      for (const entry of bundle.entry!) {
        const type = entry.resource!.resourceType;
        if (entry.request!.method === 'POST') add(expected, type);
        else if (!putIds.has(entry.request!.url)) {
          putIds.add(entry.request!.url);
          add(expected, type);
        }
      }
    }
    expect(posted).toBe(52);
    expect(await countsOf(server)).toEqual(expected);
  }, 240_000);
});

describe.skipIf(!hasSharedSamples)('the loader', () => {
  let server: TestServer;
  let token: string;
  beforeAll(async () => {
    server = await startTestServer();
    token = await (await backendClient(server.baseUrl)).token();
  });
  afterAll(async () => {
    await server.stop();
  });

  it('loads every bundle over HTTP, de-duplicating the Organizations and Practitioners Synthea repeats', async () => {
    const expected: Record<string, number> = {};
    const seen = new Set<string>();
    for (const file of bundleFiles()) {
      for (const entry of readBundle(file).entry!) {
        const r = entry.resource!;
        const id = entry.request?.method === 'PUT' ? entry.request.url.split('/')[1] : (r.id ?? entry.fullUrl!.replace('urn:uuid:', ''));
        const key = `${r.resourceType}/${id}`;
        if (!seen.has(key)) {
          seen.add(key);
          add(expected, r.resourceType);
        }
      }
    }
    const summary = await load({
      sink: httpSink(server.fhirUrl, token),
      paths: [sharedPath('synthea'), sharedPath('inferno-uscore')],
      lenient: true,
      concurrency: 2,
    });
    expect(summary.failures).toEqual([]);
    expect(summary.stripped).toEqual(['Media/usqualitycore-r4-media: Media.content.link']);
    expect(summary.duplicates).toBeGreaterThan(0);
    expect(await countsOf(server)).toEqual(expected);
    // Idempotent: loading again writes the same resources as new versions, never new resources.
    const again = await load({ sink: httpSink(server.fhirUrl, token), paths: [sharedPath('inferno-uscore')], lenient: true });
    expect(again.failures).toEqual([]);
    expect(await countsOf(server)).toEqual(expected);
  }, 240_000);
});

describe.skipIf(!hasSharedSamples)('HL7 R4 examples', () => {
  let server: TestServer;
  let token: string;
  beforeAll(async () => {
    server = await startTestServer();
    token = await (await backendClient(server.baseUrl)).token();
  });
  afterAll(async () => {
    await server.stop();
  });

  it('load one by one with PUT; exactly the fixture-listed examples are rejected, for the listed reasons', async () => {
    const dir = sharedPath('hl7-r4-examples');
    const files = readdirSync(dir)
      .filter((f) => f.endsWith('.json'))
      .sort();
    const rejected: Record<string, string> = {};
    let accepted = 0;
    for (const file of files) {
      const resource = JSON.parse(readFileSync(`${dir}/${file}`, 'utf8')) as { resourceType: string; id: string };
      const response = await fetch(`${server.fhirUrl}/${resource.resourceType}/${resource.id}`, {
        method: 'PUT',
        headers: { 'content-type': 'application/fhir+json', prefer: 'return=minimal', authorization: `Bearer ${token}` },
        body: JSON.stringify(resource),
      });
      if (response.status === 200 || response.status === 201) {
        accepted++;
        await response.arrayBuffer();
      } else {
        // 400 for what R4 itself forbids, 422 for a business rule (a Subscription's status).
        expect([400, 422], file).toContain(response.status);
        rejected[file] = JSON.stringify(await response.json());
      }
    }
    expect(Object.keys(rejected).sort()).toEqual(Object.keys(invalidExamples).sort());
    for (const [file, { expect: reason }] of Object.entries(invalidExamples)) expect(rejected[file]).toContain(reason);
    expect(accepted).toBe(files.length - Object.keys(invalidExamples).length);
  }, 240_000);
});
