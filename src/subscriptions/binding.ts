/**
 * `$get-ws-binding-token` (Subscriptions Backport IG; R5 core): a websocket client proves it may
 * receive a subscription's notifications by sending a short-lived token it got with its access
 * token, since a websocket carries no Authorization header. Only the subscription's owner gets
 * one: a token of the same client, the same user and the same patient context as the one that
 * created (or last changed) it (owners.ts `sameActor`). A binding token binds only while the
 * subscription still has that owner: when someone else changes it, the sockets bound to it are
 * closed and the tokens issued before no longer bind (websocket.ts). Tokens are kept in the
 * DocumentStore (collection `subscriptions.ws-tokens`), so a client may bind on any node; one may
 * be used again (to reconnect) until it expires.
 *
 * https://hl7.org/fhir/uv/subscriptions-backport/STU1.1/OperationDefinition-backport-subscription-get-ws-binding-token.html
 */
import type { Parameters, Subscription } from 'fhir/r4';
import { randomBytes } from 'node:crypto';
import type { AccessPolicy, Principal } from '../access/policy.js';
import type { InteractionHandler } from '../fhir/api.js';
import { assertValidId } from '../fhir/validation.js';
import { forbidden, notFound, unprocessable } from '../r4/errors.js';
import type { DocumentCollection, DocumentStore } from '../storage/document-store.js';
import { sameActor, type OwnerRecords } from './owners.js';
import { OWNER_EXTENSION } from './spec.js';

/** How long a binding token may be used to bind (and bind again). */
export const BINDING_TOKEN_TTL_MS = 5 * 60_000;

/** Who a binding token was issued to: the owner then (absent when access control is off). */
export type TokenHolder = Pick<Principal, 'clientId' | 'subject' | 'patient'>;

interface StoredToken {
  subscription: string;
  holder?: TokenHolder;
}

export class BindingTokens {
  readonly #tokens: DocumentCollection<StoredToken>;

  constructor(documents: DocumentStore) {
    this.#tokens = documents.collection<StoredToken>('subscriptions.ws-tokens');
  }

  async issue(subscription: string, holder: TokenHolder | undefined): Promise<{ token: string; expiresAt: number }> {
    const token = randomBytes(32).toString('base64url');
    const expiresAt = Date.now() + BINDING_TOKEN_TTL_MS;
    await this.#tokens.put(token, { subscription, ...(holder ? { holder } : {}) }, { expiresAt });
    return { token, expiresAt };
  }

  /** The subscription `token` binds to and whom it was issued to, while it has not expired. */
  async lookup(token: string): Promise<StoredToken | undefined> {
    if (!/^[A-Za-z0-9_-]{43}$/.test(token)) return undefined;
    return this.#tokens.get(token);
  }
}

/** Whether a token issued to `holder` may bind to a subscription owned by `owner` now. */
export function holds(holder: TokenHolder | undefined, owner: Principal): boolean {
  return holder === undefined || sameActor(holder, owner);
}

/** Whether `policy`'s principal is `owner`: same client, user and patient context (anyone, with enforcement off). */
function isOwner(policy: AccessPolicy, owner: Principal): boolean {
  if (!policy.restricted) return true;
  const caller = policy.principal;
  return !!caller.clientId && !!caller.subject && sameActor(caller, owner);
}

/** `GET|POST Subscription/{id}/$get-ws-binding-token`. */
export function getWsBindingToken(deps: { tokens: BindingTokens; owners: OwnerRecords; websocketUrl: string }): InteractionHandler {
  return async (context, request) => {
    const id = request.params.id!;
    assertValidId(id);
    context.policy.assertAllowed('Subscription', 'read');
    const current = await context.store.read('Subscription', id);
    if (!current || current.deleted) throw notFound(`Subscription/${id} is not known`);
    const subscription = current.resource as Subscription;
    const record = subscription.extension?.find((e) => e.url === OWNER_EXTENSION)?.valueString;
    const owner = record ? await deps.owners.get(record, id) : undefined;
    if (!owner || !isOwner(context.policy, owner.principal)) {
      throw forbidden(`Only the client and user that created Subscription/${id}, with the same patient context, may bind to it`);
    }
    if (subscription.channel.type !== 'websocket') throw unprocessable(`Subscription/${id} notifies over ${subscription.channel.type}, not websocket`);
    if (subscription.status === 'off') throw unprocessable(`Subscription/${id} is off${subscription.error ? `: ${subscription.error}` : ''}`);
    const { clientId, subject, patient } = context.policy.principal;
    const holder = context.policy.restricted
      ? { ...(clientId ? { clientId } : {}), ...(subject ? { subject } : {}), ...(patient ? { patient } : {}) }
      : undefined;
    const { token, expiresAt } = await deps.tokens.issue(id, holder);
    const body: Parameters = {
      resourceType: 'Parameters',
      parameter: [
        { name: 'token', valueString: token },
        { name: 'expiration', valueDateTime: new Date(expiresAt).toISOString() },
        { name: 'subscription', valueString: id },
        { name: 'websocket-url', valueUrl: deps.websocketUrl },
      ],
    };
    return { status: 200, headers: { 'cache-control': 'no-store' }, body };
  };
}
