/**
 * The access policy of one request: what its token allows, compiled once and consulted where
 * data is read and written (access/guarded-store.ts) so no route can forget it.
 *
 * SMART scopes: https://hl7.org/fhir/smart-app-launch/STU2.2/scopes-and-launch-context.html
 */
import type { Resource } from 'fhir/r4';
import type { Condition } from '../storage/search-index.js';

/** FHIR interactions as SMART v2 scope letters see them (c r u d s). */
export type Interaction = 'create' | 'read' | 'update' | 'delete' | 'search';

/** Who is calling, for audit records and error messages. */
export interface Principal {
  /** `sub` of the token (user or client). */
  subject?: string;
  clientId?: string;
  /** fhirUser reference, e.g. `Practitioner/123`. */
  fhirUser?: string;
  /** Launch context patient id. */
  patient?: string;
  scopes?: string[];
}

export interface AccessPolicy {
  readonly principal: Principal;
  /** False only for the test-only switch that turns enforcement off, and for in-process tools. */
  readonly restricted: boolean;
  /**
   * Throws a 403 FhirError (insufficient_scope) when the interaction on `resourceType` is not
   * allowed at all. `resourceType` undefined = system level (every type). Called before any query.
   */
  assertAllowed(resourceType: string | undefined, interaction: Interaction): void;
  /**
   * A condition every resource of `resourceType` reached by `interaction` must satisfy (patient
   * compartment, granular scope filters), ANDed into searches; undefined when unrestricted.
   */
  searchFilter(resourceType: string, interaction: Interaction): Condition | undefined;
  /** Whether one resource (read, or about to be written) is within the policy. */
  allowsResource(resource: Resource, interaction: Interaction): Promise<boolean> | boolean;
  /** Resource types the policy allows `interaction` on (undefined = all). */
  allowedTypes(interaction: Interaction): string[] | undefined;
}

/** The policy of in-process tools (seeding, loader) and of the test-only unenforced mode. */
export const unrestrictedPolicy: AccessPolicy = {
  principal: { subject: 'system' },
  restricted: false,
  assertAllowed() {},
  searchFilter() {
    return undefined;
  },
  allowsResource() {
    return true;
  },
  allowedTypes() {
    return undefined;
  },
};
