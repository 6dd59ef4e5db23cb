/**
 * What an interaction works with: the server-wide services, and the per-request context
 * (the policy-guarded store, bound to the open transaction inside transaction Bundles).
 */
import type { Resource } from 'fhir/r4';
import type { Logger } from 'pino';
import type { AccessPolicy } from '../access/policy.js';
import type { Config } from '../config.js';
import type { ResourceOperations, ResourceStore } from '../storage/resource-store.js';
import type { IndexEntry } from '../storage/search-index.js';

/** Built once per server. */
export interface FhirServices {
  config: Config;
  /** The raw store; interactions use FhirContext.store, which is guarded by the policy. */
  store: ResourceStore;
  logger: Logger;
  /** Search index rows of a resource (fhir/search/extract.ts). */
  indexer: (resource: Resource) => IndexEntry[];
  /** Wraps store operations with the request's access policy (access/guarded-store.ts). */
  guard: (operations: ResourceOperations, policy: AccessPolicy) => ResourceOperations;
}

/** One request's view. */
export interface FhirContext {
  services: FhirServices;
  /** Policy-enforcing operations: every read and write of data goes through here. */
  store: ResourceOperations;
  policy: AccessPolicy;
  requestId: string;
  /** True inside a transaction Bundle: nested bundles are refused, writes join the transaction. */
  inTransaction: boolean;
}

export function fhirBase(context: FhirContext): string {
  return context.services.config.fhirBaseUrl;
}
