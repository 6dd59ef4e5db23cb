/**
 * `_text`, `_content`, `near`, `_filter` and `_list` over real HTTP with tokens from the real
 * authorization server: what the CapabilityStatement says, exact 400s, and the access policy on
 * each of them (the token's compartment and granular filters, evaluated in the store and in
 * memory, and the List of `_list` limited like any other hop).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../support/server.js';
import { backendClient } from '../../support/tokens.js';
import { PATIENT_USER, userToken } from '../../support/user-tokens.js';

let server: TestServer;
let admin: string;
let amy: string;
let amysObservations: string[];

async function fhir(token: string, method: string, path: string, body?: unknown) {
  const response = await fetch(`${server.fhirUrl}/${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/fhir+json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, body: text ? (JSON.parse(text) as Record<string, any>) : undefined, headers: response.headers };
}

/** Ids of the matches of a search, in the order of the Bundle. */
async function ids(token: string, query: string): Promise<string[]> {
  const res = await fhir(token, 'GET', query);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return (res.body!.entry ?? []).filter((e: any) => e.search.mode === 'match').map((e: any) => e.resource.id as string);
}

const HOSPITAL = ['bedside-general-clinic', 'bedside-general-ed', 'bedside-general-pediatrics', 'bedside-general-ward'];

beforeAll(async () => {
  server = await startTestServer({ seed: true });
  admin = await (await backendClient(server.baseUrl, 'system/*.cruds')).token();
  amy = (await userToken(server, { ...PATIENT_USER, scope: 'openid fhirUser user/*.rs' })).access_token;
  amysObservations = await ids(admin, 'Observation?patient=patient-001&_count=3&_sort=_id');
  const list = (id: string, subject: string, items: string[]) => ({
    resourceType: 'List',
    id,
    status: 'current',
    mode: 'working',
    subject: { reference: subject },
    entry: items.map((item) => ({ item: { reference: item } })),
  });
  // One list in Amy's record, one in another patient's record that lists Amy's observations.
  expect((await fhir(admin, 'PUT', 'List/amys-list', list('amys-list', 'Patient/patient-001', amysObservations.slice(0, 2).map((o) => `Observation/${o}`)))).status).toBe(201);
  expect((await fhir(admin, 'PUT', 'List/other-list', list('other-list', 'Patient/patient-002', amysObservations.map((o) => `Observation/${o}`)))).status).toBe(201);
}, 180_000);
afterAll(async () => server?.stop());

describe('the CapabilityStatement', () => {
  it('lists _text, _content, _filter, _list and near with their syntax', async () => {
    const res = await fetch(`${server.fhirUrl}/metadata`);
    const statement = (await res.json()) as Record<string, any>;
    const paramsOf = (type: string) => statement.rest[0].resource.find((r: any) => r.type === type).searchParam as Array<Record<string, string>>;
    const byName = (type: string) => new Map(paramsOf(type).map((p) => [p.name, p]));
    const observation = byName('Observation');
    expect(observation.get('_text')).toMatchObject({ type: 'string', definition: 'http://hl7.org/fhir/SearchParameter/DomainResource-text', documentation: expect.stringContaining('"quoted words"') });
    expect(observation.get('_content')).toMatchObject({ type: 'string', documentation: expect.stringContaining('Full text of the whole resource') });
    expect(observation.get('_filter')).toMatchObject({ type: 'special', documentation: expect.stringContaining('eq, ne, co, sw, ew') });
    expect(observation.get('_list')).toMatchObject({ type: 'special' });
    expect(byName('Location').get('near')).toMatchObject({ type: 'special', definition: 'http://hl7.org/fhir/SearchParameter/Location-near', documentation: expect.stringContaining('10 km') });
    expect(byName('Bundle').get('_text')).toBeUndefined();
  });
});

describe('answers', () => {
  it('finds by words of the narrative and of the whole resource', async () => {
    const diabetes = await ids(admin, 'Condition?_text=diabetes&_count=100');
    expect(diabetes.length).toBeGreaterThan(0);
    for (const id of diabetes) expect((await fhir(admin, 'GET', `Condition/${id}`)).body!.text.div.toLowerCase()).toContain('diabet');
    expect(await ids(admin, 'Patient?_content=%22Amy Elizabeth Shaw%22')).toEqual(['patient-001']);
    expect(await ids(admin, 'Patient?_text=amy OR nobody-at-all&_text=quincy')).toEqual(['patient-001']);
  });

  it('lists Locations near a point, nearest first, with a next link that keeps the order', async () => {
    const near = await ids(admin, 'Location?near=42.3626|-71.0691|1|km');
    expect(near[0]).toBe('bedside-general-ward');
    expect([...near].sort()).toEqual(HOSPITAL);
    const page = await fhir(admin, 'GET', 'Location?near=42.3626|-71.0691|50|km&_count=2');
    const next = page.body!.link.find((l: any) => l.relation === 'next').url as string;
    const rest = await fetch(next, { headers: { authorization: `Bearer ${admin}` } }).then((r) => r.json() as Promise<Record<string, any>>);
    const all = await ids(admin, 'Location?near=42.3626|-71.0691|50|km&_count=100');
    expect([...page.body!.entry, ...rest.entry].map((e: any) => e.resource.id)).toEqual(all.slice(0, 4));
  });

  it('compiles _filter, and refuses what it does not support with a 400 naming it', async () => {
    expect(await ids(admin, `Patient?_filter=${encodeURIComponent('family eq "shaw" and gender eq female')}`)).toEqual(['patient-001']);
    const chained = await fhir(admin, 'GET', `Observation?_filter=${encodeURIComponent('subject.name co "shaw"')}`);
    expect(chained.status).toBe(400);
    expect(chained.body).toMatchObject({ resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'not-supported', diagnostics: expect.stringContaining('chained paths ("subject.name") are not supported') }] });
    // in and ni go to the terminology service, as :in and :not-in would.
    const clinical = 'http://hl7.org/fhir/ValueSet/condition-clinical';
    const inSet = await ids(admin, `Condition?_filter=${encodeURIComponent(`clinical-status in ${clinical}`)}&_count=200`);
    expect(inSet.length).toBeGreaterThan(0);
    expect(inSet).toEqual(await ids(admin, `Condition?clinical-status:in=${clinical}&_count=200`));
    expect(await ids(admin, `Condition?_filter=${encodeURIComponent(`clinical-status ni ${clinical}`)}&_count=200`)).toEqual([]);
    const overlaps = await fhir(admin, 'GET', `Patient?_filter=${encodeURIComponent('birthdate po 2000')}`);
    expect(overlaps.status).toBe(400);
    expect(overlaps.body!.issue[0].diagnostics).toContain('"po"');
    expect((await fhir(admin, 'GET', 'Patient?_text=%22unclosed')).status).toBe(400);
    expect((await fhir(admin, 'GET', 'Location?near=100|0')).status).toBe(400);
  });

  it('finds the members of a List with _list', async () => {
    expect((await ids(admin, 'Observation?_list=amys-list')).sort()).toEqual(amysObservations.slice(0, 2).sort());
    expect((await ids(admin, 'Observation?_list=other-list')).sort()).toEqual([...amysObservations].sort());
  });
});

describe('the access policy', () => {
  it('limits _text, _content, _filter and near to what a patient user may see', async () => {
    const conditions = await ids(amy, 'Condition?_text=diabetes OR hypertension&_count=100');
    expect(conditions.length).toBeGreaterThan(0);
    expect(conditions.every((id) => id.startsWith('patient-001-'))).toBe(true);
    expect((await ids(admin, 'Condition?_text=diabetes OR hypertension&_count=100')).some((id) => !id.startsWith('patient-001-'))).toBe(true);
    expect(await ids(amy, 'Patient?_content=ma')).toEqual(['patient-001']);
    expect((await ids(admin, 'Patient?_content=ma')).length).toBe(12);
    expect(await ids(amy, `Observation?_filter=${encodeURIComponent('subject eq Patient/patient-002')}`)).toEqual([]);
    expect((await ids(admin, `Observation?_filter=${encodeURIComponent('subject eq Patient/patient-002')}`)).length).toBeGreaterThan(0);
    // Amy reaches the Locations her records reference, not the community sites near them.
    const near = await ids(amy, 'Location?near=42.3626|-71.0691|50|km&_count=100');
    expect(near.length).toBeGreaterThan(0);
    expect(near.every((id) => HOSPITAL.includes(id))).toBe(true);
    expect((await ids(admin, 'Location?near=42.3626|-71.0691|50|km&_count=100')).some((id) => id.startsWith('community-site-'))).toBe(true);
  });

  it('limits the List of _list like any other hop: another patient\'s List lists nothing for Amy', async () => {
    expect((await ids(amy, 'Observation?_list=amys-list')).sort()).toEqual(amysObservations.slice(0, 2).sort());
    // The same observations of hers, listed by a List in another patient's record: not a List she may search.
    expect(await ids(amy, 'Observation?_list=other-list')).toEqual([]);
  });

  it('refuses _list to a token that may not search Lists, as a search of List would be', async () => {
    const token = await (await backendClient(server.baseUrl, 'system/Observation.rs')).token();
    const res = await fhir(token, 'GET', 'Observation?_list=amys-list');
    expect(res.status).toBe(403);
    expect(res.headers.get('www-authenticate')).toContain('error="insufficient_scope"');
    expect(res.body!.issue[0].diagnostics).toContain('List');
    expect((await ids(token, `Observation?_id=${amysObservations[0]}`))).toEqual([amysObservations[0]]);
  });

  it('applies granular scopes with _text and near in searches and, evaluated in memory, in reads', async () => {
    const diabetesOnly = await (await backendClient(server.baseUrl, 'system/Condition.rs?_text=diabetes')).token();
    const found = await ids(diabetesOnly, 'Condition?_count=200');
    expect(found.sort()).toEqual((await ids(admin, 'Condition?_text=diabetes&_count=200')).sort());
    const other = (await ids(admin, 'Condition?_count=200')).find((id) => !found.includes(id))!;
    expect((await fhir(diabetesOnly, 'GET', `Condition/${found[0]}`)).status).toBe(200);
    expect((await fhir(diabetesOnly, 'GET', `Condition/${other}`)).status).toBe(404);

    const campusOnly = await (await backendClient(server.baseUrl, 'system/Location.rs?near=42.3626|-71.0691|1|km')).token();
    expect((await ids(campusOnly, 'Location?_count=100')).sort()).toEqual(HOSPITAL);
    expect((await fhir(campusOnly, 'GET', 'Location/bedside-general-ward')).status).toBe(200);
    expect((await fhir(campusOnly, 'GET', 'Location/community-site-0002')).status).toBe(404);
  });
});
