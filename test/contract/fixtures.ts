/**
 * Hand-written index rows and small helpers for the contract suites. The rows are written by
 * hand on purpose: the suites test what stores do with rows, not how FHIR produces them.
 */
import type { Resource } from 'fhir/r4';
import { expect } from 'vitest';
import { StorageError, type StorageErrorCode } from '../../src/storage/errors.js';
import type { PutRequest, SearchPage, StoredVersion } from '../../src/storage/resource-store.js';
import type { CompositeComponent, Condition, FieldPredicate, IndexEntry, IndexField, IndexTable } from '../../src/storage/search-index.js';

export const LOINC = 'http://loinc.org';
export const UCUM = 'http://unitsofmeasure.org';

export const str = (param: string, value: string, exact = value): IndexEntry => ({ table: 'string', param, value, exact });
export const tok = (param: string, system: string | null, code: string | null, more: { text?: string; ofType?: string } = {}): IndexEntry => ({
  table: 'token',
  param,
  system,
  code,
  ...more,
});
export const date = (param: string, low: number, high: number): IndexEntry => ({ table: 'date', param, low, high });
export const num = (param: string, low: number, high: number): IndexEntry => ({ table: 'number', param, low, high });
export const qty = (param: string, low: number, high: number, system: string | null, code: string | null, canonical?: boolean): IndexEntry => ({
  table: 'quantity',
  param,
  low,
  high,
  system,
  code,
  ...(canonical === undefined ? {} : { canonical }),
});
export const ref = (
  param: string,
  value: string | null,
  more: { targetType?: string; targetId?: string; identifierSystem?: string; identifierValue?: string } = {},
): IndexEntry => {
  const local = value && /^([A-Z][A-Za-z]+)\/([^/]+)$/.exec(value);
  return { table: 'reference', param, value, ...(local ? { targetType: local[1], targetId: local[2] } : {}), ...more };
};
export const uri = (param: string, value: string): IndexEntry => ({ table: 'uri', param, value });
export const comp = (param: string, ...components: CompositeComponent[]): IndexEntry => ({ table: 'composite', param, components });

/** A row condition: some row of `param` in `table` meets every predicate. */
export const row = (table: IndexTable, param: string, ...where: FieldPredicate[]): Condition => ({ op: 'row', table, param, where });
/** A predicate on one field of a row. */
export const p = (field: IndexField, cmp: FieldPredicate['cmp'], value?: FieldPredicate['value'], component?: number): FieldPredicate => ({
  field,
  cmp,
  ...(value === undefined ? {} : { value }),
  ...(component === undefined ? {} : { component }),
});
export const and = (...of: Condition[]): Condition => ({ op: 'and', of });
export const or = (...of: Condition[]): Condition => ({ op: 'or', of });
export const not = (of: Condition): Condition => ({ op: 'not', of });
export const ALL: Condition = { op: 'true' };

/** A PUT of a minimal resource with the given rows. */
export function putOf(resourceType: string, id: string, index: IndexEntry[] = [], extra: Partial<PutRequest> = {}): PutRequest {
  return { resourceType, id, resource: { resourceType, id } as Resource, index, method: 'PUT', ...extra };
}

export const idsOf = (page: SearchPage | { resources: StoredVersion[] }): string[] => page.resources.map((r) => r.id);

/** Waits long enough for Date.now() to move on, so lastUpdated values differ. */
export const tick = (ms = 3): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Asserts that `promise` rejects with the store's own error of `code` (stores know no HTTP). */
export async function expectStorageError(promise: Promise<unknown>, code: StorageErrorCode): Promise<StorageError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, `expected a StorageError ${code}`).toBeInstanceOf(StorageError);
  expect((error as StorageError).code).toBe(code);
  return error as StorageError;
}

/** Epoch ms of a version's lastUpdated. */
export const msOf = (version: StoredVersion): number => Date.parse(version.lastUpdated);

/** Inclusive epoch-ms range of a calendar year or month (UTC), as a date row would hold it. */
export function yearRange(year: number, month?: number): [number, number] {
  if (month === undefined) return [Date.UTC(year, 0, 1), Date.UTC(year + 1, 0, 1) - 1];
  return [Date.UTC(year, month - 1, 1), Date.UTC(year, month, 1) - 1];
}
