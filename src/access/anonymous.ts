/**
 * The policy of requests without a principal: public routes (CapabilityStatement, SMART
 * discovery) that read no data. It allows nothing, so a public route that tried would be refused.
 */
import { FhirError } from '../r4/errors.js';
import { mint } from './minted.js';
import type { AccessPolicy } from './policy.js';

const FALSE = { op: 'false' } as const;

export const anonymousPolicy: AccessPolicy = mint({
  principal: {},
  restricted: true,
  assertAllowed: () => {
    throw new FhirError(401, 'login', 'This request needs an access token');
  },
  permits: () => false,
  searchFilter: () => Promise.resolve(FALSE),
  isFixed: () => true,
  allowsResource: () => Promise.resolve(false),
  decideByType: () => Promise.resolve('none'),
  allowedTypes: () => [],
});
