/**
 * Which Bedside account an upstream sign-in is: the linked one; on a first sign-in, one found or
 * created by the provider's `firstLogin` rule; then its fhirUser resolved by the configured
 * mapping (the resource of a type whose identifier `system|value` is an upstream claim).
 *
 * Matching an existing account trusts the upstream claim named in `match`: choose a claim the
 * identity provider controls (a directory user name, a verified email), never one users edit.
 * Email matches require `email_verified: true` unless the operator said otherwise.
 */
import type { Logger } from '../../../log.js';
import type { AccountStore, StoredAccount } from '../account-store.js';
import type { PatientDirectory } from '../../../directory/patient-directory.js';
import type { FederatedIdentities } from './identities.js';
import type { FederationProvider } from '../../../config/federation.js';

export type UpstreamClaims = Record<string, unknown> & { sub: string };

export type LinkResult =
  | { ok: true; account: StoredAccount; how: 'linked' | 'matched' | 'provisioned' }
  | { ok: false; reason: 'not-linked' | 'username-taken' | 'locked' | 'no-username' | 'email-unverified'; description: string };

export interface LinkingDependencies {
  accounts: AccountStore;
  identities: FederatedIdentities;
  directory: PatientDirectory;
  logger: Logger;
}

const USERNAME = /^[a-z0-9][a-z0-9._@+-]{0,99}$/;

function claimString(claims: UpstreamClaims, name: string): string | undefined {
  const value = claims[name];
  return typeof value === 'string' && value.trim() ? value.trim() : undefined;
}

function nameFrom(claims: UpstreamClaims): StoredAccount['name'] | undefined {
  const given = claimString(claims, 'given_name');
  const family = claimString(claims, 'family_name');
  const text = claimString(claims, 'name');
  return given || family || text ? { ...(given ? { given } : {}), ...(family ? { family } : {}), ...(text ? { text } : {}) } : undefined;
}

async function matchingAccount(
  deps: LinkingDependencies,
  provider: FederationProvider,
  claims: UpstreamClaims,
): Promise<StoredAccount | 'email-unverified' | undefined> {
  const value = claimString(claims, provider.match.claim);
  if (!value) return undefined;
  if (provider.match.account === 'username') return deps.accounts.findByUsername(value);
  if (claims.email_verified !== true && !provider.acceptUnverifiedEmail) return 'email-unverified';
  const found = await deps.accounts.findByEmail(value);
  return found.length === 1 ? found[0] : undefined;
}

async function provision(
  deps: LinkingDependencies,
  provider: FederationProvider,
  claims: UpstreamClaims,
): Promise<StoredAccount | 'username-taken' | 'no-username'> {
  const username = claimString(claims, provider.usernameClaim)?.toLowerCase();
  if (!username || !USERNAME.test(username)) return 'no-username';
  const name = nameFrom(claims);
  const email = claimString(claims, 'email');
  const account: StoredAccount = {
    id: username,
    username,
    // No local password: the account signs in through its identity provider only.
    passwordHash: '',
    ...(name ? { name } : {}),
    ...(email ? { email } : {}),
    roles: [],
    createdAt: Date.now(),
  };
  return (await deps.accounts.insert(account)) ? account : 'username-taken';
}

/** The fhirUser the mapping finds for these claims: exactly one resource, or none. */
async function mappedFhirUser(deps: LinkingDependencies, provider: FederationProvider, claims: UpstreamClaims): Promise<string | undefined> {
  const mapping = provider.fhirUser;
  const value = mapping && claimString(claims, mapping.claim);
  if (!mapping || !value) return undefined;
  const found = await deps.directory.find(mapping.resourceType, { identifier: `${mapping.identifierSystem}|${value}` }, 2);
  if (found.length !== 1) {
    deps.logger.warn(
      { provider: provider.id, resourceType: mapping.resourceType, matches: found.length },
      'federated sign-in: fhirUser mapping did not find exactly one resource',
    );
    return undefined;
  }
  return `${mapping.resourceType}/${found[0]!.id}`;
}

/** Finds or creates the account of an upstream sign-in and refreshes what the provider says about it. */
export async function linkAccount(deps: LinkingDependencies, provider: FederationProvider, claims: UpstreamClaims): Promise<LinkResult> {
  const now = Date.now();
  const link = await deps.identities.find(provider.issuer, claims.sub);
  let account = link ? await deps.accounts.findById(link.accountId) : undefined;
  let how: 'linked' | 'matched' | 'provisioned' = 'linked';
  if (!account) {
    const matched = provider.firstLogin === 'provision' ? undefined : await matchingAccount(deps, provider, claims);
    if (matched === 'email-unverified') {
      return {
        ok: false,
        reason: 'email-unverified',
        description: `${provider.name} did not confirm that your email address is verified, so it cannot be matched to a Bedside account.`,
      };
    }
    if (matched) {
      account = matched;
      how = 'matched';
    } else if (provider.firstLogin === 'link') {
      return {
        ok: false,
        reason: 'not-linked',
        description: `Your ${provider.name} account is not linked to a Bedside account. Ask an operator to create or link one.`,
      };
    } else {
      const created = await provision(deps, provider, claims);
      if (created === 'username-taken')
        return {
          ok: false,
          reason: 'username-taken',
          description: `A Bedside account with your ${provider.name} user name already exists and is not linked to you. Ask an operator.`,
        };
      if (created === 'no-username')
        return { ok: false, reason: 'no-username', description: `${provider.name} did not send a usable user name (${provider.usernameClaim}).` };
      account = created;
      how = 'provisioned';
    }
    await deps.identities.save({
      provider: provider.id,
      issuer: provider.issuer,
      sub: claims.sub,
      accountId: account.id,
      linkedAt: now,
      how: how === 'provisioned' ? 'provisioned' : 'matched',
      lastLoginAt: now,
    });
  } else {
    await deps.identities.save({ ...link!, lastLoginAt: now });
  }
  if (account.locked) return { ok: false, reason: 'locked', description: 'This Bedside account is locked. Ask an operator.' };

  const kept = Object.fromEntries(provider.keepClaims.filter((c) => claims[c] !== undefined).map((c) => [c, claims[c]]));
  let updated: StoredAccount = { ...account, upstream: { provider: provider.id, claims: kept, at: now } };
  if (provider.fhirUser && (!account.fhirUser || account.fhirUserSource === 'federation')) {
    const fhirUser = await mappedFhirUser(deps, provider, claims);
    const { fhirUser: _old, fhirUserSource: _source, ...rest } = updated;
    updated = fhirUser ? { ...rest, fhirUser, fhirUserSource: 'federation' } : rest;
  }
  await deps.accounts.save(updated);
  return { ok: true, account: updated, how };
}
