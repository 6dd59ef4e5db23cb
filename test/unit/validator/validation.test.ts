/**
 * validation.ts on top of the validator: the 400 a write gets (OperationOutcome issues with
 * FHIRPath locations and a readable summary) and lenient loading's removal of non-R4 elements.
 */
import type { Resource } from 'fhir/r4';
import { describe, expect, it } from 'vitest';
import { stripUnknownElements, validateForWrite } from '../../../src/fhir/validation.js';
import { FhirError } from '../../../src/r4/errors.js';

const thrown = (fn: () => unknown): FhirError => {
  try {
    fn();
  } catch (error) {
    if (error instanceof FhirError) return error;
    throw error;
  }
  throw new Error('expected a FhirError');
};

describe('validateForWrite', () => {
  it('returns a valid resource as it is', () => {
    const patient = { resourceType: 'Patient', id: 'p1', gender: 'female' };
    expect(validateForWrite(patient, 'Patient')).toBe(patient);
  });

  it('answers 400 with a summary of the first issues and one OperationOutcome issue per problem', () => {
    const error = thrown(() =>
      validateForWrite(
        { resourceType: 'Observation', status: 'bogus', code: { text: 'x' }, valueQuantity: { value: 1, zzz: true }, name: [{ foo: 1 }] },
        'Observation',
      ),
    );
    expect(error.status).toBe(400);
    expect(error.code).toBe('structure');
    expect(error.message).toBe(
      'The Observation is not valid R4: Observation.status: "bogus" is not a code of the required value set http://hl7.org/fhir/ValueSet/observation-status; ' +
        'Observation.valueQuantity.zzz: Quantity has no element "zzz"; Observation.name: Observation has no element "name"',
    );
    expect(error.toOperationOutcome().issue.slice(1)).toEqual([
      {
        severity: 'error',
        code: 'code-invalid',
        diagnostics: '"bogus" is not a code of the required value set http://hl7.org/fhir/ValueSet/observation-status',
        expression: ['Observation.status'],
      },
      { severity: 'error', code: 'structure', diagnostics: 'Quantity has no element "zzz"', expression: ['Observation.valueQuantity.zzz'] },
      { severity: 'error', code: 'structure', diagnostics: 'Observation has no element "name"', expression: ['Observation.name'] },
    ]);
  });

  it('counts the issues beyond the first five', () => {
    const error = thrown(() => validateForWrite({ resourceType: 'Patient', a: 1, b: 2, c: 3, d: 4, e: 5, f: 6, g: 7 }));
    expect(error.message).toMatch(/\(and 2 more\)$/);
    expect(error.issues).toHaveLength(8);
  });

  it('keeps its early checks: resource type of the URL, known type, id', () => {
    expect(thrown(() => validateForWrite({ resourceType: 'Patient' }, 'Observation')).message).toContain('does not match the URL');
    expect(thrown(() => validateForWrite({ resourceType: 'Bot' })).message).toContain('Unknown resourceType');
    expect(thrown(() => validateForWrite({ resourceType: 'Patient', id: 'a b' })).issues[1]!.expression).toEqual(['Patient.id']);
    expect(thrown(() => validateForWrite([])).status).toBe(400);
  });
});

describe('stripUnknownElements', () => {
  it('removes exactly the elements that are not R4, wherever they are, and says which', () => {
    const media = {
      resourceType: 'Media',
      id: 'm',
      status: 'completed',
      content: { contentType: 'image/png', link: 'http://x' },
      contained: [{ resourceType: 'Patient', id: 'p', nickname: 'x', _birthDate: { extension: [{ url: 'u', valueString: 'v' }], foo: 1 } }],
      subject: { reference: '#p' },
    } as unknown as Resource;
    const before = structuredClone(media);
    const { resource, removed } = stripUnknownElements(media);
    expect(removed).toEqual(['Media.content.link', 'Media.contained[0].nickname', 'Media.contained[0]._birthDate.foo']);
    expect(resource).toEqual({
      resourceType: 'Media',
      id: 'm',
      status: 'completed',
      content: { contentType: 'image/png' },
      contained: [{ resourceType: 'Patient', id: 'p', _birthDate: { extension: [{ url: 'u', valueString: 'v' }] } }],
      subject: { reference: '#p' },
    });
    expect(media).toEqual(before);
  });

  it('returns a resource without unknown elements unchanged', () => {
    const patient = { resourceType: 'Patient', gender: 'bogus' } as unknown as Resource;
    expect(stripUnknownElements(patient)).toEqual({ resource: patient, removed: [] });
  });
});
