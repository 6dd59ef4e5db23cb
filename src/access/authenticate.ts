/**
 * The bearer-token step in front of every non-public FHIR route: turns the request's
 * Authorization header into the request's AccessPolicy, or throws a 401/403 FhirError.
 */
import { unrestrictedPolicy, type AccessPolicy } from './policy.js';

export interface Authenticator {
  /** `authorization` is the raw header value (undefined when absent). */
  authenticate(authorization: string | undefined): Promise<AccessPolicy>;
}

/** For in-process tools and the test-only switch that turns enforcement off. */
export const noAuthentication: Authenticator = {
  authenticate: () => Promise.resolve(unrestrictedPolicy),
};
