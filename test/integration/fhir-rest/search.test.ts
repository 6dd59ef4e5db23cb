/**
 * FHIR search over real HTTP: paging with stable cursors, totals, _summary/_elements, includes,
 * sorting, compartments, $everything, POST _search, system search, strictness and errors.
 * https://hl7.org/fhir/R4/search.html
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../support/server.js';
import { backendClient } from '../../support/tokens.js';

let server: TestServer;
let base: string;
let auth: Record<string, string>;

async function get(path: string, headers: Record<string, string> = {}) {
  const response = await fetch(path.startsWith('http') ? path : `${base}/${path}`, { headers: { ...auth, ...headers } });
  return { status: response.status, body: (await response.json()) as Record<string, any> };
}
const ids = (bundle: Record<string, any>, mode = 'match') =>
  (bundle.entry ?? []).filter((e: any) => e.search?.mode === mode).map((e: any) => `${e.resource.resourceType}/${e.resource.id}`);
const outcomeOf = (bundle: Record<string, any>) => bundle.entry?.find((e: any) => e.search.mode === 'outcome')?.resource;
const link = (bundle: Record<string, any>, relation: string) => bundle.link?.find((l: any) => l.relation === relation)?.url as string | undefined;

const obs = (id: string, patient: string, code: string, date: string, value: number, performer = 'Practitioner/s-dr') => ({
  resource: {
    resourceType: 'Observation',
    id,
    status: 'final',
    category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'vital-signs' }] }],
    code: { coding: [{ system: 'http://loinc.org', code }] },
    subject: { reference: `Patient/${patient}` },
    performer: [{ reference: performer }],
    effectiveDateTime: date,
    valueQuantity: { value, unit: '/min', system: 'http://unitsofmeasure.org', code: '/min' },
  },
  request: { method: 'PUT', url: `Observation/${id}` },
});

beforeAll(async () => {
  server = await startTestServer();
  base = server.fhirUrl;
  auth = { authorization: `Bearer ${await (await backendClient(server.baseUrl)).token()}` };
  const entries = [
    {
      resource: { resourceType: 'Practitioner', id: 's-dr', name: [{ family: 'Carter', given: ['Alice'] }] },
      request: { method: 'PUT', url: 'Practitioner/s-dr' },
    },
    { resource: { resourceType: 'Organization', id: 's-org', name: 'Bedside General' }, request: { method: 'PUT', url: 'Organization/s-org' } },
    {
      resource: {
        resourceType: 'Patient',
        id: 's-p1',
        gender: 'female',
        birthDate: '1987-02-20',
        name: [{ family: 'Müller', given: ['Zoë'] }],
        managingOrganization: { reference: 'Organization/s-org' },
        generalPractitioner: [{ reference: 'Practitioner/s-dr' }],
      },
      request: { method: 'PUT', url: 'Patient/s-p1' },
    },
    {
      resource: { resourceType: 'Patient', id: 's-p2', gender: 'male', birthDate: '1950-07-01', name: [{ family: 'Shaw', given: ["O'Brien"] }] },
      request: { method: 'PUT', url: 'Patient/s-p2' },
    },
    ...Array.from({ length: 7 }, (_, i) => obs(`s-o${i + 1}`, 's-p1', '8867-4', `2021-0${i + 1}-15T10:00:00Z`, 60 + i * 5)),
    obs('s-o8', 's-p2', '8867-4', '2019-05-01T10:00:00Z', 110),
    obs('s-o9', 's-p2', '9279-1', '2020-05-01', 18),
    {
      resource: {
        resourceType: 'Condition',
        id: 's-c1',
        subject: { reference: 'Patient/s-p1' },
        code: { coding: [{ system: 'http://snomed.info/sct', code: '38341003' }] },
      },
      request: { method: 'PUT', url: 'Condition/s-c1' },
    },
  ];
  const res = await fetch(base, {
    method: 'POST',
    headers: { 'content-type': 'application/fhir+json', ...auth },
    body: JSON.stringify({ resourceType: 'Bundle', type: 'transaction', entry: entries }),
  });
  expect(res.status).toBe(200);
});
afterAll(async () => {
  await server.stop();
});

describe('paging', () => {
  it('walks every match once through next links, and back through previous links', async () => {
    const first = await get('Observation?patient=s-p1&_count=3&_sort=date');
    expect(first.body.type).toBe('searchset');
    expect(first.body.entry).toHaveLength(3);
    const seen = ids(first.body);
    let next = link(first.body, 'next');
    const pages = [first.body];
    while (next) {
      const page = await get(next);
      pages.push(page.body);
      seen.push(...ids(page.body));
      next = link(page.body, 'next');
    }
    expect(seen).toEqual(['s-o1', 's-o2', 's-o3', 's-o4', 's-o5', 's-o6', 's-o7'].map((id) => `Observation/${id}`));
    const back = await get(link(pages[2]!, 'previous')!);
    expect(ids(back.body)).toEqual(ids(pages[1]!));
  });

  it('neither skips nor repeats when resources are created or deleted between pages', async () => {
    const first = await get('Observation?code=8867-4&_count=2');
    const seen = ids(first.body);
    // A new match arrives and an already-seen one disappears while the client pages.
    await fetch(`${base}/Observation/s-o-late`, {
      method: 'PUT',
      headers: { 'content-type': 'application/fhir+json', ...auth },
      body: JSON.stringify(obs('s-o-late', 's-p2', '8867-4', '2022-01-01', 70).resource),
    });
    await fetch(`${base}/${seen[0]}`, { method: 'DELETE', headers: auth });
    let next = link(first.body, 'next');
    while (next) {
      const page = await get(next);
      seen.push(...ids(page.body));
      next = link(page.body, 'next');
    }
    expect(new Set(seen).size).toBe(seen.length);
    for (const id of ['s-o2', 's-o3', 's-o4', 's-o5', 's-o6', 's-o7', 's-o8']) expect(seen).toContain(`Observation/${id}`);
    // Put the data back as the other tests expect it.
    await fetch(`${base}/${seen[0]}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/fhir+json', ...auth },
      body: JSON.stringify(obs(seen[0]!.split('/')[1]!, 's-p1', '8867-4', '2021-01-15T10:00:00Z', 60).resource),
    });
    await fetch(`${base}/Observation/s-o-late`, { method: 'DELETE', headers: auth });
  });

  it('rejects a tampered cursor with 400', async () => {
    const res = await get('Observation?_cursor=not-a-cursor');
    expect(res.status).toBe(400);
  });
});

describe('result parameters', () => {
  it('_total=accurate, _summary=count and _count=0 give totals', async () => {
    const accurate = await get('Observation?patient=s-p1&_total=accurate&_count=2');
    expect(accurate.body.total).toBe(7);
    expect(accurate.body.entry).toHaveLength(2);
    const count = await get('Observation?patient=s-p1&_summary=count');
    expect(count.body.total).toBe(7);
    expect(count.body.entry).toBeUndefined();
  });

  it('_summary=true and _elements return marked subsets', async () => {
    const summary = await get('Patient?_id=s-p1&_summary=true');
    const patient = summary.body.entry[0].resource;
    expect(patient.name).toBeDefined();
    expect(patient.managingOrganization).toBeDefined();
    expect(patient.meta.tag).toContainEqual(expect.objectContaining({ code: 'SUBSETTED' }));
    const elements = await get('Patient?_id=s-p1&_elements=gender');
    expect(Object.keys(elements.body.entry[0].resource).sort()).toEqual(['gender', 'id', 'meta', 'resourceType']);
  });

  it('sorts by several keys and in both directions', async () => {
    const desc = await get('Observation?code=8867-4&_sort=-value-quantity&_count=3');
    expect(ids(desc.body)).toEqual(['Observation/s-o8', 'Observation/s-o7', 'Observation/s-o6']);
    const multi = await get('Observation?_sort=patient,-date&_count=3');
    expect(ids(multi.body)).toEqual(['Observation/s-o7', 'Observation/s-o6', 'Observation/s-o5']);
  });
});

describe('includes', () => {
  it('_include and _revinclude add resources with search.mode include', async () => {
    const res = await get('Observation?_id=s-o1&_include=Observation:patient&_include=Observation:performer');
    expect(ids(res.body)).toEqual(['Observation/s-o1']);
    expect(ids(res.body, 'include').sort()).toEqual(['Patient/s-p1', 'Practitioner/s-dr']);
    const rev = await get('Patient?_id=s-p1&_revinclude=Condition:subject');
    expect(ids(rev.body, 'include')).toEqual(['Condition/s-c1']);
  });

  it(':iterate follows the included resources', async () => {
    const res = await get('Observation?_id=s-o1&_include=Observation:patient&_include:iterate=Patient:organization');
    expect(ids(res.body, 'include').sort()).toEqual(['Organization/s-org', 'Patient/s-p1']);
  });

  it.each([
    [
      'Patient?_id=s-p1&_include=Observation:patient',
      '_include=Observation:patient cannot add anything to this search: it applies to Observation resources, which this search over Patient does not return',
    ],
    [
      'Patient?_id=s-p1&_include=Observation:*',
      '_include=Observation:* cannot add anything to this search: it applies to Observation resources, which this search over Patient does not return',
    ],
    [
      'Patient?_id=s-p1&_include:iterate=Observation:performer',
      '_include:iterate=Observation:performer cannot add anything to this search: it applies to Observation resources, which this search over Patient does not return',
    ],
    [
      'Patient?_id=s-p1&_revinclude=Encounter:practitioner',
      '_revinclude=Encounter:practitioner cannot add anything to this search: Encounter:practitioner refers to Practitioner, never to Patient',
    ],
    [
      'Patient?_id=s-p1&_revinclude=Observation:performer:Practitioner',
      '_revinclude=Observation:performer:Practitioner cannot add anything to this search: Observation:performer refers to Practitioner, never to Patient',
    ],
    ['Patient?_id=s-p1&_revinclude=*', '_revinclude=* cannot add anything to this search: a reverse include needs a source type'],
  ])('treats %s like any unusable parameter: a warning when lenient, a 400 under handling=strict', async (query, message) => {
    const strict = await get(query, { prefer: 'handling=strict' });
    expect(strict.status).toBe(400);
    expect(strict.body).toEqual({ resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'invalid', diagnostics: message }] });
    const lenient = await get(query);
    expect(lenient.status).toBe(200);
    expect(ids(lenient.body)).toEqual(['Patient/s-p1']);
    expect(ids(lenient.body, 'include')).toEqual([]);
    expect(outcomeOf(lenient.body)).toEqual({
      resourceType: 'OperationOutcome',
      issue: [{ severity: 'warning', code: 'not-supported', diagnostics: `${message}; it was ignored` }],
    });
    expect(link(lenient.body, 'self')).toBe(`${base}/Patient?_id=s-p1`);
  });

  it('accepts an iterating include whose source type another include brings in', async () => {
    const res = await get('Patient?_id=s-p1&_revinclude=Observation:subject&_include:iterate=Observation:performer&_count=1', { prefer: 'handling=strict' });
    expect(res.status).toBe(200);
    expect(ids(res.body, 'include')).toContain('Practitioner/s-dr');
    expect(outcomeOf(res.body)).toBeUndefined();
  });
});

describe('chains, reverse chains, compartments and $everything', () => {
  it('chains and _has', async () => {
    const chained = await get('Observation?subject:Patient.name=muller&_count=50');
    expect(ids(chained.body)).toHaveLength(7);
    const has = await get('Patient?_has:Condition:subject:code=38341003');
    expect(ids(has.body)).toEqual(['Patient/s-p1']);
  });

  it('searches inside the patient compartment', async () => {
    const res = await get('Patient/s-p2/Observation');
    expect(ids(res.body).sort()).toEqual(['Observation/s-o8', 'Observation/s-o9']);
    const all = await get('Patient/s-p1/*?_count=50');
    expect(ids(all.body)).toContain('Condition/s-c1');
    expect(ids(all.body)).toContain('Patient/s-p1');
    expect(ids(all.body)).not.toContain('Observation/s-o8');
  });

  it('$everything returns the patient, their compartment and what it references', async () => {
    const res = await get('Patient/s-p2/$everything');
    expect(res.status).toBe(200);
    expect(ids(res.body).sort()).toEqual(['Observation/s-o8', 'Observation/s-o9', 'Patient/s-p2']);
    expect(ids(res.body, 'include')).toEqual(['Practitioner/s-dr']);
    const typed = await get('Patient/s-p2/$everything?_type=Patient');
    expect(ids(typed.body)).toEqual(['Patient/s-p2']);
    expect((await get('Patient/nobody/$everything')).status).toBe(404);
  });
});

describe('search forms', () => {
  it('POST _search with a form body equals GET', async () => {
    const res = await fetch(`${base}/Observation/_search`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...auth },
      body: 'patient=s-p2&code=9279-1',
    });
    expect(res.status).toBe(200);
    expect(ids(await res.json())).toEqual(['Observation/s-o9']);
  });

  it('system search with _type', async () => {
    const res = await get('?_type=Patient,Practitioner&_count=50');
    expect(ids(res.body).sort()).toEqual(['Patient/s-p1', 'Patient/s-p2', 'Practitioner/s-dr']);
  });

  it('accent- and case-insensitive prefix search on strings, exact and contains', async () => {
    expect(ids((await get('Patient?name=MULL')).body)).toEqual(['Patient/s-p1']);
    expect(ids((await get('Patient?given=zoe')).body)).toEqual(['Patient/s-p1']);
    expect(ids((await get('Patient?family:exact=Müller')).body)).toEqual(['Patient/s-p1']);
    expect(ids((await get('Patient?family:exact=muller')).body)).toEqual([]);
    expect(ids((await get('Patient?family:contains=ll')).body)).toEqual(['Patient/s-p1']);
  });
});

describe('strictness, errors and hostile values', () => {
  it('reports an unknown parameter as a warning, or refuses it under Prefer: handling=strict', async () => {
    const lenient = await get('Patient?bogus=1&_id=s-p1');
    expect(ids(lenient.body)).toEqual(['Patient/s-p1']);
    const outcome = lenient.body.entry.find((e: any) => e.search.mode === 'outcome');
    expect(outcome.resource.issue[0].diagnostics).toContain('bogus');
    const strict = await get('Patient?bogus=1', { prefer: 'handling=strict' });
    expect(strict.status).toBe(400);
  });

  it('lists in the self and next links only the parameters it applied, and reports the others', async () => {
    const res = await get('Patient?bogus=1&gender=female&_type=Patient&family=&_include=Observation:patient&_count=5000&_sort=_id');
    expect(res.status).toBe(200);
    expect(link(res.body, 'self')).toBe(`${base}/Patient?gender=female&_count=1000&_sort=_id`);
    expect(outcomeOf(res.body).issue.map((i: any) => i.diagnostics)).toEqual([
      '_count=5000 is above the maximum page size; 1000 used',
      'Unknown search parameter "bogus"; it was ignored',
      '_type is only used in a system-level search; it was ignored',
      '_include=Observation:patient cannot add anything to this search: it applies to Observation resources, which this search over Patient does not return; it was ignored',
    ]);
    const paged = await get('Observation?bogus=1&code=8867-4&_count=2');
    expect(link(paged.body, 'self')).toBe(`${base}/Observation?code=8867-4&_count=2`);
    expect(link(paged.body, 'next')).toMatch(new RegExp(`^${base}/Observation\\?code=8867-4&_count=2&_cursor=[^&]+$`));
  });

  it('$everything reports start and end (care dates) as ignored and leaves them out of its links; strict handling refuses them', async () => {
    const res = await get('Patient/s-p1/$everything?start=2020-01-01&_count=2');
    expect(res.status).toBe(200);
    expect(link(res.body, 'self')).toBe(`${base}/Patient/s-p1/$everything?_count=2`);
    expect(link(res.body, 'next')).toMatch(new RegExp(`^${base}/Patient/s-p1/\\$everything\\?_count=2&_cursor=`));
    expect(outcomeOf(res.body).issue[0].diagnostics).toBe('The parameter "start" of $everything (care dates) is not supported; it was ignored');
    const strict = await get('Patient/s-p1/$everything?end=2020', { prefer: 'handling=strict' });
    expect(strict.status).toBe(400);
    expect(strict.body.issue[0]).toMatchObject({ code: 'not-supported', diagnostics: '$everything does not support end (care dates)' });
  });

  it.each([
    'Observation?date=yesterday',
    'Observation?value-quantity=xx5',
    'Patient?name:bogus=x',
    'Observation?_sort=bogus',
    'Observation?_count=-1',
    'Patient?_include=Patient:nothing',
  ])('refuses %s with 400', async (query) => {
    const res = await get(query);
    expect(res.status).toBe(400);
    expect(res.body.resourceType).toBe('OperationOutcome');
  });

  it.each(["O'Brien", "o'", '%', '_', '.*', '\\', '"', "'; DROP TABLE resources; --", '(a+)+$'])('matches %s literally', async (value) => {
    const res = await get(`Patient?given:contains=${encodeURIComponent(value)}`);
    expect(res.status).toBe(200);
    const expected = value.toLowerCase() === "o'brien" || value === "o'" ? ['Patient/s-p2'] : [];
    expect(ids(res.body)).toEqual(expected);
  });
});
