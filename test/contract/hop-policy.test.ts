/**
 * The access policy on every hop of a query, property-based and on every store: generated
 * chained and `_has` queries (nested, with real and made-up values) under generated restricted
 * tokens (patient, user and system scopes, type-restricted and granular) run through the real
 * parser, the guarded store and the store, and are compared with an oracle written here from the
 * SMART rules alone: a hop sees only resources the token may search, and a hop into a type the
 * token may not search is refused (403).
 *
 * The oracle also computes what an unguarded hop would answer; the test requires that the two
 * differ for some generated cases, so it would have failed when hops were evaluated outside the
 * policy.
 */
import type { Resource } from 'fhir/r4';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createResourceAccess, type PolicyCompiler, type ResourceAccess } from '../../src/access/resource-access.js';
import { FhirError } from '../../src/r4/errors.js';
import { extractIndex } from '../../src/search/extract.js';
import { parseSearch } from '../../src/search/index.js';
import { parseScope, type ResourceScope } from '../../src/smart/scopes.js';
import { storeImplementations, type OpenStore } from '../support/stores.js';

const BASE = 'http://localhost:8080/fhir';
const CATEGORY = 'http://terminology.hl7.org/CodeSystem/observation-category';
const RUNS = Number(process.env.HOP_RUNS ?? 150);

// --- The data -----------------------------------------------------------------------------
type Who = 'A' | 'B' | 'C';
const patient = (id: Who, family: string): Resource => ({ resourceType: 'Patient', id, name: [{ family }] }) as Resource;
const practitioner = (id: string, family: string): Resource => ({ resourceType: 'Practitioner', id, name: [{ family }] }) as Resource;
const observation = (owner: Who, category: string, performer: string): Resource =>
  ({
    resourceType: 'Observation',
    id: `obs-${owner}-${category}`,
    status: 'final',
    category: [{ coding: [{ system: CATEGORY, code: category }] }],
    code: { coding: [{ system: 'http://loinc.org', code: category === 'laboratory' ? '718-7' : '8867-4' }] },
    subject: { reference: `Patient/${owner}` },
    performer: [{ reference: `Practitioner/${performer}` }],
  }) as Resource;
const condition = (owner: Who, code: string): Resource =>
  ({
    resourceType: 'Condition',
    id: `cond-${owner}`,
    code: { coding: [{ system: 'http://snomed.info/sct', code }] },
    subject: { reference: `Patient/${owner}` },
  }) as Resource;
const encounter = (owner: Who, participant: string): Resource =>
  ({
    resourceType: 'Encounter',
    id: `enc-${owner}`,
    status: 'finished',
    class: { code: 'AMB' },
    subject: { reference: `Patient/${owner}` },
    participant: [{ individual: { reference: `Practitioner/${participant}` } }],
  }) as Resource;

const DATA: Resource[] = [
  patient('A', 'Alvarez'),
  patient('B', 'Brown'),
  patient('C', 'Chen'),
  practitioner('prA', 'Adams'),
  practitioner('prB', 'Baker'),
  practitioner('prN', 'Nobody'),
  observation('A', 'laboratory', 'prA'),
  observation('A', 'vital-signs', 'prA'),
  observation('B', 'laboratory', 'prB'),
  observation('B', 'vital-signs', 'prB'),
  observation('C', 'laboratory', 'prB'),
  condition('A', '111'),
  condition('B', '222'),
  condition('C', '111'),
  encounter('A', 'prA'),
  encounter('B', 'prB'),
];

/** The patient whose compartment holds a resource (compartment types). */
function ownerOf(r: Resource): Who | undefined {
  if (r.resourceType === 'Patient') return r.id as Who;
  const subject = (r as { subject?: { reference?: string } }).subject?.reference;
  return subject ? (subject.split('/')[1] as Who) : undefined;
}

/** Patients whose records reference a Practitioner. */
function referencedBy(r: Resource): Who[] {
  const refs = new Set<Who>();
  for (const other of DATA) {
    const owner = ownerOf(other);
    if (owner && JSON.stringify(other).includes(`"Practitioner/${r.id}"`)) refs.add(owner);
  }
  return [...refs];
}

// --- Tokens --------------------------------------------------------------------------------
interface Token {
  scopes: string[];
  patient?: Who;
  fhirUser?: string;
}

const TYPES = ['Patient', 'Observation', 'Condition', 'Encounter', 'Practitioner', '*'];
const scopeArb = fc
  .tuple(fc.constantFrom('patient', 'user', 'system'), fc.constantFrom(...TYPES), fc.constantFrom('rs', 's', 'r', 'cruds', 'read'), fc.boolean())
  .map(([context, type, letters, granular]) =>
    granular && type === 'Observation' && letters !== 'read'
      ? `${context}/Observation.${letters}?category=${CATEGORY}|vital-signs`
      : `${context}/${type}.${letters}`,
  );
const tokenArb: fc.Arbitrary<Token> = fc.record(
  {
    scopes: fc.array(scopeArb, { minLength: 1, maxLength: 3 }),
    patient: fc.constantFrom<Who>('A'),
    fhirUser: fc.constantFrom('Practitioner/prA', 'Patient/A'),
  },
  { requiredKeys: ['scopes'] },
);

/** Does one scope (as the SMART rules say) let the token search `r`? */
function scopeSearches(raw: string, token: Token, r: Resource): boolean {
  const m = /^(patient|user|system)\/(\*|\w+)\.(\w+)(?:\?category=.*\|(.+))?$/.exec(raw)!;
  const [, context, type, access, category] = m;
  const letters = access === 'read' ? 'rs' : access!;
  if (!letters.includes('s')) return false;
  if (type !== '*' && type !== r.resourceType) return false;
  if (category) {
    const codes = ((r as { category?: Array<{ coding?: Array<{ code?: string }> }> }).category ?? []).flatMap((c) => c.coding ?? []).map((c) => c.code);
    if (r.resourceType !== 'Observation' || !codes.includes(category)) return false;
  }
  const reaches = (who: Who | undefined) => {
    if (!who) return false;
    const owner = ownerOf(r);
    return owner ? owner === who : r.resourceType === 'Practitioner' && referencedBy(r).includes(who);
  };
  if (context === 'system') return true;
  if (context === 'patient') return reaches(token.patient);
  const [userType, userId] = (token.fhirUser ?? '/').split('/');
  if (userType === 'Practitioner') return true;
  if (userType === 'Patient') return reaches(userId as Who);
  return false;
}

const visible = (token: Token, r: Resource) => token.scopes.some((s) => scopeSearches(s, token, r));

/** May the token search `type` at all (a scope with `s` for it, in a context that reaches something)? */
function searchable(token: Token, type: string): boolean {
  return token.scopes.some((raw) => {
    const [, context, t, access] = /^(patient|user|system)\/(\*|\w+)\.(\w+)/.exec(raw)!;
    const letters = access === 'read' ? 'rs' : access!;
    if (!letters.includes('s') || (t !== '*' && t !== type)) return false;
    if (context === 'patient') return token.patient !== undefined;
    if (context === 'user') return token.fhirUser !== undefined;
    return true;
  });
}

// --- Queries -------------------------------------------------------------------------------
/** A query the oracle evaluates on resource JSON and the server parses from its text. */
interface Query {
  text: string;
  /** Types the query steps into (each must be searchable). */
  hops: string[];
  matches(r: Resource, seen: (r: Resource) => boolean): boolean;
}

const families = ['Alvarez', 'Brown', 'Chen', 'Zzmadeup'];
const practitioners = ['Adams', 'Baker', 'Nobody', 'Qqmadeup'];
const categories = ['laboratory', 'vital-signs', 'imaging'];
const codes = ['111', '222', '999'];

const byId = (type: string, id: string) => DATA.find((d) => d.resourceType === type && d.id === id);
const refId = (reference: string | undefined) => reference?.split('/')[1] ?? '';
const family = (r: Resource | undefined) => ((r as { name?: Array<{ family?: string }> } | undefined)?.name?.[0]?.family ?? '').toLowerCase();
const hasCategory = (r: Resource, c: string) => JSON.stringify((r as { category?: unknown }).category ?? []).includes(`"${c}"`);
const hasCode = (r: Resource, c: string) => JSON.stringify((r as { code?: unknown }).code ?? {}).includes(`"${c}"`);
const of = (type: string) => DATA.filter((d) => d.resourceType === type);

/** Patient-side inner conditions (usable after `subject:Patient.`). */
function patientInner(): fc.Arbitrary<Query> {
  return fc.oneof(
    fc.constantFrom(...families).map<Query>((f) => ({ text: `family=${f}`, hops: [], matches: (r) => family(r).startsWith(f.toLowerCase()) })),
    fc.constantFrom(...codes).map<Query>((c) => ({
      text: `_has:Condition:patient:code=${c}`,
      hops: ['Condition'],
      matches: (r, seen) =>
        of('Condition').some((x) => seen(x) && refId((x as { subject?: { reference?: string } }).subject?.reference) === r.id && hasCode(x, c)),
    })),
    fc.constantFrom(...categories).map<Query>((c) => ({
      text: `_has:Observation:patient:category=${c}`,
      hops: ['Observation'],
      matches: (r, seen) =>
        of('Observation').some((x) => seen(x) && refId((x as { subject?: { reference?: string } }).subject?.reference) === r.id && hasCategory(x, c)),
    })),
  );
}

/** Root queries: [type, query]. */
const queryArb: fc.Arbitrary<[string, Query]> = fc.oneof(
  patientInner().map<[string, Query]>((q) => ['Patient', q]),
  patientInner().map<[string, Query]>((inner) => [
    'Observation',
    {
      text: `subject:Patient.${inner.text}`,
      hops: ['Patient', ...inner.hops],
      matches: (r, seen) => {
        const target = byId('Patient', refId((r as { subject?: { reference?: string } }).subject?.reference));
        return !!target && seen(target) && inner.matches(target, seen);
      },
    },
  ]),
  patientInner().map<[string, Query]>((inner) => [
    'Condition',
    {
      text: `subject:Patient.${inner.text}`,
      hops: ['Patient', ...inner.hops],
      matches: (r, seen) => {
        const target = byId('Patient', refId((r as { subject?: { reference?: string } }).subject?.reference));
        return !!target && seen(target) && inner.matches(target, seen);
      },
    },
  ]),
  fc.constantFrom(...practitioners).map<[string, Query]>((name) => [
    'Observation',
    {
      text: `performer:Practitioner.family=${name}`,
      hops: ['Practitioner'],
      matches: (r, seen) => {
        const target = byId('Practitioner', refId((r as { performer?: Array<{ reference?: string }> }).performer?.[0]?.reference));
        return !!target && seen(target) && family(target).startsWith(name.toLowerCase());
      },
    },
  ]),
  fc.constantFrom(...practitioners).map<[string, Query]>((name) => [
    'Encounter',
    {
      text: `participant:Practitioner.family=${name}`,
      hops: ['Practitioner'],
      matches: (r, seen) => {
        const who = (r as { participant?: Array<{ individual?: { reference?: string } }> }).participant?.[0]?.individual?.reference;
        const target = byId('Practitioner', refId(who));
        return !!target && seen(target) && family(target).startsWith(name.toLowerCase());
      },
    },
  ]),
  fc.tuple(fc.constantFrom(...categories), fc.constantFrom(...practitioners)).map<[string, Query]>(([c, name]) => [
    'Practitioner',
    {
      text: `_has:Observation:performer:category=${c}&family=${name}`,
      hops: ['Observation'],
      matches: (r, seen) =>
        family(r).startsWith(name.toLowerCase()) &&
        of('Observation').some(
          (x) => seen(x) && refId((x as { performer?: Array<{ reference?: string }> }).performer?.[0]?.reference) === r.id && hasCategory(x, c),
        ),
    },
  ]),
);

type Answer = { refused: true } | { refused: false; ids: string[] };

function oracle(token: Token, type: string, query: Query, guardHops = true): Answer {
  if (!searchable(token, type) || (guardHops && query.hops.some((h) => !searchable(token, h)))) return { refused: true };
  const seen = guardHops ? (r: Resource) => visible(token, r) : () => true;
  return {
    refused: false,
    ids: of(type)
      .filter((r) => visible(token, r) && query.matches(r, seen))
      .map((r) => r.id!)
      .sort(),
  };
}

async function actual(access: ResourceAccess, policies: PolicyCompiler, token: Token, type: string, query: Query): Promise<Answer & { total?: number }> {
  const scopes = token.scopes.map((s) => parseScope(s) as ResourceScope);
  const policy = policies.compile({
    scopes,
    scopeStrings: token.scopes,
    clientId: 'client',
    subject: 'user',
    ...(token.patient ? { patient: token.patient } : {}),
    ...(token.fhirUser ? { fhirUser: token.fhirUser } : {}),
  });
  try {
    policy.assertAllowed(type, 'search');
    const search = parseSearch(type, new URLSearchParams(query.text), { baseUrl: BASE, strict: true, maxCount: 100, defaultCount: 100 });
    const page = await access.bind(policy).search({ types: [type], where: search.where, sort: [], limit: 100, total: 'accurate' });
    return { refused: false, ids: page.resources.map((v) => v.id).sort(), ...(page.total !== undefined ? { total: page.total } : {}) };
  } catch (error) {
    if (error instanceof FhirError && error.status === 403) return { refused: true };
    throw error;
  }
}

describe.each(storeImplementations())('the policy on every hop, on $name', (implementation) => {
  let store: OpenStore;
  let access: ResourceAccess;
  let policies: PolicyCompiler;

  beforeAll(async () => {
    store = await implementation.open();
    await store.resources.bulkPut(
      DATA.map((resource) => ({
        resourceType: resource.resourceType,
        id: resource.id!,
        resource: structuredClone(resource),
        index: extractIndex(resource, { baseUrl: BASE }),
        method: 'PUT' as const,
      })),
    );
    ({ access, policies } = createResourceAccess(store.resources, { fhirBaseUrl: BASE, referenceWindowMs: 0 }));
  });
  afterAll(() => store?.dispose());

  it('answers every generated query as the oracle does, hop by hop', async () => {
    let differsFromUnguarded = 0;
    let answered = 0;
    let refusedForAHop = 0;
    await fc.assert(
      fc.asyncProperty(tokenArb, queryArb, async (token, [type, query]) => {
        const expected = oracle(token, type, query);
        const got = await actual(access, policies, token, type, query);
        if (expected.refused) {
          expect(got.refused, `${type}?${query.text} under ${JSON.stringify(token)} should be refused`).toBe(true);
          if (searchable(token, type)) refusedForAHop++;
          return;
        }
        answered++;
        expect(got, `${type}?${query.text} under ${JSON.stringify(token)}`).toEqual({ refused: false, ids: expected.ids, total: expected.ids.length });
        const unguarded = oracle(token, type, query, false);
        if (JSON.stringify(unguarded) !== JSON.stringify(expected)) differsFromUnguarded++;
      }),
      { numRuns: RUNS, seed: Number(process.env.HOP_SEED ?? 20261206) },
    );
    // The generated cases exercise what matters: answered queries, hops refused, and hops whose
    // unguarded answer would have told the caller more.
    expect(answered).toBeGreaterThan(RUNS / 10);
    expect(refusedForAHop).toBeGreaterThan(0);
    expect(differsFromUnguarded).toBeGreaterThan(0);
  });
});
