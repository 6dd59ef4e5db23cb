/**
 * Signing keys and cookie-signing secrets, kept in the DocumentStore so every Bedside node signs
 * and verifies with the same keys (never oidc-provider's development keys).
 *
 * Two signing keys are active at a time: RS256 for id_tokens (SMART requires RS256 support) and
 * ES256 for access tokens (fast to sign and verify). Rotation puts a new pair in front: the new
 * keys sign from the next provider reload on, the previous ones stay published in the JWKS
 * until every token they signed has expired, then they are dropped.
 *
 * https://hl7.org/fhir/smart-app-launch/STU2.2/app-launch.html#step-5-access-token
 */
import { randomBytes } from 'node:crypto';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK } from 'jose';
import { ACCESS_TOKEN_ALG } from '../../access/token-verification.js';
import type { DocumentStore } from '../../storage/document-store.js';

/** id_tokens are signed with this algorithm (SMART: RS256 SHALL be supported). */
export const ID_TOKEN_ALG = 'RS256';
const SIGNING_ALGS = [ID_TOKEN_ALG, ACCESS_TOKEN_ALG] as const;

export interface StoredSigningKey {
  kid: string;
  alg: (typeof SIGNING_ALGS)[number];
  /** Private JWK (with kid, alg, use). */
  jwk: JWK;
  createdAt: number;
  /** Set when a newer key replaced this one: epoch ms after which it may be dropped. */
  retireAfter?: number;
}

export interface KeySet {
  /** Bumped on every change; nodes reload their provider when it moves. */
  version: number;
  /** Newest first; the first key of each alg signs. */
  signing: StoredSigningKey[];
  /** Keygrip secrets for oidc-provider's cookies, newest first. */
  cookieSecrets: string[];
}

const COLLECTION = 'auth.keys';
const KEY_SET_ID = 'current';

async function newSigningKey(alg: StoredSigningKey['alg']): Promise<StoredSigningKey> {
  const { privateKey } = await generateKeyPair(alg, { extractable: true, ...(alg === 'RS256' ? { modulusLength: 2048 } : {}) });
  const jwk = await exportJWK(privateKey);
  const kid = await calculateJwkThumbprint(jwk);
  return { kid, alg, jwk: { ...jwk, kid, alg, use: 'sig' }, createdAt: Date.now() };
}

async function newSigningPair(): Promise<StoredSigningKey[]> {
  return Promise.all(SIGNING_ALGS.map((alg) => newSigningKey(alg)));
}

/** Reads the key set; creates it on first start (the first node to insert wins, the others read it). */
export async function loadOrCreateKeySet(documents: DocumentStore): Promise<KeySet> {
  const keys = documents.collection<KeySet>(COLLECTION);
  const existing = await keys.get(KEY_SET_ID);
  if (existing) return existing;
  const created: KeySet = { version: 1, signing: await newSigningPair(), cookieSecrets: [randomBytes(32).toString('base64url')] };
  if (await keys.insert(KEY_SET_ID, created)) return created;
  return (await keys.get(KEY_SET_ID))!;
}

/** The key set's version (one primary-key read; polled by every node). */
export async function keySetVersion(documents: DocumentStore): Promise<number | undefined> {
  return (await documents.collection<KeySet>(COLLECTION).get(KEY_SET_ID))?.version;
}

export interface RotateOptions {
  /** How long tokens signed by the old keys may still be presented (the longest JWT lifetime), in ms. */
  keepOldKeysForMs: number;
  now?: number;
}

/**
 * Rotates the signing keys and the cookie secret: a new RS256 and ES256 pair signs from now on,
 * the previous pair verifies until `keepOldKeysForMs` has passed; keys retired longer ago are
 * dropped. Safe to call from any node at any time (compare-and-set on the stored set).
 */
export async function rotateKeys(documents: DocumentStore, options: RotateOptions): Promise<KeySet> {
  const keys = documents.collection<KeySet>(COLLECTION);
  const fresh = await newSigningPair();
  for (;;) {
    await loadOrCreateKeySet(documents);
    const stored = (await keys.getStored(KEY_SET_ID))!;
    const now = options.now ?? Date.now();
    const previous = stored.value.signing
      .filter((k) => k.retireAfter === undefined || k.retireAfter > now)
      .map((k) => ({ ...k, retireAfter: k.retireAfter ?? now + options.keepOldKeysForMs }));
    const next: KeySet = {
      version: stored.value.version + 1,
      signing: [...fresh, ...previous],
      cookieSecrets: [randomBytes(32).toString('base64url'), ...stored.value.cookieSecrets].slice(0, 3),
    };
    if (await keys.replaceIf(KEY_SET_ID, stored.updatedAt, next)) return next;
  }
}

/** The private JWKS oidc-provider signs with: for each alg, the newest key first. */
export function providerJwks(keySet: KeySet, now = Date.now()): { keys: JWK[] } {
  return { keys: keySet.signing.filter((k) => k.retireAfter === undefined || k.retireAfter > now).map((k) => k.jwk) };
}

/** Public parts only, for verification (what `jwks_uri` publishes). */
export function publicJwks(keySet: KeySet, now = Date.now()): { keys: JWK[] } {
  return {
    keys: providerJwks(keySet, now).keys.map((jwk) => {
      const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, oth: _oth, ...pub } = jwk;
      return pub;
    }),
  };
}

export async function readKeySet(documents: DocumentStore): Promise<KeySet | undefined> {
  return documents.collection<KeySet>(COLLECTION).get(KEY_SET_ID);
}
