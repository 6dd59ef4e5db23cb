/**
 * Grants as the store holds them, for the pages that list and revoke them (connected apps,
 * operators' grants page), the revocation endpoint and the access-token revocation check.
 * Revoking a grant deletes it and everything issued from it (codes, refresh tokens, the launch
 * context); access tokens are JWTs that are not stored, so they die by the grant check
 * (access/token-verification.ts `revocationRules`): on this node at once (a revocation notice), on the others
 * within REVOCATION_CHECK_MS.
 */
import type { AdapterPayload } from 'oidc-provider';
import type { DocumentStore, StoredDocument } from '../storage/document-store.js';
import type { RevocationNotices } from '../security/revocation-notices.js';
import { oidcCollectionName } from './adapter.js';
import { GRANT_CONTEXT_COLLECTION } from './launch-context.js';

/** Models whose documents carry a grantId and are deleted with their grant. */
const GRANT_MEMBERS = ['AccessToken', 'AuthorizationCode', 'RefreshToken', 'DeviceCode', 'BackchannelAuthenticationRequest'] as const;

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
      id: rt.id.slice(0, 6) + '…',
      issuedAt: (rt.value.iat ?? 0) * 1000,
      ...(rt.expiresAt ? { expiresAt: rt.expiresAt } : {}),
      ...(rt.value.scope ? { scope: rt.value.scope } : {}),
      ...(typeof rt.value.rotations === 'number' ? { rotations: rt.value.rotations } : {}),
    })),
  };
}

export class GrantRegistry {
  constructor(
    private readonly documents: DocumentStore,
    private readonly notices: RevocationNotices,
  ) {}

  /** Live grants, newest first; for one account when given. */
  async list(filter: { accountId?: string; limit?: number } = {}): Promise<GrantSummary[]> {
    const grants = this.documents.collection<AdapterPayload>(oidcCollectionName('Grant'));
    const refresh = this.documents.collection<AdapterPayload>(oidcCollectionName('RefreshToken'));
    const docs = await grants.list({ limit: filter.limit ?? 500, ...(filter.accountId ? { key: { name: 'accountId', value: filter.accountId } } : {}) });
    return Promise.all(docs.map(async (g) => summarize(g, (await refresh.findByKey('grantId', g.id)).filter((rt) => !rt.value.consumed))));
  }

  async get(grantId: string): Promise<GrantSummary | undefined> {
    const grant = await this.documents.collection<AdapterPayload>(oidcCollectionName('Grant')).getStored(grantId);
    return grant && summarize(grant, []);
  }

  /** Whether the grant still exists (not revoked, not expired). */
  async isLive(grantId: string): Promise<boolean> {
    return (await this.documents.collection(oidcCollectionName('Grant')).get(grantId)) !== undefined;
  }

  /** Deletes the grant and everything issued from it. */
  async revoke(grantId: string): Promise<void> {
    await Promise.all([
      ...GRANT_MEMBERS.map((model) => this.documents.collection(oidcCollectionName(model)).deleteByKey('grantId', grantId)),
      this.documents.collection(GRANT_CONTEXT_COLLECTION).delete(grantId),
    ]);
    await this.documents.collection(oidcCollectionName('Grant')).delete(grantId);
    this.notices.announce({ grantId });
  }

  /** Revokes every grant an account gave one client ("disconnect this app"). */
  async revokeApp(accountId: string, clientId: string): Promise<number> {
    const grants = await this.list({ accountId });
    const mine = grants.filter((g) => g.clientId === clientId);
    for (const g of mine) await this.revoke(g.grantId);
    return mine.length;
  }
}
