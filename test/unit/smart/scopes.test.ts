/**
 * The SMART scope grammar as tables: every valid form parses to what it means and prints back
 * the same, every malformed form is refused with its reason, and the v1/v2 mapping and the
 * "covers" relation hold for every pair in the matrix.
 * https://hl7.org/fhir/smart-app-launch/STU2.2/scopes-and-launch-context.html
 */
import { describe, expect, it } from 'vitest';
import {
  covers,
  formatScope,
  isScopeError,
  parseScope,
  parseScopes,
  toV1,
  toV2,
  withoutRedundant,
  type ResourceScope,
  type Scope,
} from '../../../src/smart/scopes.js';
import { isKnownResourceType } from '../../../src/fhir/validation.js';

const parse = (s: string) => parseScope(s, { isResourceType: isKnownResourceType });
const letters = (s: Scope) => (s.kind === 'resource' ? [...s.permissions].sort().join('') : '');

describe('valid scopes', () => {
  const table: Array<[string, Record<string, unknown> & { kind: string; letters?: string }]> = [
    ['patient/Observation.rs', { kind: 'resource', context: 'patient', resourceType: 'Observation', version: 2, letters: 'rs' }],
    ['user/*.cruds', { kind: 'resource', context: 'user', resourceType: '*', version: 2, letters: 'cdrsu' }],
    ['system/Patient.r', { kind: 'resource', context: 'system', resourceType: 'Patient', version: 2, letters: 'r' }],
    ['patient/Condition.c', { kind: 'resource', context: 'patient', resourceType: 'Condition', version: 2, letters: 'c' }],
    ['patient/Observation.read', { kind: 'resource', version: 1, v1Access: 'read', letters: 'rs' }],
    ['user/*.write', { kind: 'resource', version: 1, v1Access: 'write', letters: 'cdu' }],
    ['system/*.*', { kind: 'resource', version: 1, v1Access: '*', letters: 'cdrsu' }],
    ['patient/*.*', { kind: 'resource', context: 'patient', version: 1, letters: 'cdrsu' }],
    ['patient/Observation.rs?category=http://terminology.hl7.org/CodeSystem/observation-category|laboratory', { kind: 'resource', version: 2, letters: 'rs' }],
    ['user/Observation.rs?category=vital-signs&status=final', { kind: 'resource', version: 2, letters: 'rs' }],
    ['patient/Observation.s?code:in=http://example.org/vs', { kind: 'resource', version: 2, letters: 's' }],
    ['launch', { kind: 'launch' }],
    ['launch/patient', { kind: 'launch', context: 'patient' }],
    ['launch/encounter', { kind: 'launch', context: 'encounter' }],
    ['openid', { kind: 'identity' }],
    ['fhirUser', { kind: 'identity' }],
    ['profile', { kind: 'identity' }],
    ['offline_access', { kind: 'duration' }],
    ['online_access', { kind: 'duration' }],
    ['introspection', { kind: 'server' }],
    ['launcher', { kind: 'server' }],
  ];
  it.each(table)('%s', (raw, expected) => {
    const scope = parse(raw);
    expect(isScopeError(scope)).toBe(false);
    const { letters: expectedLetters, ...rest } = expected;
    expect(scope).toMatchObject(rest);
    if (expectedLetters) expect(letters(scope as Scope)).toBe(expectedLetters);
    expect(formatScope(scope as Scope)).toBe(raw);
  });

  it('keeps granular filters in order, with their values as written', () => {
    const scope = parse('patient/Observation.rs?category=a%7Cb&code=x') as ResourceScope;
    expect(scope.filters).toEqual([
      { name: 'category', value: 'a%7Cb' },
      { name: 'code', value: 'x' },
    ]);
  });
});

describe('malformed scopes are refused, never misread', () => {
  const table: Array<[string, string]> = [
    ['patient/Observation.sr', 'permission-order'],
    ['patient/Observation.rr', 'permission-order'],
    ['patient/Observation.', 'unknown-scope'],
    ['patient/Observation.x', 'syntax'],
    ['patient/Observation.readwrite', 'syntax'],
    ['patient/Observaton.rs', 'unknown-resource-type'],
    ['patient/observation.rs', 'unknown-resource-type'],
    ['practitioner/Observation.rs', 'unknown-scope'],
    ['patient/Observation', 'unknown-scope'],
    ['Patient/Observation.rs', 'unknown-scope'],
    ['patient/*.read?category=x', 'v1-filter'],
    ['patient/Observation.rs?', 'bad-filter'],
    ['patient/Observation.rs?category', 'bad-filter'],
    ['patient/Observation.rs?category=', 'bad-filter'],
    ['patient/Observation.rs?=x', 'bad-filter'],
    ['patient/Observation.rs?category=%zz', 'bad-filter'],
    // Filters that step into other resources: chains, reverse chains, list membership, _filter.
    ['system/Observation.rs?subject.family=x', 'bad-filter'],
    ['system/Observation.rs?subject:Patient.family=x', 'bad-filter'],
    ['system/Patient.rs?_has:Condition:patient:code=x', 'bad-filter'],
    ['system/Observation.rs?_list=x', 'bad-filter'],
    ['system/Observation.rs?_filter=code%20eq%20x', 'bad-filter'],
    ['launch/practitioner', 'unknown-scope'],
    ['openid2', 'unknown-scope'],
    ['OPENID', 'unknown-scope'],
    ['patient/Observation.rs"', 'syntax'],
    ['patient\\Observation.rs', 'syntax'],
    ['', 'syntax'],
  ];
  it.each(table)('%s → %s', (raw, code) => {
    const scope = parse(raw);
    expect(isScopeError(scope)).toBe(true);
    expect(scope).toMatchObject({ code, scope: raw });
  });

  it('refuses double spaces instead of guessing', () => {
    expect(parseScopes('openid  launch').errors.map((e) => e.code)).toEqual(['syntax']);
  });

  it('parses a scope string, dropping duplicates, collecting every error', () => {
    const { scopes, errors } = parseScopes('openid patient/Observation.rs openid bogus patient/X.rs', { isResourceType: isKnownResourceType });
    expect(scopes.map((s) => s.raw)).toEqual(['openid', 'patient/Observation.rs']);
    expect(errors.map((e) => e.scope)).toEqual(['bogus', 'patient/X.rs']);
  });
});

describe('v1 ↔ v2', () => {
  const table: Array<[string, string, string | undefined]> = [
    ['patient/Observation.read', 'patient/Observation.rs', 'patient/Observation.read'],
    ['user/*.write', 'user/*.cud', 'user/*.write'],
    ['system/*.*', 'system/*.cruds', 'system/*.*'],
    ['patient/Observation.r', 'patient/Observation.r', undefined],
    ['patient/Observation.rs?category=x', 'patient/Observation.rs?category=x', undefined],
    ['patient/Observation.cruds', 'patient/Observation.cruds', 'patient/Observation.*'],
  ];
  it.each(table)('%s → v2 %s, v1 %s', (raw, v2, v1) => {
    const scope = parse(raw) as ResourceScope;
    expect(formatScope(toV2(scope))).toBe(v2);
    const back = toV1(toV2(scope));
    expect(back && formatScope(back)).toBe(v1);
  });
});

describe('covers: a cap allows a scope', () => {
  const caps = [
    'patient/*.rs',
    'patient/Observation.rs',
    'patient/*.read',
    'user/*.cruds',
    'patient/Observation.rs?category=laboratory',
    'system/*.rs',
    'launch/patient',
    'openid',
  ];
  const scopes = [
    'patient/Observation.rs',
    'patient/Observation.r',
    'patient/Condition.rs',
    'patient/Observation.read',
    'patient/Observation.c',
    'user/Observation.rs',
    'patient/Observation.rs?category=laboratory',
    'patient/Observation.rs?category=vital-signs',
    'system/Patient.rs',
    'launch/patient',
    'launch',
    'openid',
  ];
  // Expected results written out as data: cap → scopes it covers.
  const expected: Record<string, string[]> = {
    'patient/*.rs': [
      'patient/Observation.rs',
      'patient/Observation.r',
      'patient/Condition.rs',
      'patient/Observation.read',
      'patient/Observation.rs?category=laboratory',
      'patient/Observation.rs?category=vital-signs',
    ],
    'patient/Observation.rs': [
      'patient/Observation.rs',
      'patient/Observation.r',
      'patient/Observation.read',
      'patient/Observation.rs?category=laboratory',
      'patient/Observation.rs?category=vital-signs',
    ],
    'patient/*.read': [
      'patient/Observation.rs',
      'patient/Observation.r',
      'patient/Condition.rs',
      'patient/Observation.read',
      'patient/Observation.rs?category=laboratory',
      'patient/Observation.rs?category=vital-signs',
    ],
    'user/*.cruds': ['user/Observation.rs'],
    'patient/Observation.rs?category=laboratory': ['patient/Observation.rs?category=laboratory'],
    'system/*.rs': ['system/Patient.rs'],
    'launch/patient': ['launch/patient'],
    openid: ['openid'],
  };
  for (const cap of caps) {
    it.each(scopes)(`${cap} covers %s?`, (scope) => {
      expect(covers(parse(cap) as Scope, parse(scope) as Scope)).toBe(expected[cap]!.includes(scope));
    });
  }

  it('drops scopes another one covers', () => {
    const list = ['patient/Observation.rs', 'patient/Observation.rs?category=laboratory', 'patient/Condition.rs?category=x', 'openid'].map(
      (s) => parse(s) as Scope,
    );
    expect(withoutRedundant(list).map((s) => s.raw)).toEqual(['patient/Observation.rs', 'patient/Condition.rs?category=x', 'openid']);
  });
});
