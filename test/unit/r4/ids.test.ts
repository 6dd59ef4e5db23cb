import { describe, expect, it } from 'vitest';
import { FHIR_ID, isFhirId, parseReferenceTail, parseRelativeReference } from '../../../src/r4/ids.js';

// https://hl7.org/fhir/R4/datatypes.html#id
describe('isFhirId', () => {
  it.each([
    ['a', 'one character'],
    ['A-z.0', 'every allowed kind of character'],
    ['x'.repeat(64), '64 characters'],
    ['-', 'a lone dash'],
    ['.', 'a lone dot'],
    ['..', 'dots only'],
    ['0190a6c2-7b1e-7c3a-9f00-0123456789ab', 'a UUID'],
  ])('accepts %j (%s)', (id) => {
    expect(isFhirId(id)).toBe(true);
  });

  it.each([
    ['', 'empty'],
    ['x'.repeat(65), '65 characters'],
    ['a_b', 'an underscore'],
    ['a b', 'a space'],
    [' a', 'leading whitespace'],
    ['a\n', 'a trailing newline (a $ that allowed it would accept this)'],
    ['a/b', 'a slash'],
    ['é', 'a non-ASCII letter'],
    ['ａ', 'a full-width letter'],
    ['a\u200b', 'a zero-width space'],
    ['😀', 'an astral character'],
    [`${'1'.repeat(63)}é`, '64 code units, the last non-ASCII'],
  ])('rejects %j (%s)', (id) => {
    expect(isFhirId(id)).toBe(false);
  });

  it('is the same rule as the FHIR_ID source', () => {
    const composed = new RegExp(`^(?:${FHIR_ID})$`);
    for (const id of ['a', 'x'.repeat(64), 'x'.repeat(65), '', 'a_b', 'a.b-c']) expect(composed.test(id)).toBe(isFhirId(id));
  });
});

describe('parseRelativeReference', () => {
  it('reads Type/id', () => {
    expect(parseRelativeReference('Patient/123')).toEqual({ type: 'Patient', id: '123' });
    expect(parseRelativeReference(`Observation/${'x'.repeat(64)}`)).toEqual({ type: 'Observation', id: 'x'.repeat(64) });
  });

  it.each([
    'Patient/',
    '/Patient/1',
    'Patient/1/',
    'patient/1',
    'P/1',
    `Patient/${'x'.repeat(65)}`,
    'Patient/1/_history/2',
    'https://example.org/fhir/Patient/1',
    'Patient/a b',
    'Patient/é',
    '',
  ])('rejects %j', (reference) => {
    expect(parseRelativeReference(reference)).toBeUndefined();
  });
});

describe('parseReferenceTail', () => {
  it.each([
    ['Patient/1', { type: 'Patient', id: '1' }],
    ['https://example.org/fhir/Patient/1', { type: 'Patient', id: '1' }],
    ['Patient/1/_history/2', { type: 'Patient', id: '1', versionId: '2' }],
    ['https://example.org/fhir/Observation/a.b-c/_history/x.1', { type: 'Observation', id: 'a.b-c', versionId: 'x.1' }],
  ])('reads %j', (reference, target) => {
    expect(parseReferenceTail(reference)).toEqual(target);
  });

  it.each([
    '#contained',
    'Patient',
    'xPatient/1',
    `Patient/${'x'.repeat(65)}`,
    `Patient/1/_history/${'x'.repeat(65)}`,
    'Patient/1/_history/',
    'Patient/1/_history/a b',
    'urn:uuid:0190a6c2-7b1e-7c3a-9f00-0123456789ab',
    `${'A'.repeat(65)}/1`,
  ])('finds no target in %j', (reference) => {
    expect(parseReferenceTail(reference)).toBeUndefined();
  });
});
