/**
 * A package's `package.json`: name, version, FHIR versions and dependencies.
 * https://confluence.hl7.org/display/FHIR/NPM+Package+Specification
 */
import { PackageError } from './errors.js';

/** What Bedside reads of `package.json`. */
export interface PackageManifest {
  name: string;
  version: string;
  /** The FHIR versions it is for (`fhirVersions`, or the version of its hl7.fhir.r4.core dependency). */
  fhirVersions: string[];
  /** Package name to version. */
  dependencies: Record<string, string>;
  /** The IG's canonical base URL, when given. */
  canonical?: string;
  title?: string;
}

/** The R4 core package: built into Bedside, never installed. */
export const CORE_PACKAGE = 'hl7.fhir.r4.core';

/** FHIR versions Bedside serves: R4 (4.0.0 and its technical correction 4.0.1). */
const R4 = /^4\.0(\.\d+)?$/;

/** Reads and checks a manifest; refuses a package for another FHIR version. */
export function parseManifest(json: unknown, source: string): PackageManifest {
  if (!json || typeof json !== 'object') throw new PackageError(`${source}: package.json is not a JSON object`);
  const raw = json as Record<string, unknown>;
  const name = raw.name;
  const version = raw.version;
  if (typeof name !== 'string' || !/^[a-z0-9@][a-z0-9._\-/@]*$/i.test(name)) throw new PackageError(`${source}: package.json has no valid "name"`);
  if (typeof version !== 'string' || version.trim() === '') throw new PackageError(`${source}: package.json has no "version"`);
  const dependencies: Record<string, string> = {};
  if (raw.dependencies !== undefined) {
    if (typeof raw.dependencies !== 'object' || raw.dependencies === null)
      throw new PackageError(`${source}: "dependencies" in package.json must be an object`);
    for (const [dep, v] of Object.entries(raw.dependencies)) dependencies[dep] = String(v);
  }
  let fhirVersions = Array.isArray(raw.fhirVersions) ? raw.fhirVersions.map(String) : [];
  if (fhirVersions.length === 0 && dependencies[CORE_PACKAGE]) fhirVersions = [dependencies[CORE_PACKAGE]];
  const id = `${name}#${version}`;
  if (fhirVersions.length === 0) throw new PackageError(`${id} (${source}) does not say which FHIR version it is for (no fhirVersions in package.json)`);
  if (!fhirVersions.some((v) => R4.test(v))) {
    throw new PackageError(`${id} (${source}) is for FHIR ${fhirVersions.join(', ')}; Bedside serves FHIR R4 (4.0.1) and cannot load it`);
  }
  const manifest: PackageManifest = { name, version, fhirVersions, dependencies };
  if (typeof raw.canonical === 'string') manifest.canonical = raw.canonical;
  if (typeof raw.title === 'string') manifest.title = raw.title;
  return manifest;
}
