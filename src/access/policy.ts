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

/** Who is calling: for audit records, error messages, and what an export job keeps of its owner. */
export interface Principal {
  /** `sub` of the token (the user, or the client for backend services). */
  subject?: string;
  clientId?: string;
  /** fhirUser reference, e.g. `Practitioner/123`. */
  fhirUser?: string;
  /** Launch context patient id. */
  patient?: string;
  /** The granted scope strings. */
  scopes?: string[];
  /** The grant the token came from (user tokens); its deletion revokes everything issued from it. */
  grantId?: string;
  /** The token's `jti` (tokens without a grant are revoked by it). */
  tokenId?: string;
  /** Operator-configured claims of the token (CLAIM_MAPPINGS), for audit records. */
  claims?: Record<string, unknown>;
}

export interface AccessPolicy {
  readonly principal: Principal;
  /** False only for the unrestricted policy of trusted tools (access/unrestricted.ts). */
  readonly restricted: boolean;
  /**
   * Throws a 403 FhirError (insufficient_scope) when the interaction on `resourceType` is not
   * allowed at all. `resourceType` undefined = system level (any type). Called before any query,
   * so a type the token cannot touch never reaches the store.
   */
  assertAllowed(resourceType: string | undefined, interaction: Interaction): void;
  /** assertAllowed as a yes/no answer. */
  permits(resourceType: string, interaction: Interaction): boolean;
  /**
   * The condition every resource of `resourceType` reached by `interaction` must satisfy
   * (patient compartment, granular scope filters); undefined when there is no restriction.
   * Only meaningful after assertAllowed succeeded for the type.
   */
  searchFilter(resourceType: string, interaction: Interaction): Promise<Condition | undefined>;
  /**
   * Whether searchFilter's answer for `resourceType` is fixed for the policy's lifetime. It is
   * not for the resources a patient's records reference (practitioners, organizations ...):
   * that set follows the data, so decisions about them must not be remembered.
   */
  isFixed(resourceType: string): boolean;
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
