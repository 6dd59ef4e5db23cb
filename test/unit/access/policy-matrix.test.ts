/**
 * The access policy as a generated matrix: every combination of deployment setting
 * (PRACTITIONER_PATIENTS), scope (context × type × letters × granular filter), token context
 * (patient, fhirUser), resource (whose compartment, referenced by whom, category) and
 * interaction is checked against the SMART rules and the user policy written here independently
 * as a small table, without the policy's code.
 */
import type { Resource } from 'fhir/r4';
import { describe, expect, it } from 'vitest';
import { compileTokenPolicy, type PolicyServices } from '../../../src/access/token-policy.js';
import type { Interaction } from '../../../src/access/policy.js';
import type { PractitionerPatients } from '../../../src/config.js';
import { FhirError } from '../../../src/r4/errors.js';
import { extractIndex } from '../../../src/search/extract.js';
import { parseScope, type ResourceScope } from '../../../src/smart/scopes.js';

const BASE = 'http://localhost:8080/fhir';

// --- The rules, as the specification states them (the oracle) ----------------------------
const LETTER: Record<Interaction, string> = { create: 'c', read: 'r', update: 'u', delete: 'd', search: 's' };
const V1: Record<string, string> = { read: 'rs', write: 'cud', '*': 'cruds' };

interface Fixture {
  resource: Resource;
  /**
   * The patients it names through compartment parameters (compartment types): whose record it
   * is. A record naming several patients belongs to none of them alone.
   */
  owners?: string[];
  /** Patients whose records reference it (non-compartment types). */
  referencedBy?: Array<'A' | 'B'>;
  laboratory?: boolean;
}

const obs = (id: string, patient: string, performer: string, category: string): Resource =>
  ({
    resourceType: 'Observation',
    id,
    status: 'final',
    category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: category }] }],
    code: { text: 'x' },
    subject: { reference: `Patient/${patient}` },
    performer: [{ reference: `Practitioner/${performer}` }],
  }) as Resource;

const FIXTURES: Fixture[] = [
  { resource: { resourceType: 'Patient', id: 'A' } as Resource, owners: ['A'] },
  { resource: { resourceType: 'Patient', id: 'B' } as Resource, owners: ['B'] },
  // In A's compartment by R4 (Patient.link), but C's own record, not A's.
  { resource: { resourceType: 'Patient', id: 'C', link: [{ other: { reference: 'Patient/A' }, type: 'seealso' }] } as Resource, owners: ['C'] },
  { resource: obs('obs-a-vital', 'A', 'pr-a', 'vital-signs'), owners: ['A'] },
  { resource: obs('obs-a-lab', 'A', 'pr-a', 'laboratory'), owners: ['A'], laboratory: true },
  { resource: obs('obs-b-lab', 'B', 'pr-b', 'laboratory'), owners: ['B'], laboratory: true },
  // A's record that names B too (B as performer): in both compartments, the record of neither alone.
  { resource: { ...obs('obs-ab-vital', 'A', 'pr-a', 'vital-signs'), performer: [{ reference: 'Patient/B' }] } as Resource, owners: ['A', 'B'] },
  { resource: { resourceType: 'Practitioner', id: 'pr-a' } as Resource, referencedBy: ['A'] },
  { resource: { resourceType: 'Practitioner', id: 'pr-b' } as Resource, referencedBy: ['B'] },
  { resource: { resourceType: 'Practitioner', id: 'pr-none' } as Resource, referencedBy: [] },
];

/** The patients each practitioner user is linked to (CareTeam, Encounter, generalPractitioner: the store's job in production). */
const LINKS: Record<string, Array<'A' | 'B'>> = {
  'Practitioner/pr-a': ['A'],
  'Practitioner/pr-b': ['B'],
  'PractitionerRole/role-ab': ['A', 'B'],
  'Practitioner/pr-none': [],
};

interface Token {
  scope: string;
  patient?: 'A';
  fhirUser?: string;
}

/**
 * The user policy: whom a user may see. A practitioner everyone (setting `all`) or the linked
 * patients (`linked`); a patient user herself; anyone else nobody.
 */
function userSees(token: Token, setting: PractitionerPatients): 'all' | string[] {
  const [userType, userId] = (token.fhirUser ?? '/').split('/');
  if (userType === 'Practitioner' || userType === 'PractitionerRole') return setting === 'all' ? 'all' : (LINKS[token.fhirUser!] ?? []);
  if (userType === 'Patient') return [userId!];
  return [];
}

/**
 * Whether a token bound to `patients` reaches `fixture`: a record naming only those patients, or
 * a directory entry one of their records references.
 */
function ownedBy(fixture: Fixture, patients: string[]): boolean {
  if (fixture.owners) return fixture.owners.length > 0 && fixture.owners.every((p) => patients.includes(p));
  return (fixture.referencedBy ?? []).some((p) => patients.includes(p));
}

function expectedForScope(raw: string, token: Token, fixture: Fixture, interaction: Interaction, setting: PractitionerPatients): boolean {
  const m = /^(patient|user|system)\/(\*|\w+)\.(\w+|\*)(?:\?category=(\w+))?$/.exec(raw)!;
  const [, context, type, access, category] = m;
  const letters = V1[access!] ?? access!;
  if (!letters.includes(LETTER[interaction])) return false;
  if (type !== '*' && type !== fixture.resource.resourceType) return false;
  if (category && !(fixture.resource.resourceType === 'Observation' && fixture.laboratory)) return false;
  if (context === 'system') return true;
  const sees = userSees(token, setting);
  if (context === 'patient') {
    if (token.patient === undefined) return false;
    // A user with a set of patients (patient user, linked practitioner) holds only one of them as context;
    // a user without a fhirUser rule got the context by an operator's grant the token does not carry.
    const holds = sees === 'all' || !token.fhirUser || !/^(Patient|Practitioner|PractitionerRole)\//.test(token.fhirUser) || sees.includes(token.patient);
    return holds && ownedBy(fixture, [token.patient]);
  }
  if (sees === 'all') return true;
  return ownedBy(fixture, sees);
}

// --- The generated matrix ------------------------------------------------------------------
const CONTEXTS = ['patient', 'user', 'system'];
const TYPES = ['Observation', 'Patient', 'Practitioner', '*'];
const ACCESS = ['r', 's', 'c', 'u', 'd', 'rs', 'cu', 'cruds', 'read', 'write', '*'];
const TOKEN_CONTEXTS: Array<Omit<Token, 'scope'>> = [
  {},
  { patient: 'A' },
  { fhirUser: 'Practitioner/pr-a' },
  { fhirUser: 'Practitioner/pr-b' },
  { fhirUser: 'PractitionerRole/role-ab' },
  { fhirUser: 'Practitioner/pr-none' },
  { fhirUser: 'Practitioner/pr-a', patient: 'A' },
  { fhirUser: 'Practitioner/pr-b', patient: 'A' },
  { fhirUser: 'Patient/A' },
  { fhirUser: 'Patient/B', patient: 'A' },
  { fhirUser: 'RelatedPerson/rp', patient: 'A' },
];
const SETTINGS: PractitionerPatients[] = ['all', 'linked'];
const INTERACTIONS: Interaction[] = ['create', 'read', 'update', 'delete', 'search'];

function scopes(): string[] {
  const out: string[] = [];
  for (const context of CONTEXTS)
    for (const type of TYPES)
      for (const access of ACCESS) {
        out.push(`${context}/${type}.${access}`);
        if (type === 'Observation' && !['read', 'write', '*'].includes(access)) out.push(`${context}/${type}.${access}?category=laboratory`);
      }
  return out;
}

const servicesFor = (setting: PractitionerPatients): PolicyServices => ({
  fhirBaseUrl: BASE,
  extract: (resource, params) => extractIndex(resource, { baseUrl: BASE, params }),
  // What each patient's records reference, from the fixtures (the store's job in production).
  referencedFromCompartments: async (patients, type, _sources) =>
    FIXTURES.filter((f) => f.resource.resourceType === type && f.referencedBy?.some((p) => patients.includes(p))).map((f) => f.resource.id!),
  practitionerPatients: setting,
  linkedPatients: async (fhirUser) => LINKS[fhirUser] ?? [],
});

function policyFor(token: Token, setting: PractitionerPatients = 'all') {
  const parsed = token.scope.split(' ').map((s) => parseScope(s)) as ResourceScope[];
  return compileTokenPolicy(
    {
      scopes: parsed,
      clientId: 'c',
      subject: 's',
      scopeStrings: token.scope.split(' '),
      ...(token.patient ? { patient: token.patient } : {}),
      ...(token.fhirUser ? { fhirUser: token.fhirUser } : {}),
    },
    servicesFor(setting),
  );
}

describe('access policy matrix', () => {
  it('agrees with the rules for every scope × token context × resource × interaction', async () => {
    let cases = 0;
    let allowed = 0;
    const mismatches: string[] = [];
    for (const setting of SETTINGS)
      for (const scope of scopes()) {
        for (const context of TOKEN_CONTEXTS) {
          const token: Token = { scope, ...context };
          const policy = policyFor(token, setting);
          for (const fixture of FIXTURES) {
            for (const interaction of INTERACTIONS) {
              cases++;
              const expected = expectedForScope(scope, token, fixture, interaction, setting);
              if (expected) allowed++;
              let actual: boolean;
              try {
                policy.assertAllowed(fixture.resource.resourceType, interaction);
                actual = await policy.allowsResource(fixture.resource, interaction);
              } catch (error) {
                if (!(error instanceof FhirError) || error.status !== 403) throw error;
                actual = false;
              }
              if (actual !== expected)
                mismatches.push(
                  `${setting}: ${scope} ${JSON.stringify(context)} ${interaction} ${fixture.resource.resourceType}/${fixture.resource.id}: expected ${expected}, got ${actual}`,
                );
            }
          }
        }
      }
    expect(cases).toBeGreaterThan(10_000);
    // Both outcomes occur often: the matrix is not vacuous.
    expect(allowed).toBeGreaterThan(cases / 10);
    expect(cases - allowed).toBeGreaterThan(cases / 10);
    expect(mismatches.slice(0, 20)).toEqual([]);
    console.log(`policy matrix: ${cases} cases, ${allowed} allowed, ${mismatches.length} mismatches`);
  });

  it('adds scopes up: the union of two scopes allows what either allows', async () => {
    let cases = 0;
    const pairs: Array<[string, string]> = [
      ['patient/Observation.rs', 'user/Observation.rs'],
      ['patient/Observation.rs?category=laboratory', 'patient/Observation.c'],
      ['user/Patient.r', 'system/Practitioner.rs'],
      ['patient/*.read', 'user/Practitioner.s'],
    ];
    for (const setting of SETTINGS)
      for (const [a, b] of pairs) {
        for (const context of TOKEN_CONTEXTS) {
          const policy = policyFor({ scope: `${a} ${b}`, ...context }, setting);
          for (const fixture of FIXTURES) {
            for (const interaction of INTERACTIONS) {
              cases++;
              const expected =
                expectedForScope(a, { scope: a, ...context }, fixture, interaction, setting) ||
                expectedForScope(b, { scope: b, ...context }, fixture, interaction, setting);
              let actual: boolean;
              try {
                policy.assertAllowed(fixture.resource.resourceType, interaction);
                actual = await policy.allowsResource(fixture.resource, interaction);
              } catch {
                actual = false;
              }
              expect(actual, `${setting}: ${a} + ${b} ${JSON.stringify(context)} ${interaction} ${fixture.resource.id}`).toBe(expected);
            }
          }
        }
      }
    expect(cases).toBe(SETTINGS.length * pairs.length * TOKEN_CONTEXTS.length * FIXTURES.length * INTERACTIONS.length);
  });

  it('grants nothing through a granular filter that steps into other resources (a scope the grammar refuses, compiled anyway)', async () => {
    const observation = FIXTURES.find((f) => f.resource.resourceType === 'Observation')!.resource;
    for (const [name, value] of [
      ['_list', 'l1'],
      ['subject:Patient.family', 'x'],
      ['_has:Condition:patient:code', 'c'],
    ] as const) {
      const scope = { ...(parseScope('system/Observation.rs?category=laboratory') as ResourceScope) };
      scope.filters = [{ name, value }];
      const policy = compileTokenPolicy(
        { scopes: [scope], clientId: 'c', subject: 's', scopeStrings: [`system/Observation.rs?${name}=${value}`] },
        servicesFor('all'),
      );
      expect(await policy.searchFilter('Observation', 'search'), name).toEqual({ op: 'false' });
      expect(await policy.allowsResource(observation, 'read'), name).toBe(false);
    }
  });

  it('refuses before any query: a type the token does not name, and patient scopes with no patient', () => {
    expect(() => policyFor({ scope: 'patient/Observation.rs', patient: 'A' }).assertAllowed('Condition', 'search')).toThrow(FhirError);
    expect(() => policyFor({ scope: 'patient/Observation.rs' }).assertAllowed('Observation', 'search')).toThrow(/no patient context/);
    expect(() => policyFor({ scope: 'user/Observation.rs' }).assertAllowed('Observation', 'read')).toThrow(/no fhirUser/);
    expect(() => policyFor({ scope: 'system/Observation.c' }).assertAllowed('Observation', 'read')).toThrow(FhirError);
  });
});
