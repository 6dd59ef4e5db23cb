/**
 * A server started with FHIR_PACKAGES (our example package), over real HTTP with real tokens:
 * the package's conformance resources read and searched like any resource, its search parameter
 * in force, /metadata naming what it instantiates, the terminology operations on its value sets
 * and code system (hand-checked expectations), reads through the token's policy, and
 * `bedside packages add` reaching a running server.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CliIo } from '../../../src/cli/io.js';
import { main } from '../../../src/cli/main.js';
import { readFileSync, writeFileSync } from 'node:fs';
import { GENERATION_CHECK_MS } from '../../../src/packages/conformance.js';
import { PackageError } from '../../../src/packages/errors.js';
import { EXAMPLE_PACKAGE, packFolder } from '../../support/packages.js';
import { startTestServer, type TestServer } from '../../support/server.js';
import { authorizedFetch, backendClient } from '../../support/tokens.js';

let server: TestServer;
let api: typeof fetch;

const COLOURS = 'http://bedside.example/fhir/CodeSystem/colours';
const WARM = 'http://bedside.example/fhir/ValueSet/warm-colours';
const OBSERVATION_CODES = 'http://bedside.example/fhir/ValueSet/observation-codes';
const ALL_LOINC = 'http://bedside.example/fhir/ValueSet/all-loinc';
const COLOUR_EXTENSION = 'http://bedside.example/fhir/StructureDefinition/favourite-colour';

async function get(path: string, fetcher = api) {
  const response = await fetcher(`${server.fhirUrl}/${path}`);
  return { status: response.status, body: (await response.json()) as any };
}
async function post(path: string, body: unknown) {
  const response = await api(`${server.fhirUrl}/${path}`, { method: 'POST', headers: { 'content-type': 'application/fhir+json' }, body: JSON.stringify(body) });
  return { status: response.status, body: (await response.json()) as any };
}
const codes = (valueSet: any) => valueSet.expansion.contains.map((c: any) => `${c.system === COLOURS ? '' : `${c.system}|`}${c.code}`);
const param = (parameters: any, name: string) => parameters.parameter.find((p: any) => p.name === name);
const ids = (bundle: any) => (bundle.entry ?? []).map((e: any) => e.resource.id).sort();

beforeAll(async () => {
  server = await startTestServer({ packages: [EXAMPLE_PACKAGE] });
  api = authorizedFetch(await (await backendClient(server.baseUrl)).token());
  const patient = (id: string, colour: string) => ({
    resourceType: 'Patient',
    id,
    name: [{ family: id }],
    extension: [{ url: COLOUR_EXTENSION, valueCodeableConcept: { coding: [{ system: COLOURS, code: colour }] } }],
  });
  for (const [id, colour] of [
    ['p-red', 'red'],
    ['p-amber', 'amber'],
    ['p-navy', 'navy'],
    ['p-green', 'green'],
  ] as const) {
    const response = await api(`${server.fhirUrl}/Patient/${id}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/fhir+json' },
      body: JSON.stringify(patient(id, colour)),
    });
    expect(response.status).toBe(201);
  }
}, 120_000);
afterAll(async () => {
  await server?.stop();
});

describe('conformance resources of a package', () => {
  it('are read and searched by url, version and name like any resource', async () => {
    const sd = await get('StructureDefinition?url=http://bedside.example/fhir/StructureDefinition/bedside-patient');
    expect(sd.status).toBe(200);
    expect(ids(sd.body)).toEqual(['bedside-patient']);
    expect(ids((await get(`ValueSet?url=${WARM}&version=1.0.0`)).body)).toEqual(['bedside-warm-colours']);
    expect(ids((await get(`ValueSet?url=${WARM}&version=2.0.0`)).body)).toEqual([]);
    expect(ids((await get('CodeSystem?name=BedsideColours')).body)).toEqual(['bedside-colours']);
    expect(ids((await get('SearchParameter?code=favourite-colour')).body)).toEqual(['bedside-favourite-colour']);
    expect(ids((await get('ImplementationGuide?url=http://bedside.example/fhir/ImplementationGuide/bedside.example')).body)).toEqual(['bedside.example']);
    expect((await get('ValueSet/bedside-all-loinc')).body).toMatchObject({ resourceType: 'ValueSet', url: ALL_LOINC, meta: { versionId: '1' } });
  });

  it('bring their search parameters into force', async () => {
    expect(ids((await get(`Patient?favourite-colour=${COLOURS}|red`)).body)).toEqual(['p-red']);
    expect(ids((await get('Patient?favourite-colour=navy,green')).body)).toEqual(['p-green', 'p-navy']);
  });

  it('are named in /metadata: instantiates, the IG, supportedProfile and the new search parameter', async () => {
    const metadata = (await (await fetch(`${server.fhirUrl}/metadata`)).json()) as any;
    // The package's statement is claimed beside Bulk Data's, which the server claims whenever it offers $export.
    expect(metadata.instantiates).toEqual([
      'http://hl7.org/fhir/uv/bulkdata/CapabilityStatement/bulk-data',
      'http://bedside.example/fhir/CapabilityStatement/bedside-server',
    ]);
    expect(metadata.implementationGuide).toEqual(['http://bedside.example/fhir/ImplementationGuide/bedside.example']);
    const patient = metadata.rest[0].resource.find((r: any) => r.type === 'Patient');
    expect(patient.supportedProfile).toEqual(['http://bedside.example/fhir/StructureDefinition/bedside-patient']);
    expect(patient.searchRevInclude).toEqual(['Provenance:target']);
    expect(patient.searchParam).toContainEqual({
      name: 'favourite-colour',
      type: 'token',
      definition: 'http://bedside.example/fhir/SearchParameter/bedside-favourite-colour',
    });
    const valueSet = metadata.rest[0].resource.find((r: any) => r.type === 'ValueSet');
    expect(valueSet.operation.map((o: any) => o.name).sort()).toEqual(['expand', 'validate', 'validate-code']);
  });
});

describe('the launcher', () => {
  it('reports the installed packages and the types they profile, for its scope builder', async () => {
    const config = (await (await fetch(`${server.baseUrl}/launcher/api/config`)).json()) as any;
    expect(config.packages).toEqual(['bedside.example#1.0.0']);
    expect(config.profiles).toEqual({ Patient: ['http://bedside.example/fhir/StructureDefinition/bedside-patient'] });
  });
});

describe('ValueSet/$expand', () => {
  it('expands a filter on the hierarchy (descendent-of warm: red, orange, amber)', async () => {
    const { status, body } = await get(`ValueSet/$expand?url=${WARM}`);
    expect(status).toBe(200);
    expect(body).toMatchObject({ resourceType: 'ValueSet', url: WARM, expansion: { total: 3, offset: 0 } });
    expect(codes(body)).toEqual(['red', 'orange', 'amber']);
    expect(body.expansion.contains[0]).toEqual({ system: COLOURS, version: '1.0.0', code: 'red', display: 'Red' });
    expect(body.compose).toBeUndefined();
  });

  it('expands enumerated codes of a system Bedside does not hold, other value sets, minus exclusions', async () => {
    const { body } = await get(`ValueSet/bedside-observation-codes/$expand`);
    expect(codes(body)).toEqual(['http://loinc.org|8867-4', 'http://loinc.org|9279-1', 'red', 'orange']);
    expect(body.expansion.contains[0].display).toBe('Heart rate');
  });

  it('applies filter, offset, count and includeDesignations (GET and POST)', async () => {
    const page = await get(`ValueSet/$expand?url=${WARM}&filter=R&offset=1&count=1`);
    expect(page.body.expansion).toMatchObject({
      total: 3,
      offset: 1,
      parameter: [
        { name: 'filter', valueString: 'R' },
        { name: 'offset', valueInteger: 1 },
        { name: 'count', valueInteger: 1 },
      ],
    });
    expect(codes(page.body)).toEqual(['orange']);
    const posted = await post('ValueSet/$expand', {
      resourceType: 'Parameters',
      parameter: [
        { name: 'url', valueUri: WARM },
        { name: 'includeDesignations', valueBoolean: true },
        { name: 'count', valueInteger: 1 },
      ],
    });
    expect(posted.status).toBe(200);
    expect(posted.body.expansion.contains).toEqual([
      { system: COLOURS, version: '1.0.0', code: 'red', display: 'Red', designation: [{ language: 'fr', value: 'Rouge' }] },
    ]);
  });

  it('expands an R4 core value set and an inline one (POST valueSet)', async () => {
    const gender = await get('ValueSet/$expand?url=http://hl7.org/fhir/ValueSet/administrative-gender');
    expect(gender.body.expansion.contains.map((c: any) => c.code)).toEqual(['male', 'female', 'other', 'unknown']);
    const inline = await post('ValueSet/$expand', {
      resourceType: 'Parameters',
      parameter: [
        {
          name: 'valueSet',
          resource: {
            resourceType: 'ValueSet',
            status: 'draft',
            compose: { include: [{ system: COLOURS, filter: [{ property: 'concept', op: 'is-a', value: 'blue' }] }] },
          },
        },
      ],
    });
    expect(codes(inline.body)).toEqual(['blue', 'navy']);
  });

  it('refuses a value set on a code system Bedside does not hold, naming it', async () => {
    const { status, body } = await get(`ValueSet/$expand?url=${ALL_LOINC}`);
    expect(status).toBe(422);
    expect(body.issue).toEqual([
      {
        severity: 'error',
        code: 'not-supported',
        diagnostics: `Expanding the value set ${ALL_LOINC} needs the code system http://loinc.org (LOINC), which Bedside does not hold (load a FHIR package that defines it completely)`,
      },
    ]);
  });

  it('answers 404 for an unknown value set and 400 without one', async () => {
    expect((await get('ValueSet/$expand?url=http://nowhere.example/vs')).status).toBe(404);
    expect((await get('ValueSet/nope/$expand')).status).toBe(404);
    expect((await get('ValueSet/$expand')).status).toBe(400);
    expect((await get(`ValueSet/$expand?url=${WARM}&count=-1`)).status).toBe(400);
  });
});

describe('ValueSet/$validate-code', () => {
  it('answers true with the display, false with why, and an OperationOutcome when it cannot know', async () => {
    const yes = await get(`ValueSet/$validate-code?url=${OBSERVATION_CODES}&system=${COLOURS}&code=orange`);
    expect(yes.body).toEqual({
      resourceType: 'Parameters',
      parameter: [
        { name: 'result', valueBoolean: true },
        { name: 'message', valueString: `${COLOURS}|orange is in the value set ${OBSERVATION_CODES}` },
        { name: 'display', valueString: 'Orange' },
      ],
    });
    const excluded = await get(`ValueSet/$validate-code?url=${OBSERVATION_CODES}&system=${COLOURS}&code=amber`);
    expect(param(excluded.body, 'result').valueBoolean).toBe(false);
    const loincListed = await get(`ValueSet/bedside-observation-codes/$validate-code?system=http://loinc.org&code=8867-4`);
    expect(param(loincListed.body, 'result').valueBoolean).toBe(true);
    // LOINC appears only enumerated: a LOINC code not listed is known to be outside.
    const loincNot = await get(`ValueSet/bedside-observation-codes/$validate-code?system=http://loinc.org&code=1234-5`);
    expect(param(loincNot.body, 'result').valueBoolean).toBe(false);
    const unknown = await get(`ValueSet/$validate-code?url=${ALL_LOINC}&system=http://loinc.org&code=8867-4`);
    expect(unknown.status).toBe(422);
    expect(unknown.body.issue[0].diagnostics).toBe(
      `Bedside cannot tell whether http://loinc.org|8867-4 is in the value set ${ALL_LOINC}: it draws on the code system http://loinc.org (LOINC), which Bedside does not hold`,
    );
    // The same value set's other part is known.
    expect(param((await get(`ValueSet/$validate-code?url=${ALL_LOINC}&system=${COLOURS}&code=red`)).body, 'result').valueBoolean).toBe(true);
  });

  it('checks the display, a coding and a codeableConcept (POST)', async () => {
    const wrong = await get(`ValueSet/$validate-code?url=${WARM}&system=${COLOURS}&code=red&display=Crimson`);
    expect(wrong.body.parameter).toEqual([
      { name: 'result', valueBoolean: false },
      { name: 'message', valueString: `The display "Crimson" is not a display of ${COLOURS}|red (expected "Red")` },
      { name: 'display', valueString: 'Red' },
    ]);
    const coding = await post('ValueSet/$validate-code', {
      resourceType: 'Parameters',
      parameter: [
        { name: 'url', valueUri: WARM },
        { name: 'coding', valueCoding: { system: COLOURS, code: 'blue' } },
      ],
    });
    expect(param(coding.body, 'result').valueBoolean).toBe(false);
    const concept = await post('ValueSet/bedside-warm-colours/$validate-code', {
      resourceType: 'Parameters',
      parameter: [
        {
          name: 'codeableConcept',
          valueCodeableConcept: {
            coding: [
              { system: COLOURS, code: 'blue' },
              { system: COLOURS, code: 'amber' },
            ],
          },
        },
      ],
    });
    expect(param(concept.body, 'result').valueBoolean).toBe(true);
    expect((await get(`ValueSet/$validate-code?url=${WARM}`)).status).toBe(400);
  });
});

describe('CodeSystem/$lookup and $subsumes', () => {
  it('looks a code up: name, version, display, designations, parents and children', async () => {
    const { status, body } = await get(`CodeSystem/$lookup?system=${COLOURS}&code=orange`);
    expect(status).toBe(200);
    expect(body.parameter).toEqual([
      { name: 'name', valueString: 'Bedside example colours' },
      { name: 'version', valueString: '1.0.0' },
      { name: 'display', valueString: 'Orange' },
      {
        name: 'property',
        part: [
          { name: 'code', valueCode: 'parent' },
          { name: 'value', valueCode: 'warm' },
        ],
      },
      {
        name: 'property',
        part: [
          { name: 'code', valueCode: 'child' },
          { name: 'value', valueCode: 'amber' },
        ],
      },
    ]);
    const instance = await get('CodeSystem/bedside-colours/$lookup?code=warm');
    expect(param(instance.body, 'abstract')).toEqual({ name: 'abstract', valueBoolean: true });
    expect((await get(`CodeSystem/$lookup?system=${COLOURS}&code=purple`)).status).toBe(404);
    const loinc = await get('CodeSystem/$lookup?system=http://loinc.org&code=8867-4');
    expect(loinc.status).toBe(422);
    expect(loinc.body.issue[0].diagnostics).toContain('http://loinc.org (LOINC), which Bedside does not hold');
  });

  it('tells subsumption both ways, at type and instance level', async () => {
    const outcome = async (path: string) => param((await get(path)).body, 'outcome').valueCode;
    expect(await outcome(`CodeSystem/$subsumes?system=${COLOURS}&codeA=warm&codeB=amber`)).toBe('subsumes');
    expect(await outcome(`CodeSystem/$subsumes?system=${COLOURS}&codeA=navy&codeB=cool`)).toBe('subsumed-by');
    expect(await outcome(`CodeSystem/bedside-colours/$subsumes?codeA=red&codeB=red`)).toBe('equivalent');
    expect(await outcome(`CodeSystem/bedside-colours/$subsumes?codeA=red&codeB=blue`)).toBe('not-subsumed');
    expect(await outcome('CodeSystem/$subsumes?system=http://terminology.hl7.org/CodeSystem/condition-clinical&codeA=inactive&codeB=resolved')).toBe(
      'subsumes',
    );
  });
});

describe('token search modifiers answered by terminology', () => {
  it(':in and :not-in a package value set, :below and :above in its code system', async () => {
    expect(ids((await get(`Patient?favourite-colour:in=${WARM}`)).body)).toEqual(['p-amber', 'p-red']);
    expect(ids((await get(`Patient?favourite-colour:not-in=${WARM}`)).body)).toEqual(['p-green', 'p-navy']);
    expect(ids((await get(`Patient?favourite-colour:in=${OBSERVATION_CODES}`)).body)).toEqual(['p-red']);
    expect(ids((await get('Patient?favourite-colour:in=ValueSet/bedside-warm-colours')).body)).toEqual(['p-amber', 'p-red']);
    expect(ids((await get(`Patient?favourite-colour:below=${COLOURS}|cool`)).body)).toEqual(['p-green', 'p-navy']);
    expect(ids((await get(`Patient?favourite-colour:below=${COLOURS}|orange`)).body)).toEqual(['p-amber']);
    expect(ids((await get(`Patient?favourite-colour:above=${COLOURS}|amber`)).body)).toEqual(['p-amber']);
    expect(ids((await get(`Patient?favourite-colour:above=${COLOURS}|warm`)).body)).toEqual([]);
  });

  it('refuses what it cannot answer, saying why', async () => {
    const loinc = await get(`Patient?favourite-colour:in=${ALL_LOINC}`);
    expect(loinc.status).toBe(422);
    expect(loinc.body.issue[0].diagnostics).toContain('needs the code system http://loinc.org (LOINC)');
    const noSystem = await get('Patient?favourite-colour:below=warm');
    expect(noSystem.status).toBe(400);
    expect(noSystem.body.issue[0].diagnostics).toBe('The value of "favourite-colour:below" must be system|code (the code system gives the hierarchy)');
    expect((await get('Patient?favourite-colour:in=http://nowhere.example/vs')).status).toBe(404);
    expect((await get('Patient?favourite-colour:in=ValueSet/nowhere')).status).toBe(404);
    const evil = await post('ValueSet/$expand', {
      resourceType: 'Parameters',
      parameter: [
        {
          name: 'valueSet',
          resource: {
            resourceType: 'ValueSet',
            status: 'draft',
            compose: { include: [{ system: COLOURS, filter: [{ property: 'concept', op: 'regex', value: '(a+)+$' }] }] },
          },
        },
      ],
    });
    expect(evil.status).toBe(400);
    expect(evil.body.issue[0].code).toBe('not-supported');
  });
});

describe('Bulk Data $export', () => {
  it('filters with a package search parameter in _typeFilter', async () => {
    const filter = encodeURIComponent(`Patient?favourite-colour=${COLOURS}|red`);
    const kickOff = await api(`${server.fhirUrl}/$export?_type=Patient&_typeFilter=${filter}`, {
      headers: { prefer: 'respond-async', accept: 'application/fhir+json' },
    });
    expect(kickOff.status, await kickOff.clone().text()).toBe(202);
    const statusUrl = kickOff.headers.get('content-location')!;
    let manifest: any;
    for (let i = 0; i < 100 && !manifest; i++) {
      const status = await api(statusUrl);
      if (status.status === 200) manifest = await status.json();
      else await new Promise((r) => setTimeout(r, 100));
    }
    const lines = (await Promise.all(manifest.output.map(async (o: any) => (await (await api(o.url)).text()).trim().split('\n')))).flat();
    expect(lines.map((l: string) => JSON.parse(l).id)).toEqual(['p-red']);
  });
});

describe('reads go through the token policy', () => {
  it('a token without ValueSet or CodeSystem access gets R4 core terminology only', async () => {
    const narrow = authorizedFetch(await (await backendClient(server.baseUrl, 'system/Patient.rs')).token());
    expect((await get('ValueSet/$expand?url=http://hl7.org/fhir/ValueSet/administrative-gender', narrow)).status).toBe(200);
    expect((await get(`ValueSet/$expand?url=${WARM}`, narrow)).status).toBe(404);
    expect((await get('ValueSet/bedside-warm-colours/$expand', narrow)).status).toBe(404);
    expect((await get(`CodeSystem/$lookup?system=${COLOURS}&code=red`, narrow)).status).toBe(422);
    expect((await get(`Patient?favourite-colour:in=${WARM}`, narrow)).status).toBe(404);
  });
});

describe('FHIR_PACKAGES at start-up', () => {
  it('refuses to start with a damaged package, saying which and why', async () => {
    const file = await packFolder(EXAMPLE_PACKAGE);
    writeFileSync(file, readFileSync(file).subarray(0, 200));
    const error = await startTestServer({ packages: [file] }).then(
      async (s) => {
        await s.stop();
        return undefined;
      },
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(PackageError);
    expect((error as Error).message).toBe(`${file} is not a readable package (.tgz): unexpected end of file`);
  });
});

describe('bedside packages add', () => {
  it('installs into the store of a running server, which picks the package up by itself', async () => {
    const next = await packFolder(EXAMPLE_PACKAGE, {
      edit: (name, json) => {
        if (name === 'package/package.json') return { ...json, version: '1.1.0' };
        if (name.endsWith('CodeSystem-bedside-colours.json'))
          return { ...json, version: '1.1.0', concept: [...json.concept, { code: 'violet', display: 'Violet' }] };
        return json;
      },
    });
    let out = '';
    let err = '';
    const io: CliIo = { out: (t) => (out += t), err: (t) => (err += t), env: { DATA_DIR: server.dataDir, BASE_URL: server.baseUrl } };
    expect(await main(['packages', 'add', next], io), err).toBe(0);
    expect(out).toMatch(/^bedside\.example#1\.1\.0 replaced 1\.0\.0: 8 conformance resources \(1 written, 0 deleted\) in \d+ ms\n/);
    expect(out).toContain('not loaded: bedside.example.missing#0.1.0 (a dependency of bedside.example#1.1.0)');
    const deadline = Date.now() + GENERATION_CHECK_MS * 3;
    let lookup;
    do {
      await new Promise((r) => setTimeout(r, 200));
      lookup = await get(`CodeSystem/$lookup?system=${COLOURS}&code=violet`);
    } while (lookup.status !== 200 && Date.now() < deadline);
    expect(lookup.status).toBe(200);
    const listed = { out: '' };
    expect(await main(['packages', 'list'], { ...io, out: (t) => (listed.out += t) })).toBe(0);
    expect(listed.out).toMatch(/^bedside\.example#1\.1\.0 {2}FHIR 4\.0\.1 {2}8 resources {2}installed /);
    const bad = { err: '' };
    expect(await main(['packages', 'add', '/nonexistent.tgz'], { ...io, err: (t) => (bad.err += t) })).toBe(1);
    expect(bad.err).toBe('bedside: /nonexistent.tgz: no such file or folder\n');
  });
});
