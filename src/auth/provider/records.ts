/**
 * What oidc-provider keeps in the store (grants, the refresh tokens issued from them, registered
 * clients, sign-in sessions), read and changed for Bedside's pages, operators' commands, the
 * revocation endpoint and the FHIR API's revocation rule. Besides the provider's own adapter
 * (adapter.ts), this is the one module that reads the provider's persisted documents. Also the
 * list of revoked access-token ids the revocation endpoint keeps for tokens without a grant.
 *
 * Revoking a grant deletes it and everything issued from it (codes, refresh tokens, the launch
 * context); access tokens are JWTs that are not stored, so they die by the grant check
 * (access/token-verification.ts `revocationRules`): on this node at once (a revocation notice),
 * on the others within REVOCATION_CHECK_MS.
 */
import type { AdapterPayload } from 'oidc-provider';
import type { RevocationNotices } from '../../security/revocation-notices.js';
import type { DocumentStore, StoredDocument } from '../../storage/document-store.js';
import { GRANT_CONTEXT_COLLECTION } from '../launch/contexts.js';
import { oidcCollectionName } from './adapter.js';

/** Models whose documents carry a grantId and are deleted with their grant. */
const GRANT_MEMBERS = ['AccessToken', 'AuthorizationCode', 'RefreshToken', 'DeviceCode', 'BackchannelAuthenticationRequest'] as const;

/** The provider's models an operator sees counted on the grants page, and what each holds. */
const COUNTED_MODELS: Array<[string, string]> = [
  ['Grant', 'what each user allowed each app (scopes), one per authorization'],
  ['RefreshToken', 'refresh tokens (opaque), tied to a grant'],
  ['AuthorizationCode', 'authorization codes (single-use, 60 seconds)'],
  ['Session', 'browser sign-in sessions'],
  ['Interaction', 'sign-in and consent pages in progress'],
  ['Client', 'registered apps'],
  ['ReplayDetection', 'client assertion ids already used (replay protection)'],
];

/** A client's registration metadata as stored (RFC 7591 names, the registered scope under REGISTERED_SCOPE). */
export type ClientMetadata = Record<string, unknown>;

export interface GrantSummary {
  grantId: string;
  accountId: string;
  clientId: string;
  /** Scopes granted for the FHIR API (SMART scopes, with the OpenID ones). */
  scope: string;
  issuedAt: number;
  expiresAt?: number;
  refreshTokens: Array<{ id: string; issuedAt: number; expiresAt?: number; scope?: string; rotations?: number }>;
}

function summarize(grant: StoredDocument<AdapterPayload>, refreshTokens: Array<StoredDocument<AdapterPayload>>): GrantSummary {
  const value = grant.value as AdapterPayload & { resources?: Record<string, string>; openid?: { scope?: string } };
  const scopes = new Set<string>([...(value.openid?.scope?.split(' ') ?? []), ...Object.values(value.resources ?? {}).flatMap((s) => s.split(' '))]);
  return {
    grantId: grant.id,
    accountId: String(value.accountId ?? ''),
    clientId: String(value.clientId ?? ''),
    scope: [...scopes].filter(Boolean).join(' '),
    issuedAt: (value.iat ?? 0) * 1000,
    ...(grant.expiresAt ? { expiresAt: grant.expiresAt } : {}),
    refreshTokens: refreshTokens.map((rt) => ({
      id: `${rt.id.slice(0, 6)}…`,
      issuedAt: (rt.value.iat ?? 0) * 1000,
      ...(rt.expiresAt ? { expiresAt: rt.expiresAt } : {}),
      ...(rt.value.scope ? { scope: rt.value.scope } : {}),
      ...(typeof rt.value.rotations === 'number' ? { rotations: rt.value.rotations } : {}),
    })),
  };
}

/** The two questions the revocation rule asks, each one primary-key read. */
export function providerLookups(documents: DocumentStore): { hasGrant(grantId: string): Promise<boolean>; hasClient(clientId: string): Promise<boolean> } {
  const grants = documents.collection(oidcCollectionName('Grant'));
  const clients = documents.collection(oidcCollectionName('Client'));
  return {
    hasGrant: async (grantId) => (await grants.get(grantId)) !== undefined,
    hasClient: async (clientId) => (await clients.get(clientId)) !== undefined,
  };
}

export class ProviderRecords {
  readonly #grants;
  readonly #refreshTokens;
  readonly #clients;
  readonly #sessions;
  readonly #lookups;

  constructor(
    private readonly documents: DocumentStore,
    private readonly notices: RevocationNotices,
  ) {
    this.#grants = documents.collection<AdapterPayload>(oidcCollectionName('Grant'));
    this.#refreshTokens = documents.collection<AdapterPayload>(oidcCollectionName('RefreshToken'));
    this.#clients = documents.collection<ClientMetadata>(oidcCollectionName('Client'));
    this.#sessions = documents.collection<AdapterPayload>(oidcCollectionName('Session'));
    this.#lookups = providerLookups(documents);
  }

  // ---- grants ------------------------------------------------------------------------------

  /** Live grants, newest first; for one account when given. */
  async listGrants(filter: { accountId?: string; limit?: number } = {}): Promise<GrantSummary[]> {
    const docs = await this.#grants.list({ limit: filter.limit ?? 500, ...(filter.accountId ? { key: { name: 'accountId', value: filter.accountId } } : {}) });
    return Promise.all(
      docs.map(async (g) =>
        summarize(
          g,
          (await this.#refreshTokens.findByKey('grantId', g.id)).filter((rt) => !rt.value.consumed),
        ),
      ),
    );
  }

  /** Whether the grant still exists (not revoked, not expired). */
  async hasGrant(grantId: string): Promise<boolean> {
    return this.#lookups.hasGrant(grantId);
  }

  /** Deletes the grant and everything issued from it, and tells this node's caches. */
  async revokeGrant(grantId: string): Promise<void> {
    await Promise.all([
      ...GRANT_MEMBERS.map((model) => this.documents.collection(oidcCollectionName(model)).deleteByKey('grantId', grantId)),
      this.documents.collection(GRANT_CONTEXT_COLLECTION).delete(grantId),
    ]);
    await this.#grants.delete(grantId);
    this.notices.announce({ grantId });
  }

  /** Revokes every grant an account gave one client ("disconnect this app"). */
  async revokeApp(accountId: string, clientId: string): Promise<number> {
    const mine = (await this.listGrants({ accountId })).filter((g) => g.clientId === clientId);
    for (const g of mine) await this.revokeGrant(g.grantId);
    return mine.length;
  }

  /** Revokes every grant of an account, or of a client; returns how many. */
  async revokeAllOf(owner: { accountId: string } | { clientId: string }): Promise<number> {
    const grants =
      'accountId' in owner
        ? await this.listGrants({ accountId: owner.accountId, limit: 10_000 })
        : (await this.listGrants({ limit: 10_000 })).filter((g) => g.clientId === owner.clientId);
    for (const g of grants) await this.revokeGrant(g.grantId);
    return grants.length;
  }

  // ---- clients and sessions ----------------------------------------------------------------

  async listClients(limit: number): Promise<ClientMetadata[]> {
    return (await this.#clients.list({ limit })).map((d) => d.value);
  }

  async client(clientId: string): Promise<ClientMetadata | undefined> {
    return this.#clients.get(clientId);
  }

  /** Whether the client is registered (not deleted, not disabled). */
  async hasClient(clientId: string): Promise<boolean> {
    return this.#lookups.hasClient(clientId);
  }

  /** Writes a client's metadata where the provider's adapter finds it. */
  async putClient(metadata: ClientMetadata): Promise<void> {
    if (typeof metadata.client_id !== 'string') throw new Error('a client needs a client_id');
    await this.#clients.put(metadata.client_id, metadata);
  }

  async deleteClient(clientId: string): Promise<void> {
    await this.#clients.delete(clientId);
  }

  /** Ends every sign-in session of an account. */
  async endSessions(accountId: string): Promise<void> {
    await this.#sessions.deleteByKey('accountId', accountId);
  }

  /** The live documents of each of the provider's models an operator is shown, with what each holds. */
  async collectionCounts(): Promise<Array<{ collection: string; holds: string; count: number }>> {
    return Promise.all(
      COUNTED_MODELS.map(async ([model, holds]) => ({
        collection: oidcCollectionName(model),
        holds,
        count: await this.documents.collection(oidcCollectionName(model)).count(),
      })),
    );
  }
}

/** The collection of revoked access-token ids (for tokens without a grant), kept until they expire. */
export const REVOKED_JTI_COLLECTION = 'auth.revoked-jti';

/** Access tokens without a grant (client_credentials, JWT bearer), revoked by their id. */
export class RevokedTokens {
  readonly #collection;

  constructor(documents: DocumentStore) {
    this.#collection = documents.collection<{ clientId: string }>(REVOKED_JTI_COLLECTION);
  }

  /** Lists the token's id as revoked until a minute after it expires. */
  async revoke(claims: { jti: string; client_id: string; exp: number }): Promise<void> {
    await this.#collection.put(claims.jti, { clientId: claims.client_id }, { expiresAt: claims.exp * 1000 + 60_000 });
  }

  async isRevoked(tokenId: string): Promise<boolean> {
    return (await this.#collection.get(tokenId)) !== undefined;
  }
}
