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
  /** Operator-configured claims of the token (CLAIM_MAPPINGS), for audit records. */
  claims?: Record<string, unknown>;
}

export interface AccessPolicy {
  readonly principal: Principal;
  /** False only for in-process tools and the test-only switch that turns enforcement off. */
  readonly restricted: boolean;
  /**
   * Throws a 403 FhirError (insufficient_scope) when the interaction on `resourceType` is not
   * allowed at all. `resourceType` undefined = system level (any type). Called before any query,
   * so a type the token cannot touch never reaches the store.
   */
  assertAllowed(resourceType: string | undefined, interaction: Interaction): void;
  /**
   * The condition every resource of `resourceType` reached by `interaction` must satisfy
   * (patient compartment, granular scope filters); undefined when there is no restriction.
   * Only meaningful after assertAllowed succeeded for the type.
   */
  searchFilter(resourceType: string, interaction: Interaction): Promise<Condition | undefined>;
  /** Whether one resource (read, or about to be written) is within the policy. */
  allowsResource(resource: Resource, interaction: Interaction): Promise<boolean>;
  /**
   * What can be decided from the type alone: every resource of it (`all`), none (`none`), or
   * it depends on the content (`inspect`). Lets reads skip parsing when no filter applies.
   */
  decideByType(resourceType: string, interaction: Interaction): Promise<'all' | 'none' | 'inspect'>;
  /** Resource types `interaction` is allowed on at all (undefined = every type). */
  allowedTypes(interaction: Interaction): string[] | undefined;
}

/** The policy of in-process tools (seeding, loader) and of the test-only unenforced mode. */
export const unrestrictedPolicy: AccessPolicy = {
  principal: { subject: 'system' },
  restricted: false,
  assertAllowed() {},
  searchFilter() {
    return Promise.resolve(undefined);
  },
  allowsResource() {
    return Promise.resolve(true);
  },
  decideByType() {
    return Promise.resolve('all');
  },
  allowedTypes() {
    return undefined;
  },
};
