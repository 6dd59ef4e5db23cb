/**
 * FHIRPath Patch (https://hl7.org/fhir/R4/fhirpatch.html) on hand-written resources: each
 * operation type with its expected result, primitives with extensions kept aligned, choice
 * elements, backbone values given as parts; and a table of patches that must be refused with the
 * failing operation named, never applied, never a crash (prototype paths among them).
 */
import type { Parameters, ParametersParameter, Resource } from 'fhir/r4';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { applyFhirPathPatch } from '../../../src/fhir/patch/fhirpath-patch.js';
import { validateForWrite } from '../../../src/fhir/validation.js';
import { FhirError } from '../../../src/r4/errors.js';

type Json = Record<string, any>;

const patient = (): Json => ({
  resourceType: 'Patient',
  id: 'p1',
  identifier: [
    { system: 'urn:mrn', value: '1' },
    { system: 'urn:ssn', value: '2' },
  ],
  active: true,
  name: [{ use: 'official', family: 'Doe', given: ['Jane', 'Q'], _given: [null, { extension: [{ url: 'http://example.org/initial', valueBoolean: true }] }] }],
  birthDate: '1970-01-01',
  deceasedBoolean: false,
  contact: [{ name: { family: 'Roe' } }],
});

/** One `operation` parameter. */
function op(type: string, path: string, extra: ParametersParameter[] = []): ParametersParameter {
  return { name: 'operation', part: [{ name: 'type', valueCode: type }, { name: 'path', valueString: path }, ...extra] };
}
const params = (...operations: ParametersParameter[]): Parameters => ({ resourceType: 'Parameters', parameter: operations });
const apply = (resource: Json, ...operations: ParametersParameter[]) => applyFhirPathPatch(resource as Resource, params(...operations)) as Json;
const value = (v: Omit<ParametersParameter, 'name'>): ParametersParameter => ({ name: 'value', ...v });

describe('FHIRPath Patch operations', () => {
  it('add: a single element, an item appended to a list, an element built from parts, an extension on a primitive', () => {
    const out = apply(
      patient(),
      op('add', 'Patient', [{ name: 'name', valueString: 'gender' }, value({ valueCode: 'female' })]),
      op('add', 'Patient', [{ name: 'name', valueString: 'telecom' }, value({ valueContactPoint: { system: 'phone', value: '555' } })]),
      op('add', 'Patient.name[0]', [{ name: 'name', valueString: 'given' }, value({ valueString: 'Ann' })]),
      op('add', 'Patient', [
        { name: 'name', valueString: 'contact' },
        value({
          part: [
            { name: 'name', valueHumanName: { family: 'Poe' } },
            { name: 'telecom', valueContactPoint: { system: 'email', value: 'p@example.org' } },
          ],
        }),
      ]),
      op('add', 'Patient.birthDate', [
        { name: 'name', valueString: 'extension' },
        value({
          part: [
            { name: 'url', valueUri: 'http://example.org/time' },
            { name: 'value', valueTime: '08:00:00' },
          ],
        }),
      ]),
    );
    expect(out.gender).toBe('female');
    expect(out.telecom).toEqual([{ system: 'phone', value: '555' }]);
    expect(out.name[0].given).toEqual(['Jane', 'Q', 'Ann']);
    expect(out.name[0]._given).toEqual([null, { extension: [{ url: 'http://example.org/initial', valueBoolean: true }] }, null]);
    expect(out.contact[1]).toEqual({ name: { family: 'Poe' }, telecom: [{ system: 'email', value: 'p@example.org' }] });
    expect(out._birthDate).toEqual({ extension: [{ url: 'http://example.org/time', valueTime: '08:00:00' }] });
    expect(() => validateForWrite(out, 'Patient')).not.toThrow();
  });

  it('add: a choice element by its stem takes the type of the value', () => {
    const out = apply(
      { resourceType: 'Patient', id: 'x' },
      op('add', 'Patient', [{ name: 'name', valueString: 'deceased' }, value({ valueDateTime: '2020-01-01' })]),
    );
    expect(out.deceasedDateTime).toBe('2020-01-01');
  });

  it('insert: at the start, in the middle and at the end, with a primitive list and its extensions kept aligned', () => {
    const out = apply(
      patient(),
      op('insert', 'Patient.identifier', [{ name: 'index', valueInteger: 0 }, value({ valueIdentifier: { system: 'urn:a', value: '0' } })]),
      op('insert', 'Patient.identifier', [{ name: 'index', valueInteger: 3 }, value({ valueIdentifier: { system: 'urn:z', value: '3' } })]),
      op('insert', 'Patient.name[0].given', [{ name: 'index', valueInteger: 1 }, value({ valueString: 'Mid' })]),
      op('insert', 'Patient.telecom', [{ name: 'index', valueInteger: 0 }, value({ valueContactPoint: { system: 'fax', value: '1' } })]),
    );
    expect(out.identifier.map((i: Json) => i.system)).toEqual(['urn:a', 'urn:mrn', 'urn:ssn', 'urn:z']);
    expect(out.name[0].given).toEqual(['Jane', 'Mid', 'Q']);
    expect(out.name[0]._given).toEqual([null, null, { extension: [{ url: 'http://example.org/initial', valueBoolean: true }] }]);
    expect(out.telecom).toEqual([{ system: 'fax', value: '1' }]);
  });

  it('delete: one element, a list item (its extension with it), the last item of a list; nothing when the path selects nothing', () => {
    const out = apply(
      patient(),
      op('delete', 'Patient.birthDate'),
      op('delete', "Patient.identifier.where(system = 'urn:mrn')"),
      op('delete', 'Patient.name[0].given[1]'),
      op('delete', 'Patient.contact[0]'),
      op('delete', 'Patient.multipleBirth'),
    );
    expect(out.birthDate).toBeUndefined();
    expect(out.identifier).toEqual([{ system: 'urn:ssn', value: '2' }]);
    expect(out.name[0].given).toEqual(['Jane']);
    expect(out.name[0]._given).toBeUndefined();
    expect(out.contact).toBeUndefined();
  });

  it('replace: a primitive (its extensions go with it), a datatype, a choice element with another type, an item of a list', () => {
    const out = apply(
      patient(),
      op('replace', 'Patient.name[0].given[1]', [value({ valueString: 'Quinn' })]),
      op('replace', 'Patient.birthDate', [value({ valueDate: '1971-02-03' })]),
      op('replace', 'Patient.identifier[1]', [value({ valueIdentifier: { system: 'urn:new', value: '9' } })]),
      op('replace', 'Patient.deceased', [value({ valueDateTime: '2024-05-01' })]),
      op('replace', 'Patient.active', [value({ valueBoolean: false })]),
    );
    expect(out.name[0].given).toEqual(['Jane', 'Quinn']);
    expect(out.name[0]._given).toBeUndefined();
    expect(out.birthDate).toBe('1971-02-03');
    expect(out.identifier[1]).toEqual({ system: 'urn:new', value: '9' });
    expect(out.deceasedBoolean).toBeUndefined();
    expect(out.deceasedDateTime).toBe('2024-05-01');
    expect(out.active).toBe(false);
  });

  it('move: an item from source to destination, with aligned extensions', () => {
    const out = apply(
      patient(),
      op('move', 'Patient.identifier', [
        { name: 'source', valueInteger: 0 },
        { name: 'destination', valueInteger: 1 },
      ]),
      op('move', 'Patient.name[0].given', [
        { name: 'source', valueInteger: 1 },
        { name: 'destination', valueInteger: 0 },
      ]),
    );
    expect(out.identifier.map((i: Json) => i.system)).toEqual(['urn:ssn', 'urn:mrn']);
    expect(out.name[0].given).toEqual(['Q', 'Jane']);
    expect(out.name[0]._given).toEqual([{ extension: [{ url: 'http://example.org/initial', valueBoolean: true }] }, null]);
  });

  it('works inside contained resources and leaves the input untouched', () => {
    const input = {
      resourceType: 'Patient',
      id: 'c',
      contained: [{ resourceType: 'Organization', id: 'o', name: 'Old' }],
      managingOrganization: { reference: '#o' },
    };
    const before = structuredClone(input);
    const out = apply(
      input,
      op('replace', 'Patient.contained[0].name', [value({ valueString: 'New' })]),
      op('add', 'Patient.contained[0]', [{ name: 'name', valueString: 'active' }, value({ valueBoolean: true })]),
    );
    expect(out.contained[0]).toEqual({ resourceType: 'Organization', id: 'o', name: 'New', active: true });
    expect(input).toEqual(before);
  });
});

describe('FHIRPath Patch errors name the operation and change nothing', () => {
  // [what, operations, status, text the diagnostics must contain]
  const cases: Array<[string, ParametersParameter[], number, string]> = [
    ['an unknown operation type', [op('frob', 'Patient.name')], 400, 'operation 1: "type" must be one of'],
    ['a missing path', [{ name: 'operation', part: [{ name: 'type', valueCode: 'delete' }] }], 400, '"path" is required'],
    ['a parameter not named operation', [{ name: 'op', part: [{ name: 'type', valueCode: 'delete' }] }], 400, 'named "operation"'],
    ['an unknown part', [op('delete', 'Patient.name', [{ name: 'where', valueString: 'x' }])], 400, 'unknown part "where"'],
    ['add without a value', [op('add', 'Patient', [{ name: 'name', valueString: 'gender' }])], 400, '"value" is required for add'],
    ['a part that does not belong to the type', [op('delete', 'Patient.name', [{ name: 'index', valueInteger: 1 }])], 400, '"index" is not a part of delete'],
    ['a path that is not FHIRPath', [op('delete', 'Patient.name.where(')], 400, 'not valid FHIRPath'],
    ['a disallowed function', [op('delete', 'Patient.descendants().first()')], 400, 'descendants() is not allowed'],
    ['a disallowed function in backticks', [op('delete', 'Patient.`repeat`(name).first()')], 400, 'repeat() is not allowed'],
    ['replace of nothing', [op('replace', 'Patient.gender', [value({ valueCode: 'male' })])], 422, '(replace Patient.gender): the path selects nothing'],
    ['replace of several', [op('replace', 'Patient.identifier', [value({ valueIdentifier: { value: 'x' } })])], 422, 'selects 2 elements'],
    ['delete of several', [op('delete', 'Patient.identifier')], 422, 'delete removes one'],
    [
      'add of an existing single element',
      [op('add', 'Patient', [{ name: 'name', valueString: 'birthDate' }, value({ valueDate: '2000' })])],
      422,
      'already has a value; use replace',
    ],
    [
      'add of a second choice type',
      [op('add', 'Patient', [{ name: 'name', valueString: 'deceasedDateTime' }, value({ valueDateTime: '2000' })])],
      422,
      'already has deceasedBoolean',
    ],
    ['add of an unknown element', [op('add', 'Patient', [{ name: 'name', valueString: 'nmae' }, value({ valueString: 'x' })])], 422, 'has no element "nmae"'],
    ['add of __proto__', [op('add', 'Patient', [{ name: 'name', valueString: '__proto__' }, value({ valueString: 'x' })])], 422, 'has no element "__proto__"'],
    ['replace through __proto__', [op('replace', 'Patient.__proto__', [value({ valueString: 'x' })])], 422, 'not an element of the resource'],
    [
      'add under __proto__',
      [op('add', 'Patient.__proto__', [{ name: 'name', valueString: 'polluted' }, value({ valueString: 'x' })])],
      422,
      'not an element of the resource',
    ],
    ['replace of constructor', [op('replace', 'Patient.constructor', [value({ valueString: 'x' })])], 422, 'not an element of the resource'],
    ['a computed value', [op('replace', '1 + 1', [value({ valueInteger: 3 })])], 422, 'computed value'],
    [
      'a value of the wrong datatype',
      [op('replace', 'Patient.name[0]', [value({ valueAddress: { city: 'x' } })])],
      422,
      'is a HumanName; the value is a Address',
    ],
    ['a primitive value of the wrong kind', [op('replace', 'Patient.active', [value({ valueString: 'yes' })])], 422, 'is a boolean; the value is a string'],
    [
      'a backbone element given as a datatype',
      [op('replace', 'Patient.contact[0]', [value({ valueHumanName: { family: 'x' } })])],
      422,
      'give its content as parts',
    ],
    [
      'insert outside the list',
      [op('insert', 'Patient.identifier', [{ name: 'index', valueInteger: 5 }, value({ valueIdentifier: { value: 'x' } })])],
      422,
      'index 5 is outside the list (0 to 2)',
    ],
    [
      'insert into an element that does not repeat',
      [op('insert', 'Patient.gender', [{ name: 'index', valueInteger: 0 }, value({ valueCode: 'male' })])],
      422,
      'no repeating element "gender"',
    ],
    [
      'move outside the list',
      [
        op('move', 'Patient.identifier', [
          { name: 'source', valueInteger: 0 },
          { name: 'destination', valueInteger: 2 },
        ]),
      ],
      422,
      'destination 2 is outside the list (0 to 1)',
    ],
    ['delete of the resource', [op('delete', 'Patient')], 422, 'the resource itself cannot be deleted'],
    [
      'the second of two operations',
      [op('delete', 'Patient.birthDate'), op('replace', 'Patient.birthDate', [value({ valueDate: '2000' })])],
      422,
      'operation 2 (replace Patient.birthDate)',
    ],
  ];
  it.each(cases)('refuses %s', (_what, operations, status, text) => {
    const input = patient();
    let caught: unknown;
    try {
      apply(input, ...operations);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(FhirError);
    const error = caught as FhirError;
    expect(error.status).toBe(status);
    expect(error.message).toContain(text);
    expect(input).toEqual(patient());
    expect(({} as Json).polluted).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty('polluted');
  });

  it('refuses a Parameters resource that is not valid R4 with 400', () => {
    expect(() =>
      applyFhirPathPatch(
        patient() as Resource,
        { resourceType: 'Parameters', parameter: [{ name: 'operation', part: [{ name: 'type', valueCode: 'delete', valueString: 'x' }] }] } as Parameters,
      ),
    ).toThrow(expect.objectContaining({ status: 400 }));
    expect(() => applyFhirPathPatch(patient() as Resource, { resourceType: 'Parameters' })).toThrow(/at least one "operation"/);
  });
});

describe('any patch', () => {
  it('is applied or refused with a 400/422 FhirError, never another failure, never touching prototypes', () => {
    const path = fc.constantFrom(
      'Patient',
      'Patient.name',
      'Patient.name[0]',
      'Patient.name[0].given',
      'Patient.name[0].given[1]',
      'Patient.birthDate',
      'Patient.deceased',
      'Patient.contact[0].name',
      "Patient.identifier.where(system = 'urn:mrn')",
      'Patient.__proto__',
      'Patient.constructor',
      'Patient.name.first().family',
      'Patient.birthDate.extension',
      '%resource.name',
      'name',
      '1',
      "'x'",
      'Patient.name[99]',
      '',
    );
    const name = fc.constantFrom('given', 'family', 'name', 'telecom', 'deceased', 'extension', '__proto__', 'constructor', 'contact', 'birthDate', 'x');
    const value = fc.constantFrom<ParametersParameter[]>(
      [{ name: 'value', valueString: 'v' }],
      [{ name: 'value', valueBoolean: true }],
      [{ name: 'value', valueInteger: 3 }],
      [{ name: 'value', valueHumanName: { family: 'F' } }],
      [{ name: 'value', valueCode: 'male' }],
      [{ name: 'value', valueDateTime: '2020' }],
      [{ name: 'value', part: [{ name: 'name', valueHumanName: { text: 't' } }] }],
      [{ name: 'value', part: [{ name: '__proto__', valueString: 'x' }] }],
      [{ name: 'value', resource: { resourceType: 'Patient' } }],
      [],
    );
    const integer = (n: string) =>
      fc.option(
        fc.integer({ min: -2, max: 4 }).map((i): ParametersParameter => ({ name: n, valueInteger: i })),
        { nil: undefined },
      );
    const operation = fc
      .tuple(
        fc.constantFrom('add', 'insert', 'delete', 'replace', 'move', 'nope'),
        path,
        fc.option(name, { nil: undefined }),
        value,
        integer('index'),
        integer('source'),
        integer('destination'),
      )
      .map(([type, p, n, v, ...ints]) =>
        op(type, p, [...(n ? [{ name: 'name', valueString: n }] : []), ...v, ...ints.filter((i): i is ParametersParameter => i !== undefined)]),
      );
    fc.assert(
      fc.property(fc.array(operation, { minLength: 1, maxLength: 4 }), (operations) => {
        const input = patient();
        try {
          apply(input, ...operations);
        } catch (error) {
          expect(error).toBeInstanceOf(FhirError);
          expect([400, 422]).toContain((error as FhirError).status);
        }
        expect(input).toEqual(patient());
        expect(Object.prototype).not.toHaveProperty('x');
        expect(Object.prototype).not.toHaveProperty('given');
      }),
      { numRuns: 500 },
    );
  });
});
