/**
 * What an interaction works with: the server-wide services, and the per-request context (the
 * store bound to the request's access policy, bound to the open transaction inside transaction
 * Bundles). There is no other store here: an interaction can only reach data the policy allows.
 */
import type { Resource } from 'fhir/r4';
import type { Logger } from 'pino';
import type { GuardedStore } from '../access/guarded-store.js';
import type { AccessPolicy } from '../access/policy.js';
import type { Config } from '../config.js';
import type { ConformanceResources } from '../packages/conformance.js';
import type { ResourceOperations } from '../storage/resource-store.js';
import type { IndexEntry } from '../storage/search-index.js';
import type { ProfileValidator } from './validator/profiles/index.js';
import type { SearchRegistry } from '../search/registry.js';
import type { CodeSet, CodeSetRequest } from '../search/types.js';
import type { ValidateCode } from '../terminology/types.js';

/**
 * Answers the token search modifiers `:in`, `:not-in`, `:above` and `:below` (implemented by
 * src/terminology/). https://hl7.org/fhir/R4/search.html#token
 */
export interface CodeSetResolver {
  /**
   * The codings each request stands for, in order. Value sets and code systems in the store are
   * read through `reader`, the request's policy-bound store. Throws a FhirError when one cannot
   * be answered (an unknown value set, a code system Bedside does not hold).
   */
  resolve(reader: ResourceOperations, requests: readonly CodeSetRequest[]): Promise<CodeSet[]>;
}

/**
 * What a feature adds to every write of one resource type through the API (create, update,
 * patch, their conditional forms, Bundle entries): its own checks, and the elements the server
 * manages. Gets the validated resource about to be stored, returns the resource to store, or
 * throws a FhirError.
 */
export type WriteRule = (context: FhirContext, resource: Resource) => Promise<Resource>;

/** Built once per server. */
export interface FhirServices {
  config: Config;
  logger: Logger;
  /** Search index rows of a resource (search/extract.ts) under {@link searchRegistry}. */
  indexer: (resource: Resource) => IndexEntry[];
  /** Validation against profiles (`$validate`, and writes under VALIDATE_PROFILES). */
  profiles: ProfileValidator;
  /** The search parameters in force: R4's plus the installed packages' (packages/service.ts). */
  searchRegistry: () => SearchRegistry;
  /** Conformance resources of the installed FHIR packages (packages/conformance.ts). */
  conformance: ConformanceResources;
  /** Terminology for the token modifiers `:in`, `:not-in`, `:above`, `:below`; absent: they are refused. */
  codeSets?: CodeSetResolver;
  /**
   * The binding check for validation (terminology/service.ts `bindingCheck`) reading value sets
   * and code systems through `reader` (a request's policy-bound store): is a code in a value set?
   * `true`, `false`, or `'unknown'` naming the code system Bedside lacks.
   */
  bindingCheck?: (reader: ResourceOperations) => ValidateCode;
  /** Write rules by resource type (subscriptions/ adds Subscription's). */
  writeRules?: Readonly<Record<string, WriteRule>>;
}

/** One request's view. */
export interface FhirContext {
  services: FhirServices;
  /** The store as the request's policy may see it: every read and write of data goes through here. */
  store: GuardedStore;
  policy: AccessPolicy;
  requestId: string;
  /** True inside a transaction Bundle: nested bundles are refused, writes join the transaction. */
  inTransaction: boolean;
}

/** The context of a request made by `store`'s principal. */
export function requestContext(services: FhirServices, store: GuardedStore, requestId: string): FhirContext {
  return { services, store, policy: store.policy, requestId, inTransaction: false };
}
