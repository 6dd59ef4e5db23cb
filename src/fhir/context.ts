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
import type { IndexEntry } from '../storage/search-index.js';

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
  /** Search index rows of a resource (fhir/search/extract.ts). */
  indexer: (resource: Resource) => IndexEntry[];
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

export function fhirBase(context: FhirContext): string {
  return context.services.config.fhirBaseUrl;
}
