/**
 * US Core 3.1.1 (the ONC (g)(10) baseline) as the server's IG, then switched to 6.1.0 with
 * `bedside packages add` while the server runs: one US Core at a time (they share canonical
 * URLs), the new version's resources replacing the old. Skipped without ../shared/fhir-packages.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CliIo } from '../../../src/cli/io.js';
import { main } from '../../../src/cli/main.js';
import { GENERATION_CHECK_MS } from '../../../src/packages/conformance.js';
import { hasUsCore, US_CORE_3, US_CORE_6 } from '../../support/packages.js';
import { startTestServer, type TestServer } from '../../support/server.js';
import { authorizedFetch, backendClient } from '../../support/tokens.js';

describe.skipIf(!hasUsCore)('US Core versions', () => {
  let server: TestServer;
  let api: typeof fetch;
  const get = async (path: string) => (await (await api(`${server.fhirUrl}/${path}`)).json()) as any;
  const metadata = async () => (await (await fetch(`${server.fhirUrl}/metadata`)).json()) as any;

  beforeAll(async () => {
    server = await startTestServer({ packages: [US_CORE_3], seed: true });
    api = authorizedFetch(await (await backendClient(server.baseUrl)).token());
  }, 120_000);
  afterAll(async () => {
    await server?.stop();
  });

  it('serves US Core 3.1.1: its IG, its statement, its profiles, race on the sample patients', async () => {
    expect((await get('ImplementationGuide')).entry.map((e: any) => e.resource.version)).toEqual(['3.1.1']);
    expect((await get('StructureDefinition?_summary=count')).total).toBe(30);
    const caps = await metadata();
    expect(caps.instantiates).toEqual([
      'http://hl7.org/fhir/uv/bulkdata/CapabilityStatement/bulk-data',
      'http://hl7.org/fhir/us/core/CapabilityStatement/us-core-server',
    ]);
    expect(caps.rest[0].resource.find((r: any) => r.type === 'Observation').supportedProfile).toContain(
      'http://hl7.org/fhir/us/core/StructureDefinition/us-core-smokingstatus',
    );
    // Race is indexed on the sample data, which was loaded before the package (reindexed).
    const patients = await get('Patient?_count=100');
    const withRace = patients.entry.filter((e: any) =>
      (e.resource.extension ?? []).some((x: any) => x.url === 'http://hl7.org/fhir/us/core/StructureDefinition/us-core-race'),
    );
    const code = withRace[0].resource.extension.find((x: any) => x.url.endsWith('us-core-race')).extension.find((x: any) => x.url === 'ombCategory')
      .valueCoding.code;
    const expected = withRace
      .filter((e: any) => JSON.stringify(e.resource.extension).includes(`"${code}"`))
      .map((e: any) => e.resource.id)
      .sort();
    expect((await get(`Patient?race=${code}&_count=100`)).entry.map((e: any) => e.resource.id).sort()).toEqual(expected);
  });

  it('switches to 6.1.0 with bedside packages add while running', async () => {
    let out = '';
    const io: CliIo = { out: (t) => (out += t), err: () => {}, env: { DATA_DIR: server.dataDir, BASE_URL: server.baseUrl } };
    expect(await main(['packages', 'add', US_CORE_6], io)).toBe(0);
    expect(out).toMatch(/^hl7\.fhir\.us\.core#6\.1\.0 replaced 3\.1\.1: 210 conformance resources/);
    const deadline = Date.now() + GENERATION_CHECK_MS * 3;
    let caps;
    do {
      await new Promise((r) => setTimeout(r, 200));
      caps = await metadata();
    } while (
      !caps.rest[0].resource
        .find((r: any) => r.type === 'Observation')
        .supportedProfile?.includes('http://hl7.org/fhir/us/core/StructureDefinition/us-core-simple-observation') &&
      Date.now() < deadline
    );
    expect(caps.rest[0].resource.find((r: any) => r.type === 'Observation').supportedProfile).toContain(
      'http://hl7.org/fhir/us/core/StructureDefinition/us-core-simple-observation',
    );
    expect((await get('ImplementationGuide')).entry.map((e: any) => e.resource.version)).toEqual(['6.1.0']);
    expect((await get('StructureDefinition?_summary=count')).total).toBe(59);
    expect((await get('StructureDefinition?url=http://hl7.org/fhir/us/core/StructureDefinition/us-core-patient')).entry[0].resource.version).toBe('6.1.0');
  });
});
