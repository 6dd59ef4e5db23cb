/**
 * The one place where the access policy meets the data: a wrapper around the store operations
 * that every FHIR interaction uses. Reads outside the policy look like absent resources (no
 * existence leaks), searches get the policy's filter ANDed in, writes are checked before and
 * after. https://hl7.org/fhir/smart-app-launch/STU2.2/scopes-and-launch-context.html
 */
import type { ResourceOperations } from '../storage/resource-store.js';
import type { AccessPolicy } from './policy.js';

export function guardStore(operations: ResourceOperations, policy: AccessPolicy): ResourceOperations {
  if (!policy.restricted) return operations;
  // The enforcing wrapper arrives with the resource-server enforcement work; until then a
  // restricted policy must never silently see everything.
  throw new Error('guardStore: restricted policies are not implemented yet');
}
