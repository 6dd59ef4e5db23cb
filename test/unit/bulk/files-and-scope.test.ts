/**
 * The NDJSON writer's size-based splitting, the export scope conditions (compartments, group
 * members, large patient sets checked in memory) and Group membership.
 */
import { mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { NdjsonWriter } from '../../../src/bulk/ndjson-writer.js';
import { MAX_INLINE_PATIENTS, compartmentCondition, groupPatients, typeScope } from '../../../src/bulk/scope.js';
import { patientCompartmentParams } from '../../../src/search/compartments.js';
import type { StoredVersion } from '../../../src/storage/resource-store.js';
import { tempDir } from '../../support/server.js';

const BASE = 'http://localhost/fhir';
const dir = tempDir('bedside-ndjson-');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('NdjsonWriter', () => {
  it('splits at maxBytes, never inside a line, and gives an oversized line a file of its own', async () => {
    const folder = path.join(dir, 'split');
    mkdirSync(folder);
    const writer = new NdjsonWriter(folder, 'Observation', 100, (n) => `Observation-${n}.ndjson`);
    const lines = ['a'.repeat(40), 'b'.repeat(40), 'c'.repeat(40), 'd'.repeat(150), 'é'.repeat(30), 'f'];
    for (const line of lines) await writer.write(line);
    const files = await writer.finish();
    expect(files.map((f) => [f.name, f.count, f.bytes])).toEqual([
      ['Observation-1.ndjson', 2, 82],
      ['Observation-2.ndjson', 1, 41],
      ['Observation-3.ndjson', 1, 151],
      // 'é' is two bytes in UTF-8: sizes are bytes, not characters.
      ['Observation-4.ndjson', 2, 63],
    ]);
    const written = readdirSync(folder)
      .sort()
      .map((name) => readFileSync(path.join(folder, name), 'utf8'));
    expect(written.join('')).toBe(lines.map((l) => `${l}\n`).join(''));
    for (const file of files) expect(Buffer.byteLength(readFileSync(path.join(folder, file.name)))).toBe(file.bytes);
  });

  it('writes no file for no lines', async () => {
    const folder = path.join(dir, 'empty');
    mkdirSync(folder);
    expect(await new NdjsonWriter(folder, 'Patient', 100, (n) => `Patient-${n}.ndjson`).finish()).toEqual([]);
    expect(readdirSync(folder)).toEqual([]);
  });
});

describe('export scope', () => {
  const version = (resource: Record<string, unknown>): StoredVersion => ({
    resourceType: resource.resourceType as string,
    id: resource.id as string,
    versionId: '1',
    lastUpdated: '2024-01-01T00:00:00.000Z',
    resource: resource as never,
    deleted: false,
    method: 'PUT',
  });

  it('limits compartment types to references to the patients, Patient to their ids', () => {
    expect(compartmentCondition('Patient', ['a', 'b'])).toEqual({ op: 'id', ids: ['a', 'b'] });
    expect(compartmentCondition('Patient', undefined)).toEqual({ op: 'true' });
    const observation = compartmentCondition('Observation', ['a']);
    const params = patientCompartmentParams().get('Observation')!;
    expect(observation).toEqual({
      op: 'or',
      of: params.map((param) => ({ op: 'row', table: 'reference', param, where: [{ field: 'value', cmp: 'in', value: ['Patient/a'] }] })),
    });
    expect(compartmentCondition('Practitioner', ['a'])).toEqual({ op: 'false' });
  });

  it('ANDs the _typeFilter queries (ORed) and the compartment', () => {
    const scope = typeScope({ type: 'Observation', filters: ['status=final', 'status=amended'] }, true, new Set(['a']), BASE);
    expect(scope.accept).toBeUndefined();
    expect(scope.where?.op).toBe('and');
    const parts = (scope.where as { of: Array<{ op: string }> }).of;
    expect(parts).toHaveLength(2);
    expect(parts[0]!.op).toBe('or');
    expect(parts[1]).toEqual(compartmentCondition('Observation', ['a']));
    expect(typeScope({ type: 'Observation' }, false, undefined, BASE)).toEqual({ where: undefined });
  });

  it('checks large patient sets in memory after a query for "some patient\'s compartment"', () => {
    const patients = new Set(Array.from({ length: MAX_INLINE_PATIENTS + 1 }, (_, i) => `p${i}`));
    const scope = typeScope({ type: 'Observation' }, true, patients, BASE);
    expect(JSON.stringify(scope.where)).toContain('"targetType"');
    const accept = scope.accept!;
    expect(accept(version({ resourceType: 'Observation', id: 'o1', status: 'final', code: { text: 'x' }, subject: { reference: 'Patient/p7' } }))).toBe(true);
    expect(accept(version({ resourceType: 'Observation', id: 'o2', status: 'final', code: { text: 'x' }, subject: { reference: 'Patient/other' } }))).toBe(
      false,
    );
    expect(accept(version({ resourceType: 'Observation', id: 'o3', status: 'final', code: { text: 'x' }, subject: { reference: `${BASE}/Patient/p8` } }))).toBe(
      true,
    );
    const patientScope = typeScope({ type: 'Patient' }, true, patients, BASE);
    expect(patientScope.accept!(version({ resourceType: 'Patient', id: 'p3' }))).toBe(true);
    expect(patientScope.accept!(version({ resourceType: 'Patient', id: 'q' }))).toBe(false);
  });

  it("reads a Group's active Patient members, relative or absolute", () => {
    expect(
      groupPatients(
        {
          member: [
            { entity: { reference: 'Patient/a' } },
            { entity: { reference: `${BASE}/Patient/b` } },
            { entity: { reference: 'Patient/c' }, inactive: true },
            { entity: { reference: 'Practitioner/d' } },
            { entity: { reference: 'http://elsewhere/fhir/Patient/e' } },
            { entity: { reference: 'Patient/a' } },
            {},
          ],
        },
        BASE,
      ),
    ).toEqual(['a', 'b']);
  });
});
