/**
 * The unrestricted policy: every interaction on every resource. For code that is named for it
 * and serves no request: start-up seeding, the loader, the integrity check, operator commands,
 * and the test-only switch that turns enforcement off (BEDSIDE_UNSAFE_DISABLE_AUTH).
 * test/unit/access/construction.test.ts fails when any other module imports this file.
 */
import { mint } from './minted.js';
import type { AccessPolicy } from './policy.js';

export const unrestrictedPolicy: AccessPolicy = mint({
  principal: { subject: 'system' },
  restricted: false,
  assertAllowed: () => {},
  permits: () => true,
  searchFilter: () => Promise.resolve(undefined),
  isFixed: () => true,
  allowsResource: () => Promise.resolve(true),
  decideByType: () => Promise.resolve('all'),
  allowedTypes: () => undefined,
});
