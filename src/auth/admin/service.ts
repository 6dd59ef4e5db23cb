/**
 * What operators may change, in one place for the admin page and the admin command: users
 * (create, reset password, lock, link to a fhirUser, grant patients to select), clients (list, edit, rotate the secret,
 * disable) and resource servers. Every change is written to the audit collection (the operators'
 * audit page shows it) before the call returns; secrets and passwords never are.
 */
import { randomBytes } from 'node:crypto';
import { writeAuditRecord } from '../../access/audit-log.js';
import { USER_REACH, type PatientGrant } from '../../access/rules.js';
import { isLoopbackHost } from '../../config.js';
import type { RevocationNotices } from '../../security/revocation-notices.js';
import type { DocumentStore } from '../../storage/document-store.js';
import { hashPassword, type AccountStore, type Role, type StoredAccount } from '../accounts/account-store.js';
import { clientMetadataPolicy } from '../policy/clients.js';
import type { FederatedIdentities, FederatedIdentity } from '../accounts/federation/identities.js';
import type { ClientMetadata, ProviderRecords } from '../provider/records.js';
import { FIRST_PARTY_CLIENTS } from '../provider/hooks/interaction-policy.js';
import { FIRST_PARTY_METADATA } from '../provider/hooks/first-party.js';
import type { ResourceServer, ResourceServerRegistry } from '../policy/resource-servers/registry.js';
import { validateResourceServer } from '../../config/resource-servers.js';
import { REGISTERED_SCOPE } from '../policy/scopes.js';
import type { ParseOptions } from '../../smart/scopes.js';

export const DISABLED_CLIENT_COLLECTION = 'auth.disabled-clients';
export const MIN_PASSWORD_LENGTH = 10;

export class AdminError extends Error {
  constructor(
    readonly code: 'not-found' | 'invalid' | 'conflict' | 'forbidden',
    message: string,
  ) {
    super(message);
    this.name = 'AdminError';
  }
}

/** Who made a change, for the audit record. */
export interface Actor {
  /** The operator's account id, or the OS user for the command. */
  id: string;
  via: 'page' | 'command';
}

export interface UserSummary {
  id: string;
  username: string;
  name?: string;
  email?: string;
  fhirUser?: string;
  roles: Role[];
  locked: boolean;
  /** Signs in only through an identity provider (no local password). */
  federatedOnly: boolean;
  identities: Array<Pick<FederatedIdentity, 'provider' | 'sub' | 'how' | 'lastLoginAt'>>;
  /**
   * Which patients the user may select as patient context: decided by the fhirUser (the user
   * policy), or granted by an operator (`all`, a list, or none).
   */
  patients: { by: 'fhirUser' } | { by: 'operator'; grant?: PatientGrant };
}

export interface ClientSummary {
  clientId: string;
  name?: string;
  authMethod: string;
  grantTypes: string[];
  redirectUris: string[];
  postLogoutRedirectUris: string[];
  scope?: string;
  firstParty: boolean;
  disabled: boolean;
  /** Bedside's own client (not editable here). */
  managedBy?: 'bedside';
}

export interface ClientChanges {
  name?: string;
  redirectUris?: string[];
  postLogoutRedirectUris?: string[];
  scope?: string;
  firstParty?: boolean;
}

export interface AdminDependencies {
  documents: DocumentStore;
  accounts: AccountStore;
  /** The provider's grants, clients and sessions. */
  records: ProviderRecords;
  /** Locking an account and disabling a client are revocations too (for tokens without a grant). */
  revocations: RevocationNotices;
  identities: FederatedIdentities;
  resourceServers: ResourceServerRegistry;
  /** Whether `Type/id` exists in the FHIR store. */
  fhirUserExists(reference: string): Promise<boolean>;
  parse: ParseOptions;
  fhirBaseUrl: string;
  issuer: string;
  /** The provider's own metadata validation, when a provider runs in this process (the page). */
  validateClient?: (metadata: Record<string, unknown>) => Promise<void>;
}

const USERNAME = /^[a-z0-9][a-z0-9._@+-]{0,99}$/;
const REFERENCE = /^(Practitioner|PractitionerRole|Patient|RelatedPerson|Person)\/[A-Za-z0-9\-.]{1,64}$/;
const SECRET_METHODS = new Set(['client_secret_basic', 'client_secret_post', 'client_secret_jwt']);

function summarizeUser(account: StoredAccount, identities: FederatedIdentity[]): UserSummary {
  const name = account.name?.text ?? ([account.name?.given, account.name?.family].filter(Boolean).join(' ') || undefined);
  return {
    id: account.id,
    username: account.username,
    ...(name ? { name } : {}),
    ...(account.email ? { email: account.email } : {}),
    ...(account.fhirUser ? { fhirUser: account.fhirUser } : {}),
    roles: account.roles,
    locked: account.locked === true,
    federatedOnly: account.passwordHash === '',
    identities: identities.map((i) => ({ provider: i.provider, sub: i.sub, how: i.how, lastLoginAt: i.lastLoginAt })),
    patients: patientsByFhirUser(account) ? { by: 'fhirUser' } : { by: 'operator', ...(account.patientAccess ? { grant: account.patientAccess } : {}) },
  };
}

/** Whether the account's fhirUser decides its patients (access/rules.ts USER_REACH, under any setting). */
function patientsByFhirUser(account: StoredAccount): boolean {
  const type = account.fhirUser?.split('/')[0];
  return type !== undefined && Object.values(USER_REACH).some((rules) => rules[type] !== undefined);
}

/** At most this many patients granted one by one (more: grant all). */
const MAX_GRANTED_PATIENTS = 1000;
const PATIENT_ID = /^[A-Za-z0-9\-.]{1,64}$/;

/**
 * An operator's patient grant as typed on the page or the command line: `all`, `none` (or
 * nothing), or Patient ids separated by spaces or commas.
 */
export function parsePatientGrant(text: string): PatientGrant | null {
  const words = text.split(/[\s,]+/).filter(Boolean);
  if (words.length === 0 || (words.length === 1 && words[0]!.toLowerCase() === 'none')) return null;
  if (words.length === 1 && words[0]!.toLowerCase() === 'all') return 'all';
  return [...new Set(words.map((w) => w.replace(/^Patient\//, '')))];
}

function describeGrant(grant: PatientGrant | null | undefined): string {
  if (!grant) return 'none';
  return grant === 'all' ? 'all patients' : `Patient ${grant.join(', ')}`;
}

/** Whether `after` lets the account select everything `before` did. */
function keepsEverything(before: PatientGrant | undefined, after: PatientGrant | null): boolean {
  if (!before) return true;
  if (after === 'all') return true;
  if (!after || before === 'all') return false;
  return before.every((id) => after.includes(id));
}

function stringList(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

export class AdminService {
  readonly #disabled;

  constructor(private readonly deps: AdminDependencies) {
    this.#disabled = deps.documents.collection<ClientMetadata>(DISABLED_CLIENT_COLLECTION);
  }

  async #audit(actor: Actor, action: string, target: string, reason?: string): Promise<void> {
    await writeAuditRecord(this.deps.documents, {
      outcome: 'admin',
      status: 200,
      method: actor.via === 'page' ? 'POST' : 'CLI',
      path: `/admin/${action.split('.')[0]}`,
      action,
      target,
      subject: actor.id,
      ...(reason ? { reason } : {}),
      requestId: randomBytes(6).toString('hex'),
    });
  }

  // ---- users -------------------------------------------------------------------------------

  async listUsers(): Promise<UserSummary[]> {
    const accounts = (await this.deps.accounts.list()).sort((a, b) => a.username.localeCompare(b.username));
    return Promise.all(accounts.map(async (a) => summarizeUser(a, await this.deps.identities.forAccount(a.id))));
  }

  async #user(username: string): Promise<StoredAccount> {
    const account = await this.deps.accounts.findByUsername(username);
    if (!account) throw new AdminError('not-found', `no user "${username}"`);
    return account;
  }

  async getUser(username: string): Promise<UserSummary> {
    const account = await this.#user(username);
    return summarizeUser(account, await this.deps.identities.forAccount(account.id));
  }

  #checkPassword(password: string): void {
    if (password.length < MIN_PASSWORD_LENGTH) throw new AdminError('invalid', `a password needs at least ${MIN_PASSWORD_LENGTH} characters`);
    if (password.length > 1000) throw new AdminError('invalid', 'the password is too long');
  }

  async #checkFhirUser(reference: string): Promise<void> {
    if (!REFERENCE.test(reference))
      throw new AdminError(
        'invalid',
        'fhirUser must be a reference such as Practitioner/123 (Practitioner, PractitionerRole, Patient, RelatedPerson or Person)',
      );
    if (!(await this.deps.fhirUserExists(reference))) throw new AdminError('invalid', `${reference} does not exist in the FHIR store`);
  }

  async createUser(
    actor: Actor,
    input: { username: string; password?: string; name?: string; email?: string; fhirUser?: string; operator?: boolean },
  ): Promise<UserSummary> {
    const username = input.username.trim().toLowerCase();
    if (!USERNAME.test(username)) throw new AdminError('invalid', 'a username is lowercase letters, digits and . _ @ + - (at most 100)');
    if (input.password !== undefined) this.#checkPassword(input.password);
    if (input.fhirUser) await this.#checkFhirUser(input.fhirUser);
    if (input.email !== undefined && !/^[^\s@]+@[^\s@]+$/.test(input.email)) throw new AdminError('invalid', 'the email address is not valid');
    const account: StoredAccount = {
      id: username,
      username,
      // Without a password the account signs in only through an identity provider (linked by sign-in).
      passwordHash: input.password ? await hashPassword(input.password) : '',
      ...(input.fhirUser ? { fhirUser: input.fhirUser, fhirUserSource: 'operator' as const } : {}),
      ...(input.name ? { name: { text: input.name.slice(0, 200) } } : {}),
      ...(input.email ? { email: input.email } : {}),
      roles: input.operator ? ['operator'] : [],
      createdAt: Date.now(),
    };
    if (!(await this.deps.accounts.insert(account))) throw new AdminError('conflict', `a user "${username}" already exists`);
    await this.#audit(
      actor,
      'user.create',
      `user/${username}`,
      [input.operator ? 'operator' : undefined, input.fhirUser ? `fhirUser ${input.fhirUser}` : undefined, input.password ? undefined : 'no password']
        .filter(Boolean)
        .join(', ') || undefined,
    );
    return summarizeUser(account, []);
  }

  async resetPassword(actor: Actor, username: string, password: string): Promise<void> {
    const account = await this.#user(username);
    this.#checkPassword(password);
    await this.deps.accounts.setPassword(account, password);
    await this.#audit(actor, 'user.reset-password', `user/${account.username}`);
  }

  /** Locks the user out: no sign-in, and every session and grant of theirs ends now. */
  async lockUser(actor: Actor, username: string): Promise<{ grantsRevoked: number }> {
    const account = await this.#user(username);
    if (account.id === actor.id) throw new AdminError('forbidden', 'operators cannot lock themselves out');
    await this.deps.accounts.save({ ...account, locked: true });
    this.deps.revocations.announce({ subject: account.id });
    await this.deps.records.endSessions(account.id);
    const grantsRevoked = await this.deps.records.revokeAllOf({ accountId: account.id });
    await this.#audit(actor, 'user.lock', `user/${account.username}`, `${grantsRevoked} grant(s) revoked, sessions ended`);
    return { grantsRevoked };
  }

  async unlockUser(actor: Actor, username: string): Promise<void> {
    const account = await this.#user(username);
    const { locked: _locked, ...rest } = account;
    await this.deps.accounts.save(rest);
    await this.deps.documents.collection('auth.login-failures').delete(account.username);
    await this.#audit(actor, 'user.unlock', `user/${account.username}`);
  }

  /** Links the user to their FHIR resource (or removes the link with `null`). */
  async linkFhirUser(actor: Actor, username: string, fhirUser: string | null): Promise<void> {
    const account = await this.#user(username);
    if (fhirUser) await this.#checkFhirUser(fhirUser);
    const { fhirUser: _old, fhirUserSource: _source, ...rest } = account;
    await this.deps.accounts.save(fhirUser ? { ...rest, fhirUser, fhirUserSource: 'operator' } : rest);
    // Tokens acting as the previous fhirUser no longer stand (access/token-verification.ts revocationRules).
    if (fhirUser !== (account.fhirUser ?? null)) this.deps.revocations.announce({ subject: account.id });
    await this.#audit(
      actor,
      'user.link-fhir-user',
      `user/${account.username}`,
      fhirUser ? `fhirUser ${fhirUser} (was ${account.fhirUser ?? 'none'})` : `fhirUser removed (was ${account.fhirUser ?? 'none'})`,
    );
  }

  /**
   * Lets an account without a patient-deciding fhirUser (the operator, a federated account
   * without one) select patients as patient context: `all`, a list of Patient ids, or none
   * (`null`). Taking any patient away ends the user's grants at once (their tokens are refused
   * within the revocation window), as locking does.
   */
  async setPatientAccess(actor: Actor, username: string, grant: PatientGrant | null): Promise<{ grantsRevoked: number }> {
    const account = await this.#user(username);
    if (patientsByFhirUser(account)) {
      throw new AdminError(
        'invalid',
        `the patients of ${account.username} follow from its fhirUser (${account.fhirUser}); patient access is granted only to accounts without a Patient, Practitioner or PractitionerRole fhirUser`,
      );
    }
    if (Array.isArray(grant)) {
      if (grant.length > MAX_GRANTED_PATIENTS) throw new AdminError('invalid', `at most ${MAX_GRANTED_PATIENTS} patients one by one; grant all instead`);
      for (const id of grant) {
        if (!PATIENT_ID.test(id)) throw new AdminError('invalid', `"${id.slice(0, 80)}" is not a Patient id`);
        if (!(await this.deps.fhirUserExists(`Patient/${id}`))) throw new AdminError('invalid', `Patient/${id} does not exist in the FHIR store`);
      }
    }
    const { patientAccess: before, ...rest } = account;
    await this.deps.accounts.save(grant ? { ...rest, patientAccess: grant } : rest);
    let grantsRevoked = 0;
    if (!keepsEverything(before, grant)) grantsRevoked = await this.deps.records.revokeAllOf({ accountId: account.id });
    await this.#audit(
      actor,
      'user.patient-access',
      `user/${account.username}`,
      `${describeGrant(grant)} (was ${describeGrant(before)})${grantsRevoked ? `, ${grantsRevoked} grant(s) revoked` : ''}`,
    );
    return { grantsRevoked };
  }

  // ---- clients -----------------------------------------------------------------------------

  #summarizeClient(metadata: Record<string, unknown>, disabled: boolean): ClientSummary {
    const clientId = String(metadata.client_id);
    const scope = metadata[REGISTERED_SCOPE] ?? metadata.scope;
    const managedBy = FIRST_PARTY_CLIENTS.has(clientId) ? 'bedside' : undefined;
    return {
      clientId,
      ...(typeof metadata.client_name === 'string' ? { name: metadata.client_name } : {}),
      authMethod: String(metadata.token_endpoint_auth_method ?? 'client_secret_basic'),
      grantTypes: stringList(metadata.grant_types ?? ['authorization_code']),
      redirectUris: stringList(metadata.redirect_uris),
      postLogoutRedirectUris: stringList(metadata.post_logout_redirect_uris),
      ...(typeof scope === 'string' ? { scope } : {}),
      firstParty: metadata[FIRST_PARTY_METADATA] === true || FIRST_PARTY_CLIENTS.has(clientId),
      disabled,
      ...(managedBy ? { managedBy } : {}),
    };
  }

  async listClients(): Promise<ClientSummary[]> {
    const [active, disabled] = await Promise.all([this.deps.records.listClients(10_000), this.#disabled.list({ limit: 10_000 })]);
    return [...active.map((c) => this.#summarizeClient(c, false)), ...disabled.map((d) => this.#summarizeClient(d.value, true))].sort((a, b) =>
      a.clientId.localeCompare(b.clientId),
    );
  }

  async getClient(clientId: string): Promise<ClientSummary> {
    const active = await this.deps.records.client(clientId);
    if (active) return this.#summarizeClient(active, false);
    const disabled = await this.#disabled.get(clientId);
    if (disabled) return this.#summarizeClient(disabled, true);
    throw new AdminError('not-found', `no client "${clientId}"`);
  }

  async #activeClient(clientId: string): Promise<Record<string, unknown>> {
    if (FIRST_PARTY_CLIENTS.has(clientId)) throw new AdminError('forbidden', `${clientId} is Bedside's own client and is managed by Bedside`);
    const metadata = await this.deps.records.client(clientId);
    if (!metadata)
      throw new AdminError('not-found', (await this.#disabled.get(clientId)) ? `client "${clientId}" is disabled: enable it first` : `no client "${clientId}"`);
    return metadata;
  }

  async #validateClient(metadata: Record<string, unknown>): Promise<void> {
    const policy = clientMetadataPolicy(this.deps.parse, {
      isResourceServerScope: (s) => this.deps.resourceServers.definesScope(s),
      firstPartyProperty: FIRST_PARTY_METADATA,
    });
    try {
      for (const key of policy.properties) policy.validator(undefined, key, metadata[key], metadata);
    } catch (error) {
      throw new AdminError('invalid', (error as { error_description?: string }).error_description ?? (error as Error).message);
    }
    for (const uri of [...stringList(metadata.redirect_uris), ...stringList(metadata.post_logout_redirect_uris)]) {
      const url = URL.parse(uri);
      if (!url || url.hash || !['https:', 'http:'].includes(url.protocol) || (url.protocol === 'http:' && !isLoopbackHost(url.hostname))) {
        throw new AdminError('invalid', `redirect URI "${uri}" must be an absolute https URL without a fragment (http only on loopback)`);
      }
    }
    if (this.deps.validateClient) {
      try {
        await this.deps.validateClient(metadata);
      } catch (error) {
        throw new AdminError('invalid', (error as { error_description?: string }).error_description ?? (error as Error).message);
      }
    }
  }

  async editClient(actor: Actor, clientId: string, changes: ClientChanges): Promise<ClientSummary> {
    const current = await this.#activeClient(clientId);
    const next: Record<string, unknown> = { ...current };
    const changed: string[] = [];
    if (changes.name !== undefined) {
      next.client_name = changes.name.trim().slice(0, 200);
      changed.push('name');
    }
    if (changes.redirectUris !== undefined) {
      next.redirect_uris = changes.redirectUris;
      changed.push('redirect_uris');
    }
    if (changes.postLogoutRedirectUris !== undefined) {
      next.post_logout_redirect_uris = changes.postLogoutRedirectUris;
      changed.push('post_logout_redirect_uris');
    }
    if (changes.scope !== undefined) {
      delete next.scope;
      next[REGISTERED_SCOPE] = changes.scope.trim().split(/\s+/).filter(Boolean).join(' ');
      changed.push(`scope "${String(next[REGISTERED_SCOPE])}"`);
    }
    if (changes.firstParty !== undefined) {
      if (changes.firstParty) next[FIRST_PARTY_METADATA] = true;
      else delete next[FIRST_PARTY_METADATA];
      changed.push(`first-party ${changes.firstParty ? 'on' : 'off'}`);
    }
    if (changed.length === 0) throw new AdminError('invalid', 'nothing to change');
    await this.#validateClient(next);
    await this.deps.records.putClient(next);
    await this.#audit(actor, 'client.edit', `client/${clientId}`, changed.join(', '));
    return this.#summarizeClient(next, false);
  }

  /** A new client secret (shown once); the old one stops working at once. */
  async rotateSecret(actor: Actor, clientId: string): Promise<string> {
    const current = await this.#activeClient(clientId);
    if (!SECRET_METHODS.has(String(current.token_endpoint_auth_method ?? 'client_secret_basic'))) {
      throw new AdminError('invalid', `client "${clientId}" does not authenticate with a secret (${String(current.token_endpoint_auth_method)})`);
    }
    const secret = randomBytes(32).toString('base64url');
    await this.deps.records.putClient({ ...current, client_secret: secret, client_secret_expires_at: 0 });
    await this.#audit(actor, 'client.rotate-secret', `client/${clientId}`);
    return secret;
  }

  /** Disables a client: it can no longer authenticate, and every grant and token of it ends now. */
  async disableClient(actor: Actor, clientId: string): Promise<{ grantsRevoked: number }> {
    const current = await this.#activeClient(clientId);
    await this.#disabled.put(clientId, current);
    await this.deps.records.deleteClient(clientId);
    this.deps.revocations.announce({ clientId });
    const grantsRevoked = await this.deps.records.revokeAllOf({ clientId });
    await this.#audit(actor, 'client.disable', `client/${clientId}`, `${grantsRevoked} grant(s) revoked`);
    return { grantsRevoked };
  }

  async enableClient(actor: Actor, clientId: string): Promise<void> {
    const metadata = await this.#disabled.get(clientId);
    if (!metadata) throw new AdminError('not-found', `no disabled client "${clientId}"`);
    await this.deps.records.putClient(metadata);
    await this.#disabled.delete(clientId);
    await this.#audit(actor, 'client.enable', `client/${clientId}`);
  }

  // ---- resource servers --------------------------------------------------------------------

  listResourceServers(): ResourceServer[] {
    return this.deps.resourceServers.list().sort((a, b) => a.identifier.localeCompare(b.identifier));
  }

  async putResourceServer(actor: Actor, input: unknown): Promise<ResourceServer> {
    const result = validateResourceServer(input, { fhirBaseUrl: this.deps.fhirBaseUrl, issuer: this.deps.issuer, isLoopbackHost });
    if (!result.ok) throw new AdminError('invalid', result.problems.join('; '));
    if (this.deps.resourceServers.isConfigured(result.value.identifier))
      throw new AdminError('forbidden', `${result.value.identifier} is fixed by RESOURCE_SERVERS; change it there`);
    const existed = (await this.deps.resourceServers.get(result.value.identifier)) !== undefined;
    await this.deps.resourceServers.put(result.value);
    await this.#audit(
      actor,
      existed ? 'resource-server.edit' : 'resource-server.create',
      `resource-server/${result.value.identifier}`,
      `scopes ${Object.keys(result.value.scopes).join(' ')}`,
    );
    return { ...result.value, source: 'operator' };
  }

  async removeResourceServer(actor: Actor, identifier: string): Promise<void> {
    const normalized = URL.parse(identifier)?.href ?? identifier;
    if (this.deps.resourceServers.isConfigured(normalized)) throw new AdminError('forbidden', `${normalized} is fixed by RESOURCE_SERVERS; change it there`);
    if (!(await this.deps.resourceServers.remove(normalized))) throw new AdminError('not-found', `no resource server "${identifier}"`);
    await this.#audit(actor, 'resource-server.remove', `resource-server/${normalized}`);
  }
}
