/**
 * What a write of a Subscription through the FHIR API must satisfy, beyond the resource's own
 * validity (fhir/context.ts `WriteRule`):
 * - it reads as a supported subscription (spec.ts: 400 when malformed, 422 when unsupported);
 * - `status` is `requested` or `off`, as R4 lets a client set it; `active` and `error` are the
 *   server's to set, so a client may only send them back unchanged;
 * - `criteria` is a search the writer's own token could run and whose results it could read:
 *   the type must be searchable and readable, and every chained and `_has` hop searchable
 *   (access/hops.ts), with the same 403 a search request would get;
 * - the writer becomes the owner: its principal is recorded (owners.ts) and the new version
 *   names that record, replacing whatever the client sent in the owner extension.
 *
 * https://hl7.org/fhir/R4/subscription.html
 */
import type { Subscription } from 'fhir/r4';
import { hasHops, limitHops } from '../access/hops.js';
import type { AccessPolicy } from '../access/policy.js';
import type { FhirContext, WriteRule } from '../fhir/context.js';
import { unprocessable } from '../r4/errors.js';
import type { OwnerRecords } from './owners.js';
import { OWNER_EXTENSION, readSubscription, type ReadOptions, type SubscriptionSpec } from './spec.js';

export function subscriptionWriteRule(owners: OwnerRecords, options: ReadOptions): WriteRule {
  return async (context, resource) => {
    const subscription = resource as Subscription;
    const spec = readSubscription(subscription, options);
    await checkStatus(context, spec);
    await checkCriteria(context.policy, spec);
    const owner = await owners.record(spec.id, context.policy.principal);
    return {
      ...subscription,
      extension: [...(subscription.extension ?? []).filter((e) => e.url !== OWNER_EXTENSION), { url: OWNER_EXTENSION, valueString: owner }],
    };
  };
}

async function checkStatus(context: FhirContext, spec: SubscriptionSpec): Promise<void> {
  if (spec.status === 'requested' || spec.status === 'off') return;
  const current = await context.store.read('Subscription', spec.id);
  const status = current && !current.deleted ? (current.resource as Subscription).status : undefined;
  if (status !== spec.status) {
    throw unprocessable(
      `Subscription.status may be set to requested or off; the server sets ${spec.status} (R4 Subscription.status), so it can only be sent back unchanged`,
    );
  }
}

async function checkCriteria(policy: AccessPolicy, spec: SubscriptionSpec): Promise<void> {
  const { resourceType, where } = spec.criteria;
  policy.assertAllowed(resourceType, 'search');
  policy.assertAllowed(resourceType, 'read');
  if (hasHops(where)) await limitHops(where, policy);
}
