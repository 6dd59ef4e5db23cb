/**
 * `_text`, `_content`, `near`, `_filter` and `_list` over real HTTP with tokens from the real
 * authorization server: what the CapabilityStatement says, exact 400s, and the access policy on
 * each of them (the token's compartment and granular filters, evaluated in the store and in
 * memory, and the List of `_list` limited like any other hop).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../support/server.js';
import { backendClient } from '../../support/tokens.js';
import { PATIENT_USER, PRACTITIONER, userToken } from '../../support/user-tokens.js';

let server: TestServer;
let admin: string;
let amy: string;
let amysObservations: string[];
let amysLabs: string[];

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

/**
 * A search's answer as its client sees it, less what differs with the request itself (the
 * Bundle's id and time, the query echoed in links): two searches a token cannot tell apart
 * answer equal values here.
 */
async function answer(token: string, query: string) {
  const res = await fhir(token, 'GET', query);
  const { id: _id, meta: _meta, timestamp: _timestamp, link, ...rest } = res.body ?? {};
  return { status: res.status, links: (link ?? []).map((l: any) => l.relation as string), body: rest };
}

const CATEGORY = 'http://terminology.hl7.org/CodeSystem/observation-category';
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
  expect(
    (
      await fhir(
        admin,
        'PUT',
        'List/amys-list',
        list(
          'amys-list',
          'Patient/patient-001',
          amysObservations.slice(0, 2).map((o) => `Observation/${o}`),
        ),
      )
    ).status,
  ).toBe(201);
  expect(
    (
      await fhir(
        admin,
        'PUT',
        'List/other-list',
        list(
          'other-list',
          'Patient/patient-002',
          amysObservations.map((o) => `Observation/${o}`),
        ),
      )
    ).status,
  ).toBe(201);
  // A List in Amy's record of her laboratory results only.
  amysLabs = await ids(admin, `Observation?patient=patient-001&category=${CATEGORY}|laboratory&_count=3&_sort=_id`);
  expect(
    (
      await fhir(
        admin,
        'PUT',
        'List/amys-labs',
        list(
          'amys-labs',
          'Patient/patient-001',
          amysLabs.map((o) => `Observation/${o}`),
        ),
      )
    ).status,
  ).toBe(201);
}, 180_000);
afterAll(async () => server?.stop());

describe('the CapabilityStatement', () => {
  it('lists _text, _content, _filter, _list and near with their syntax', async () => {
    const res = await fetch(`${server.fhirUrl}/metadata`);
    const statement = (await res.json()) as Record<string, any>;
    const paramsOf = (type: string) => statement.rest[0].resource.find((r: any) => r.type === type).searchParam as Array<Record<string, string>>;
    const byName = (type: string) => new Map(paramsOf(type).map((p) => [p.name, p]));
    const observation = byName('Observation');
    expect(observation.get('_text')).toMatchObject({
      type: 'string',
      definition: 'http://hl7.org/fhir/SearchParameter/DomainResource-text',
      documentation: expect.stringContaining('"quoted words"'),
    });
    expect(observation.get('_content')).toMatchObject({ type: 'string', documentation: expect.stringContaining('Full text of the whole resource') });
    expect(observation.get('_filter')).toMatchObject({ type: 'special', documentation: expect.stringContaining('eq, ne, co, sw, ew') });
    expect(observation.get('_list')).toMatchObject({ type: 'special' });
    expect(byName('Location').get('near')).toMatchObject({
      type: 'special',
      definition: 'http://hl7.org/fhir/SearchParameter/Location-near',
      documentation: expect.stringContaining('10 km'),
    });
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
    expect(chained.body).toMatchObject({
      resourceType: 'OperationOutcome',
      issue: [{ severity: 'error', code: 'not-supported', diagnostics: expect.stringContaining('chained paths ("subject.name") are not supported') }],
    });
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

  it("limits the List of _list like any other hop: another patient's List lists nothing for Amy", async () => {
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
    expect(await ids(token, `Observation?_id=${amysObservations[0]}`)).toEqual([amysObservations[0]]);
  });

  it('issues no granular scope filtered by _list, whose List no policy would check', async () => {
    // Such a token's searches would tell which of Amy's observations a List it may not search
    // lists: the scope grammar refuses the filter when the token is asked for (and a policy
    // compiled from one anyway grants nothing: test/unit/access).
    await expect(backendClient(server.baseUrl, 'system/Observation.rs?_list=other-list').then((client) => client.token())).rejects.toThrow(/scope/);
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

/**
 * A restricted token must not tell a value that exists outside its policy from a made-up one:
 * for each pair the token's answers (matches, `_total=accurate`, `_summary=count`) are equal,
 * while an unrestricted token's differ, so each pair would catch a leak.
 */
describe('what a restricted token learns about resources outside its policy: nothing', () => {
  type Pair = readonly [real: string, madeUp: string];

  async function expectIndistinguishable(token: string, pairs: readonly Pair[]) {
    for (const [real, madeUp] of pairs) {
      for (const suffix of ['&_total=accurate', '&_summary=count']) {
        const [outside, nothing] = [await answer(token, real + suffix), await answer(token, madeUp + suffix)];
        expect(outside.status, real + suffix).toBe(200);
        expect(outside, `${real}${suffix} against ${madeUp}${suffix}`).toEqual(nothing);
        expect(outside.body.total, real + suffix).toBe(0);
        // The pair is a real test: without the policy the two answers differ.
        const [all, none] = [await answer(admin, real + suffix), await answer(admin, madeUp + suffix)];
        expect(all.body.total, `unrestricted ${real}${suffix}`).toBeGreaterThan(0);
        expect(none.body.total, `unrestricted ${madeUp}${suffix}`).toBe(0);
      }
    }
  }

  it("a patient user: another patient's words, references, places and Lists count as nothing", async () => {
    // A community site Amy's records do not reference (she reaches the hospital's wings only).
    const mine = await ids(amy, 'Location?_count=100');
    const site = (await fhir(admin, 'GET', 'Location?_id=community-site-0002,community-site-0003,community-site-0004'))
      .body!.entry.map((e: any) => e.resource)
      .find((l: any) => !mine.includes(l.id));
    expect(site).toBeDefined();
    const { latitude, longitude } = site.position;
    await expectIndistinguishable(amy, [
      ['Patient?_text=garcia', 'Patient?_text=zyxwvq'],
      ['Patient?_content=%22jos%C3%A9 luis%22', 'Patient?_content=%22jos%C3%A9 zyxwvq%22'],
      ['Condition?_text=pneumonia', 'Condition?_text=zyxwvq'],
      [
        `Condition?_text=hypertension&_filter=${encodeURIComponent('subject eq Patient/patient-002')}`,
        `Condition?_text=hypertension&_filter=${encodeURIComponent('subject eq Patient/patient-999')}`,
      ],
      [
        `Observation?_filter=${encodeURIComponent('subject eq Patient/patient-002 or patient eq Patient/patient-003')}`,
        `Observation?_filter=${encodeURIComponent('subject eq Patient/patient-998 or patient eq Patient/patient-999')}`,
      ],
      [`Location?near=${latitude}|${longitude}|0.2|km`, 'Location?near=0|0|0.2|km'],
      // A List in another patient's record answers as a List that does not exist.
      ['Observation?_list=other-list', 'Observation?_list=no-such-list'],
    ]);
    // The List itself reads as absent, with the same answer as an absent one.
    const [outside, absent] = [await fhir(amy, 'GET', 'List/other-list'), await fhir(amy, 'GET', 'List/no-such-list')];
    expect(outside.status).toBe(404);
    expect(JSON.stringify(outside.body).replaceAll('other-list', 'ID')).toBe(JSON.stringify(absent.body).replaceAll('no-such-list', 'ID'));
    // Her own, for contrast: the same kinds of search find what is within her policy.
    expect((await answer(amy, 'Patient?_text=amy&_total=accurate')).body.total).toBe(1);
    expect((await answer(amy, 'Observation?_list=amys-list&_summary=count')).body.total).toBe(2);
  });

  it('a granular patient token (vital signs only): laboratory words, codes and Lists count as nothing', async () => {
    const vitals = await userToken(server, {
      ...PRACTITIONER,
      scope: `launch/patient patient/Observation.rs?category=${CATEGORY}|vital-signs patient/List.rs`,
      patient: 'patient-001',
    });
    const token = vitals.access_token;
    expect(vitals.patient).toBe('patient-001');
    // Words and codes of Amy's own laboratory results, outside the token's category; admin is limited to Amy to show they are hers.
    expect((await answer(admin, 'Observation?patient=patient-001&_text=cholesterol&_summary=count')).body.total).toBeGreaterThan(0);
    await expectIndistinguishable(token, [
      ['Observation?_text=cholesterol', 'Observation?_text=zyxwvq'],
      ['Observation?_content=%22total cholesterol%22', 'Observation?_content=%22total zyxwvq%22'],
      [
        `Observation?_filter=${encodeURIComponent(`category eq ${CATEGORY}|laboratory`)}`,
        `Observation?_filter=${encodeURIComponent(`category eq ${CATEGORY}|zyxwvq`)}`,
      ],
      [
        `Observation?_filter=${encodeURIComponent('not (category eq vital-signs) and code pr true')}`,
        `Observation?_filter=${encodeURIComponent('not (category eq vital-signs) and code pr false')}`,
      ],
      // A List within the policy whose items are not, and a List outside it: both as no List at all.
      ['Observation?_list=amys-labs', 'Observation?_list=no-such-list'],
      ['Observation?_list=other-list', 'Observation?_list=no-such-list'],
    ]);
    // Within the policy the same searches find her vital signs.
    expect((await answer(token, 'Observation?_text=heart&_total=accurate')).body.total).toBeGreaterThan(0);
    expect((await answer(token, 'List?_id=amys-labs&_summary=count')).body.total).toBe(1);
  });
});
