/**
 * The bearer-token step in front of every non-public FHIR route: turns the request's
 * Authorization header into the request's AccessPolicy, or throws a 401/403 FhirError.
 */
import type { AccessPolicy } from './policy.js';
import { unrestrictedPolicy } from './unrestricted.js';

export interface Authenticator {
  /** `authorization` is the raw header value (undefined when absent). */
  authenticate(authorization: string | undefined): Promise<AccessPolicy>;
}

/** The test-only switch that turns enforcement off (BEDSIDE_UNSAFE_DISABLE_AUTH). */
export const noAuthentication: Authenticator = {
  authenticate: () => Promise.resolve(unrestrictedPolicy),
};
