/**
 * Policies the access layer made itself. A store is bound only to such a policy
 * (access/resource-access.ts), so code elsewhere cannot hand it a policy object of its own making.
 * Only the modules that compile policies import this (test/unit/access/construction.test.ts).
 */
import type { AccessPolicy } from './policy.js';

const minted = new WeakSet<AccessPolicy>();

/** Marks a policy as made by the access layer. */
export function mint<P extends AccessPolicy>(policy: P): P {
  minted.add(policy);
  return policy;
}

export function isMinted(policy: AccessPolicy): boolean {
  return minted.has(policy);
}
