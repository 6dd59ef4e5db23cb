/**
 * The CapabilityStatement claims an implementation guide's CapabilityStatement only when it
 * offers what that guide is about. https://hl7.org/fhir/R4/capabilitystatement-definitions.html#CapabilityStatement.instantiates
 */
import { describe, expect, it } from 'vitest';
import { testConfig } from '../../../src/config.js';
import { buildCapabilityStatement } from '../../../src/fhir/capability-statement.js';
import { validateForWrite } from '../../../src/fhir/validation.js';

const EXPORT = { name: 'export', definition: 'http://hl7.org/fhir/uv/bulkdata/OperationDefinition/export', level: 'system' as const };

describe('CapabilityStatement.instantiates', () => {
  it('names the Bulk Data CapabilityStatement when system $export is offered, and stays valid R4', () => {
    const statement = buildCapabilityStatement({ config: testConfig(), version: 'test', operations: [EXPORT] });
    expect(statement.instantiates).toEqual(['http://hl7.org/fhir/uv/bulkdata/CapabilityStatement/bulk-data']);
    expect(() => validateForWrite(statement, 'CapabilityStatement')).not.toThrow();
  });

  it('claims nothing without $export', () => {
    const statement = buildCapabilityStatement({
      config: testConfig(),
      version: 'test',
      operations: [{ name: 'everything', definition: 'http://hl7.org/fhir/OperationDefinition/Patient-everything', level: 'instance', types: ['Patient'] }],
    });
    expect(statement).not.toHaveProperty('instantiates');
  });
});
