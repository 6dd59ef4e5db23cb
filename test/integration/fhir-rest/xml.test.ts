/**
 * FHIR XML over real HTTP (https://hl7.org/fhir/R4/xml.html, http.html#mime-type): read, vread,
 * search, history, create, update, batch and transaction, and errors in XML; Accept and `_format`
 * negotiation; 406 and 415 only for what neither format serves; hostile XML refused with 400 and
 * nothing written. Official examples sent as XML are stored exactly as their JSON.
 */
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resourceFromXml, resourceToXml } from '../../../src/fhir/xml/index.js';
import knownInvalid from '../../fixtures/known-invalid-samples.json' with { type: 'json' };
import { startTestServer, type TestServer } from '../../support/server.js';
import { hasSharedSamples, sharedPath } from '../../support/shared-samples.js';
import { backendClient } from '../../support/tokens.js';

type Json = Record<string, any>;

const XML = 'application/fhir+xml';
let server: TestServer;
let base: string;
let auth: Record<string, string>;

beforeAll(async () => {
  server = await startTestServer();
  base = server.fhirUrl;
  auth = { authorization: `Bearer ${await (await backendClient(server.baseUrl, 'system/*.cruds')).token()}` };
});
afterAll(async () => {
  await server.stop();
});

async function call(method: string, url: string, headers: Record<string, string> = {}, body?: string) {
  const response = await fetch(url.startsWith('http') ? url : `${base}/${url}`, {
    method,
    headers: { ...auth, ...headers },
    ...(body === undefined ? {} : { body }),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, text };
}

/** The body of an XML response, read back as JSON (also checks it is FHIR XML). */
const readXml = (text: string) => resourceFromXml(text) as Json;

const patientXml = (family: string, extra = '') =>
  `<?xml version="1.0" encoding="UTF-8"?>
<Patient xmlns="http://hl7.org/fhir">
  ${extra}
  <name><family value="${family}"/><given value="Ann"/></name>
  <gender value="female"/>
  <birthDate value="1980-02-03"><extension url="http://hl7.org/fhir/StructureDefinition/patient-birthTime"><valueDateTime value="1980-02-03T04:05:06Z"/></extension></birthDate>
</Patient>`;

describe('XML interactions', () => {
  it('create, read, vread, update, history and search in XML', async () => {
    const created = await call('POST', 'Patient', { 'content-type': XML, accept: XML }, patientXml('Xmlson'));
    expect(created.status).toBe(201);
    expect(created.headers.get('content-type')).toBe('application/fhir+xml; charset=utf-8');
    const location = created.headers.get('location')!;
    expect(location).toMatch(/\/fhir\/Patient\/[^/]+\/_history\/1$/);
    const body = readXml(created.text);
    expect(body).toMatchObject({
      resourceType: 'Patient',
      name: [{ family: 'Xmlson', given: ['Ann'] }],
      _birthDate: { extension: [{ valueDateTime: '1980-02-03T04:05:06Z' }] },
    });
    const id = body.id as string;

    // The same resource in JSON and in XML.
    const json = JSON.parse((await call('GET', `Patient/${id}`, { accept: 'application/fhir+json' })).text);
    for (const [headers, url] of [
      [{ accept: XML }, `Patient/${id}`],
      [{ accept: 'application/xml' }, `Patient/${id}`],
      [{}, `Patient/${id}?_format=xml`],
      [{}, `Patient/${id}?_format=application/fhir+xml`],
      [{}, `Patient/${id}?_format=${encodeURIComponent(XML)}`],
      [{ accept: XML }, `Patient/${id}/_history/1`],
    ] as const) {
      const read = await call('GET', url, headers);
      expect(read.status, url).toBe(200);
      expect(read.headers.get('content-type'), url).toBe('application/fhir+xml; charset=utf-8');
      expect(read.headers.get('etag'), url).toBe('W/"1"');
      expect(readXml(read.text), url).toEqual(json);
    }
    const pretty = await call('GET', `Patient/${id}?_format=xml&_pretty=true`);
    expect(pretty.text).toContain('\n  <name>\n    <family value="Xmlson"/>');

    const updated = await call('PUT', `Patient/${id}`, { 'content-type': XML, accept: XML }, patientXml('Xmlsen', `<id value="${id}"/>`));
    expect(updated.status).toBe(200);
    expect(readXml(updated.text).name[0].family).toBe('Xmlsen');

    const history = await call('GET', `Patient/${id}/_history`, { accept: XML });
    const bundle = readXml(history.text);
    expect(bundle).toMatchObject({ resourceType: 'Bundle', type: 'history', total: 2 });
    expect(bundle.entry.map((e: Json) => e.resource.meta.versionId)).toEqual(['2', '1']);

    const search = await call('GET', 'Patient?family=Xmlsen&_format=xml');
    const searchset = readXml(search.text);
    expect(searchset).toMatchObject({ resourceType: 'Bundle', type: 'searchset', total: 1 });
    expect(searchset.entry[0].resource.id).toBe(id);
    expect(search.text).toContain('<entry><fullUrl value=');
    expect(search.text).toContain('<resource><Patient><id value=');

    const head = await fetch(`${base}/Patient/${id}`, { method: 'HEAD', headers: { ...auth, accept: XML } });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-type')).toBe('application/fhir+xml; charset=utf-8');
    expect(await head.text()).toBe('');
  });

  it('answers an XML request in XML when the client states no preference, and JSON stays the default', async () => {
    const noAccept = await fetch(`${base}/Patient`, { method: 'POST', headers: { ...auth, 'content-type': XML }, body: patientXml('Default') });
    expect(noAccept.status).toBe(201);
    expect(noAccept.headers.get('content-type')).toBe('application/fhir+xml; charset=utf-8');
    const jsonWanted = await call('POST', 'Patient', { 'content-type': XML, accept: 'application/fhir+json' }, patientXml('Default'));
    expect(jsonWanted.status).toBe(201);
    expect(JSON.parse(jsonWanted.text).name[0].family).toBe('Default');
    const plain = await fetch(`${base}/metadata`);
    expect(plain.headers.get('content-type')).toBe('application/fhir+json; charset=utf-8');
    const metadata = await call('GET', 'metadata', { accept: XML });
    const statement = readXml(metadata.text);
    expect(statement.format).toEqual(['application/fhir+json', 'json', 'application/fhir+xml', 'xml']);
    expect(statement.patchFormat).toEqual(['application/json-patch+json', 'application/fhir+json', 'application/fhir+xml']);
  });

  it('runs a transaction and a batch in XML, urn:uuid references resolved', async () => {
    const transaction = `<Bundle xmlns="http://hl7.org/fhir"><type value="transaction"/>
      <entry><fullUrl value="urn:uuid:0b7f9c7e-43c6-4f4e-9b8a-1d8e5b1f0c11"/><resource>${patientXml('Transacted').replace(/<\?xml[^>]*>/, '')}</resource>
        <request><method value="POST"/><url value="Patient"/></request></entry>
      <entry><resource><Observation><status value="final"/><code><text value="Heart rate"/></code>
          <subject><reference value="urn:uuid:0b7f9c7e-43c6-4f4e-9b8a-1d8e5b1f0c11"/></subject>
          <valueQuantity><value value="72.0"/><unit value="/min"/></valueQuantity></Observation></resource>
        <request><method value="POST"/><url value="Observation"/></request></entry>
    </Bundle>`;
    const response = await call('POST', '', { 'content-type': XML, accept: XML, prefer: 'return=representation' }, transaction);
    expect(response.status).toBe(200);
    const result = readXml(response.text);
    expect(result.type).toBe('transaction-response');
    expect(result.entry.map((e: Json) => e.response.status)).toEqual(['201 Created', '201 Created']);
    const patientId = result.entry[0].resource.id;
    expect(result.entry[1].resource.subject.reference).toBe(`Patient/${patientId}`);
    expect(result.entry[1].resource.valueQuantity.value).toBe(72);

    const batch = `<Bundle xmlns="http://hl7.org/fhir"><type value="batch"/>
      <entry><request><method value="GET"/><url value="Patient/${patientId}"/></request></entry>
      <entry><request><method value="GET"/><url value="Patient/does-not-exist"/></request></entry>
    </Bundle>`;
    const batchResponse = readXml((await call('POST', '', { 'content-type': XML, accept: XML }, batch)).text);
    expect(batchResponse.type).toBe('batch-response');
    expect(batchResponse.entry[0].resource.name[0].family).toBe('Transacted');
    expect(batchResponse.entry[1].response.status).toBe('404 Not Found');
    expect(batchResponse.entry[1].response.outcome.resourceType).toBe('OperationOutcome');
  });

  it('refuses a transaction in XML as a whole when one entry is invalid', async () => {
    const transaction = `<Bundle xmlns="http://hl7.org/fhir"><type value="transaction"/>
      <entry><resource>${patientXml('NeverStored').replace(/<\?xml[^>]*>/, '')}</resource><request><method value="POST"/><url value="Patient"/></request></entry>
      <entry><resource><Observation><code><text value="no status"/></code></Observation></resource><request><method value="POST"/><url value="Observation"/></request></entry>
    </Bundle>`;
    const response = await call('POST', '', { 'content-type': XML, accept: XML }, transaction);
    expect(response.status).toBe(400);
    const outcome = readXml(response.text);
    expect(outcome.resourceType).toBe('OperationOutcome');
    expect(outcome.issue[0].diagnostics).toContain('Bundle.entry[1]');
    expect(readXml((await call('GET', 'Patient?family=NeverStored', { accept: XML })).text).total).toBe(0);
  });
});

describe('XML errors and negotiation', () => {
  it('renders errors as XML OperationOutcomes with the right status', async () => {
    const missing = await call('GET', 'Patient/nope', { accept: XML });
    expect(missing.status).toBe(404);
    expect(missing.headers.get('content-type')).toBe('application/fhir+xml; charset=utf-8');
    expect(missing.text).toBe(
      '<OperationOutcome xmlns="http://hl7.org/fhir"><issue><severity value="error"/><code value="not-found"/><diagnostics value="Patient/nope is not known"/></issue></OperationOutcome>',
    );
    const invalid = await call(
      'POST',
      'Patient',
      { 'content-type': XML, accept: XML },
      '<Patient xmlns="http://hl7.org/fhir"><birthDate value="02/03/1980"/></Patient>',
    );
    expect(invalid.status).toBe(400);
    expect(readXml(invalid.text).issue.some((i: Json) => i.expression?.includes('Patient.birthDate'))).toBe(true);
    const unauthorized = await fetch(`${base}/Patient`, { headers: { accept: XML } });
    expect(unauthorized.status).toBe(401);
    expect(unauthorized.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect(readXml(await unauthorized.text()).issue[0].code).toBe('login');
  });

  it('refuses hostile or malformed XML with 400 and writes nothing', async () => {
    const bodies = [
      '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]><Patient xmlns="http://hl7.org/fhir"><name><family value="&lol2;"/></name></Patient>',
      '<!DOCTYPE p [<!ENTITY x SYSTEM "file:///etc/passwd">]><Patient xmlns="http://hl7.org/fhir"><name><family value="&x;"/></name></Patient>',
      `<Patient xmlns="http://hl7.org/fhir">${'<extension url="x">'.repeat(100_000)}`,
      '<Patient xmlns="http://hl7.org/fhir"><name><family value="Unclosed"/></name>',
      '<Patient xmlns="http://hl7.org/fhir"><name><family value="&undeclared;"/></name></Patient>',
    ];
    for (const body of bodies) {
      const response = await call('POST', 'Patient', { 'content-type': XML, accept: XML }, body);
      expect(response.status, body.slice(0, 60)).toBe(400);
      expect(readXml(response.text).resourceType).toBe('OperationOutcome');
    }
    expect(readXml((await call('GET', 'Patient?family=lollol,Unclosed', { accept: XML })).text).total).toBe(0);
  });

  it('answers 406 and 415 only for what neither format serves', async () => {
    const html = await call('GET', 'Patient', { accept: 'text/html' });
    expect(html.status).toBe(406);
    expect(html.headers.get('content-type')).toBe('application/fhir+json; charset=utf-8');
    expect((await call('GET', 'Patient?_format=turtle')).status).toBe(406);
    expect((await call('GET', 'Patient', { accept: 'text/html, application/xml;q=0.9' })).headers.get('content-type')).toBe(
      'application/fhir+xml; charset=utf-8',
    );
    const text = await call('POST', 'Patient', { 'content-type': 'text/plain' }, 'hello');
    expect(text.status).toBe(415);
    expect(JSON.parse(text.text).issue[0].diagnostics).toContain('application/fhir+xml');
    const xhtml = await call('POST', 'Patient', { 'content-type': 'application/xhtml+xml' }, '<p/>');
    expect(xhtml.status).toBe(415);
  });

  it('leaves non-FHIR JSON documents as they are', async () => {
    const discovery = await call('GET', '.well-known/smart-configuration', { accept: XML });
    expect(discovery.status).toBe(200);
    expect(discovery.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(JSON.parse(discovery.text).token_endpoint).toBeTruthy();
  });
});

describe.skipIf(!hasSharedSamples)('official R4 examples sent as XML (../shared)', () => {
  it('are stored exactly as their JSON', async () => {
    const dir = sharedPath('hl7-r4-examples');
    const skip = new Set(Object.keys(knownInvalid['hl7-r4-examples']));
    // Every 10th example: all kinds of resources, within the test's time.
    const files = readdirSync(dir)
      .filter((f) => f.endsWith('.json') && !skip.has(f))
      .filter((_f, i) => i % 10 === 0);
    const strip = (r: Json) => {
      const { meta, ...rest } = r;
      const { versionId: _v, lastUpdated: _l, ...keep } = (meta ?? {}) as Json;
      return Object.keys(keep).length ? { ...rest, meta: keep } : rest;
    };
    for (const file of files) {
      const example = JSON.parse(readFileSync(path.join(dir, file), 'utf8')) as Json;
      const put = await call('PUT', `${example.resourceType}/${example.id}`, { 'content-type': XML, accept: 'application/fhir+json' }, resourceToXml(example));
      expect(put.status, `${file}: ${put.text.slice(0, 300)}`).toBeLessThan(300);
      expect(strip(JSON.parse(put.text)), file).toEqual(strip(example));
    }
    expect(files.length).toBeGreaterThan(60);
  }, 120_000);
});
