/**
 * The curl examples of docs/integrators.md ("Full text, distance, `_filter` and `_list`", "FHIR
 * XML", "FHIRPath Patch") and of the README ("Full text, distance and `_filter`", "XML and
 * FHIRPath Patch"), run as written with bash and curl against a real server (only the
 * host changed, and curl told to fail on an HTTP error), then checked by their effect.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resourceFromXml } from '../../../src/fhir/xml/index.js';
import { startTestServer, type TestServer } from '../../support/server.js';
import { backendClient } from '../../support/tokens.js';
import { hasCurl, runShell, shellBlocks } from '../../support/docs.js';

let server: TestServer;
let token: string;

/** Runs a shell example against the test server. */
function run(script: string, prelude = ''): Promise<string> {
  return runShell(script, { baseUrl: server.baseUrl, token, prelude });
}

async function readJson(url: string): Promise<Record<string, any>> {
  const response = await fetch(`${server.fhirUrl}/${url}`, { headers: { authorization: `Bearer ${token}` } });
  return (await response.json()) as Record<string, any>;
}

beforeAll(async () => {
  if (!hasCurl) return;
  server = await startTestServer({ seed: true });
  token = await (await backendClient(server.baseUrl, 'system/*.cruds')).token();
}, 120_000);
afterAll(async () => {
  await server?.stop();
});

/** The JSON bodies a run printed, one per line. */
const bodies = (out: string): Array<Record<string, any>> =>
  out
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, any>);
const matches = (bundle: Record<string, any>) => (bundle.entry ?? []).filter((e: any) => e.search.mode === 'match').map((e: any) => e.resource);

describe.skipIf(!hasCurl)('documented curl examples', () => {
  it('README and docs/integrators.md, full text, distance, _filter and _list', async () => {
    const prelude = 'FHIR=http://localhost:8080/fhir; H="Authorization: Bearer $TOKEN"';
    const readme = shellBlocks('README.md', '### Full text, distance and `_filter`');
    expect(readme).toHaveLength(1);
    const [hypertension, heartRate, near, filtered] = bodies(await run(readme[0]!, prelude));
    expect(matches(hypertension!).length).toBeGreaterThan(0);
    for (const condition of matches(hypertension!)) expect(condition.code.text).toMatch(/hypertension/i);
    expect(matches(heartRate!).map((o: any) => o.code.text)).toEqual(['Heart rate', 'Heart rate']);
    const names = matches(near!).map((l: any) => l.name);
    expect(names[0]).toBe('Bedside General Inpatient Ward 4B');
    expect(names).toContain('Bedside Community Health Boston 0001');
    expect(matches(filtered!).map((p: any) => p.id)).toContain('patient-001');

    const guide = shellBlocks('docs/integrators.md', '## Full text, distance, `_filter` and `_list`');
    expect(guide).toHaveLength(1);
    const [diabetes, vitals, nearby, shaw, list, listed] = bodies(await run(guide[0]!));
    expect(matches(diabetes!).map((c: any) => c.code.text)).toContain('Type 2 diabetes mellitus');
    expect(matches(vitals!)).toHaveLength(3);
    for (const o of matches(vitals!)) expect(['Blood pressure', 'Heart rate']).toContain(o.code.text);
    expect(matches(nearby!).map((l: any) => l.name)).toContain('Bedside General Outpatient Clinic');
    expect(matches(shaw!).map((p: any) => p.id)).toEqual(['patient-001']);
    expect(list).toMatchObject({ resourceType: 'List', id: 'amy-follow-up' });
    expect(matches(listed!).map((c: any) => c.id)).toEqual(['patient-001-cond-01']);
  });

  it('docs/integrators.md, FHIR XML: read, search, create and transaction in XML', async () => {
    const blocks = shellBlocks('docs/integrators.md', '## FHIR XML');
    expect(blocks).toHaveLength(1);
    const out = await run(blocks[0]!);
    expect(out).toContain('<Patient xmlns="http://hl7.org/fhir"><id value="patient-001"/>');
    expect(out).toMatch(/<Bundle xmlns="http:\/\/hl7.org\/fhir">\n {2}<id value="[^"]+"\/>\n {2}<meta>/);
    expect(out).toMatch(/HTTP\/1.1 201 Created\r\n/);
    expect(out).toMatch(/content-type: application\/fhir\+xml; charset=utf-8\r\n/i);
    const created = out.slice(out.indexOf('<Patient xmlns', out.indexOf('201 Created')));
    const patient = resourceFromXml(created.slice(0, created.indexOf('</Patient>') + '</Patient>'.length)) as Record<string, any>;
    expect(patient).toMatchObject({
      name: [{ family: 'Chalmers', given: ['Peter'] }],
      _birthDate: { extension: [{ valueDateTime: '1974-12-25T14:35:45-05:00' }] },
    });
    const response = resourceFromXml(out.slice(out.lastIndexOf('<Bundle xmlns')).trim()) as Record<string, any>;
    expect(response.type).toBe('transaction-response');
    expect(response.entry.map((e: any) => e.response.status)).toEqual(['201 Created', '201 Created']);
  });

  it('docs/integrators.md, FHIRPath Patch: JSON, XML with If-Match, and a transaction entry; then the README examples', async () => {
    const blocks = shellBlocks('docs/integrators.md', '## FHIRPath Patch');
    expect(blocks).toHaveLength(1);
    const before = await readJson('Patient/patient-001');
    expect(before.meta.versionId).toBe('1');
    const out = await run(blocks[0]!, 'FHIR=http://localhost:8080/fhir; H="Authorization: Bearer $TOKEN"');
    expect(out).toContain('<Patient xmlns="http://hl7.org/fhir"><id value="patient-001"/><meta><versionId value="3"/>');
    const after = await readJson('Patient/patient-001');
    expect(after.meta.versionId).toBe('4');
    expect(after.name[0]).toMatchObject({ use: 'official', family: 'Shaw-Smith', given: ['Ann', 'Amy', 'Elizabeth'] });
    expect(after.telecom).toEqual([
      { system: 'email', value: 'amy.shaw@example.com', use: 'home' },
      { system: 'email', value: 'amy.shaw@work.example.org', use: 'work' },
    ]);
    expect(after.maritalStatus.text).toBe('Married (since 2001)');

    const readme = shellBlocks('README.md', '### XML and FHIRPath Patch');
    expect(readme).toHaveLength(1);
    const readmeOut = await run(readme[0]!, 'FHIR=http://localhost:8080/fhir; H="Authorization: Bearer $TOKEN"');
    expect(readmeOut).toContain('<Patient xmlns="http://hl7.org/fhir"><id value="patient-001"/><meta><versionId value="4"/>');
    const patched = await readJson('Patient/patient-001');
    expect(patched).toMatchObject({ birthDate: '1973-08-12', meta: { versionId: '5' } });
  });
});
