/**
 * Kick-off parameters as tables: what is accepted and how it is read, and every bad input
 * rejected with a 400 FhirError (or skipped, and listed, under handling=lenient).
 */
import { describe, expect, it } from 'vitest';
import { exportParameters } from '../../../src/bulk/parameters.js';
import type { ExportLevel } from '../../../src/bulk/job.js';
import { FhirError } from '../../../src/r4/errors.js';
import type { FhirRequest } from '../../../src/fhir/request.js';

const BASE = 'http://localhost/fhir';

function get(query: string): FhirRequest {
  return { method: 'GET', path: '$export', query: new URLSearchParams(query), headers: {}, body: undefined, params: {} };
}
function post(parameter: unknown[], query = ''): FhirRequest {
  return {
    method: 'POST',
    path: 'Patient/$export',
    query: new URLSearchParams(query),
    headers: {},
    body: { resourceType: 'Parameters', parameter },
    params: {},
  };
}

describe('accepted parameters', () => {
  it('reads _type, _since, _elements and _typeFilter from the query', () => {
    const p = exportParameters(
      get(
        '_type=Patient,Observation,Patient&_since=2024-05-01T10:00:00Z&_elements=id,Patient.name&_typeFilter=Observation%3Fcategory%3Dlaboratory&_outputFormat=ndjson',
      ),
      'system',
      false,
      BASE,
    );
    expect(p).toEqual({
      types: ['Patient', 'Observation'],
      since: Date.parse('2024-05-01T10:00:00Z'),
      elements: ['id', 'Patient.name'],
      typeFilters: [{ type: 'Observation', query: 'category=laboratory' }],
      ignored: [],
    });
  });

  it('splits comma-separated _typeFilter queries without breaking a FHIR OR list', () => {
    const p = exportParameters(
      get(`_typeFilter=${encodeURIComponent('Observation?code=a,b&status=final,Condition?clinical-status=active')}`),
      'system',
      false,
      BASE,
    );
    expect(p.typeFilters).toEqual([
      { type: 'Observation', query: 'code=a,b&status=final' },
      { type: 'Condition', query: 'clinical-status=active' },
    ]);
  });

  it('reads a Parameters body, patient references included', () => {
    const p = exportParameters(
      post([
        { name: '_type', valueString: 'Patient' },
        { name: '_since', valueInstant: '2024-01-01T00:00:00.000Z' },
        { name: 'patient', valueReference: { reference: 'Patient/a' } },
        { name: 'patient', valueReference: { reference: 'http://localhost/fhir/Patient/b' } },
        { name: 'patient', valueReference: { reference: 'Patient/a' } },
      ]),
      'patient',
      false,
      BASE,
    );
    expect(p.patients).toEqual(['a', 'b']);
    expect(p.types).toEqual(['Patient']);
    expect(p.since).toBe(Date.parse('2024-01-01T00:00:00Z'));
  });

  it('ignores _format and _pretty', () => {
    expect(exportParameters(get('_format=json&_pretty=true'), 'system', false, BASE)).toEqual({ typeFilters: [], ignored: [] });
  });
});

describe('rejected parameters', () => {
  const bad: Array<[string, FhirRequest, ExportLevel]> = [
    ['an unknown parameter', get('foo=bar'), 'system'],
    ['includeAssociatedData', get('includeAssociatedData=LatestProvenanceResources'), 'system'],
    ['_outputFormat text/csv', get('_outputFormat=text/csv'), 'system'],
    ['_outputFormat twice', get('_outputFormat=ndjson&_outputFormat=ndjson'), 'system'],
    ['_since not a date', get('_since=last-week'), 'system'],
    ['_since twice', get('_since=2020&_since=2021'), 'system'],
    ['_type unknown', get('_type=Spaceship'), 'system'],
    ['_elements nested', get('_elements=name.family'), 'system'],
    ['_elements of an unknown type', get('_elements=Spaceship.name'), 'system'],
    ['_typeFilter without ?', get('_typeFilter=Observation'), 'system'],
    ['_typeFilter unknown type', get('_typeFilter=Spaceship%3Fname%3Dx'), 'system'],
    ['_typeFilter unknown parameter', get('_typeFilter=Observation%3Fcolour%3Dblue'), 'system'],
    ['_typeFilter with _include', get('_typeFilter=Observation%3F_include%3DObservation%3Asubject'), 'system'],
    ['_typeFilter with _count', get('_typeFilter=Observation%3F_count%3D10'), 'system'],
    ['_typeFilter bad value', get('_typeFilter=Observation%3Fdate%3Dnot-a-date'), 'system'],
    ['_typeFilter outside _type', get('_type=Patient&_typeFilter=Observation%3Fstatus%3Dfinal'), 'system'],
    ['patient at system level', post([{ name: 'patient', valueReference: { reference: 'Patient/a' } }]), 'system'],
    ['patient on GET', get('patient=Patient/a'), 'patient'],
    ['patient not a Patient', post([{ name: 'patient', valueReference: { reference: 'Group/a' } }]), 'patient'],
    ['a body that is not Parameters', { ...post([]), body: { resourceType: 'Bundle' } }, 'system'],
    ['a parameter without a name', post([{ valueString: 'Patient' }]), 'system'],
    ['a parameter without a value', post([{ name: '_type' }]), 'system'],
  ];
  for (const [name, request, level] of bad) {
    it(`400 for ${name}`, () => {
      let error: unknown;
      try {
        exportParameters(request, level, false, BASE);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(FhirError);
      expect((error as FhirError).status).toBe(400);
    });
  }

  it('handling=lenient skips what it can and lists it', () => {
    const p = exportParameters(get('foo=1&_type=Patient,Spaceship&_typeFilter=Observation%3Fcolour%3Dblue'), 'system', true, BASE);
    expect(p.types).toEqual(['Patient']);
    expect(p.typeFilters).toEqual([]);
    expect(p.ignored).toEqual(['foo', '_type=Spaceship', '_typeFilter=Observation?colour=blue']);
  });

  it('handling=lenient does not make a malformed _since or _outputFormat acceptable', () => {
    expect(() => exportParameters(get('_since=whenever'), 'system', true, BASE)).toThrow(FhirError);
    expect(() => exportParameters(get('_outputFormat=application/json'), 'system', true, BASE)).toThrow(FhirError);
  });
});
