/**
 * User accounts: stored in the DocumentStore, passwords hashed with scrypt (memory-hard, in
 * node:crypto), each optionally linked to the FHIR resource that is the user (`fhirUser`: a
 * Practitioner, or a Patient who sees only their own record). Failed sign-ins are throttled per
 * username.
 *
 * https://hl7.org/fhir/smart-app-launch/STU2.2/scopes-and-launch-context.html#scopes-for-requesting-identity-data
 */
import type { SignedInUser } from '../../access/resource-access.js';
import type { PatientGrant } from '../../access/rules.js';
import { AsyncLock } from '../../storage/async-lock.js';
import { randomBytes, scrypt as scryptCallback, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import type { Account as OidcAccount, AccountClaims } from 'oidc-provider';
import { FailureCounter, type FailureRecord } from '../../security/rate-limit.js';
import type { DocumentStore } from '../../storage/document-store.js';

export type Role = 'operator';

/** Where accounts are kept (the access-token verifier reads it: a locked account's tokens are refused). */
export const ACCOUNT_COLLECTION = 'auth.accounts';

export interface StoredAccount {
  /** Stable account id: the OpenID `sub`. */
  id: string;
  username: string;
  passwordHash: string;
  /** Relative reference of the FHIR user, e.g. `Practitioner/practitioner-001`. */
  fhirUser?: string;
  name?: { given?: string; family?: string; text?: string };
  email?: string;
  roles: Role[];
  createdAt: number;
  /** Locked by an operator: no sign-in (password or federated), no token refresh. */
  locked?: boolean;
  /** Who set fhirUser: an identity provider's mapping may replace only what it set itself. */
  fhirUserSource?: 'federation' | 'operator';
  /** Claims the upstream identity provider sent at the last federated sign-in (those kept by configuration). */
  upstream?: { provider: string; claims: Record<string, unknown>; at: number };
  /**
   * Patients an operator let this account select as patient context (`bedside users patients`,
   * the users page), for an account whose fhirUser gives it no patients (access/rules.ts
   * USER_REACH): none, `all`, or these ids. Ignored while the fhirUser gives it some.
   */
  patientAccess?: PatientGrant;
}

/** What the sample data file (fhir-data/accounts.json) holds per user. */
export interface AccountSeed {
  username: string;
  password: string;
  id?: string;
  fhirUser?: string;
  name?: StoredAccount['name'];
  email?: string;
  roles?: Role[];
}

/** scrypt cost: N=2^15, r=8 (32 MiB per hash, ~50-100 ms), the OWASP 2023 baseline. */
const SCRYPT = { N: 2 ** 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 } as const;
const KEY_LENGTH = 32;

function scrypt(password: string, salt: Buffer, keylen: number, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => scryptCallback(password, salt, keylen, options, (err, key) => (err ? reject(err) : resolve(key))));
}

/** `scrypt$N$r$p$salt$hash` (base64url), so parameters can be raised later without breaking old hashes. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const hash = await scrypt(password.normalize('NFKC'), salt, KEY_LENGTH, SCRYPT);
  return ['scrypt', SCRYPT.N, SCRYPT.r, SCRYPT.p, salt.toString('base64url'), hash.toString('base64url')].join('$');
}

export async function verifyPassword(password: string, encoded: string): Promise<boolean> {
  const [kind, n, r, p, salt, hash] = encoded.split('$');
  if (kind !== 'scrypt' || !salt || !hash) return false;
  const expected = Buffer.from(hash, 'base64url');
  const actual = await scrypt(password.normalize('NFKC'), Buffer.from(salt, 'base64url'), expected.length, {
    N: Number(n),
    r: Number(r),
    p: Number(p),
    maxmem: SCRYPT.maxmem,
  });
  return timingSafeEqual(actual, expected);
}

/** Sign-in throttling: after this many failures within the window, the username is locked for the rest of it. */
export const THROTTLE = { maxFailures: 5, windowMs: 15 * 60 * 1000 } as const;

export type SignInResult =
  | { ok: true; account: StoredAccount }
  | { ok: false; reason: 'invalid' }
  | { ok: false; reason: 'locked' }
  | { ok: false; reason: 'throttled'; retryAfterSeconds: number };

/** A hash of a random password, verified for unknown usernames so timing does not reveal which exist. */
let dummyHash: Promise<string> | undefined;

export class AccountStore {
  readonly #accounts;
  readonly #failures;
  readonly #signInLocks = new Map<string, { queue: AsyncLock; users: number }>();

  constructor(
    documents: DocumentStore,
    private readonly fhirBaseUrl: string,
  ) {
    this.#accounts = documents.collection<StoredAccount>(ACCOUNT_COLLECTION);
    this.#failures = new FailureCounter(documents.collection<FailureRecord>('auth.login-failures'), THROTTLE);
  }

  async findById(id: string): Promise<StoredAccount | undefined> {
    return this.#accounts.get(id);
  }

  async findByUsername(username: string): Promise<StoredAccount | undefined> {
    return (await this.#accounts.findByKey('username', username.trim().toLowerCase()))[0]?.value;
  }

  async list(): Promise<StoredAccount[]> {
    return (await this.#accounts.list()).map((d) => d.value);
  }

  async findByEmail(email: string): Promise<StoredAccount[]> {
    return (await this.#accounts.findByKey('email', email.trim().toLowerCase())).map((d) => d.value);
  }

  /** Creates an account; false when the id or username is taken. */
  async insert(account: StoredAccount): Promise<boolean> {
    if (await this.findByUsername(account.username)) return false;
    return this.#accounts.insert(account.id, account, { keys: accountKeys(account) });
  }

  /** Replaces an existing account (username and email stay findable). */
  async save(account: StoredAccount): Promise<void> {
    await this.#accounts.put(account.id, account, { keys: accountKeys(account) });
  }

  async setPassword(account: StoredAccount, password: string): Promise<StoredAccount> {
    const updated = { ...account, passwordHash: await hashPassword(password) };
    await this.save(updated);
    await this.#failures.reset(account.username);
    return updated;
  }

  /** Creates the account unless one with that username exists; returns whether it was created. */
  async createIfAbsent(seed: AccountSeed): Promise<boolean> {
    const username = seed.username.trim().toLowerCase();
    if (await this.findByUsername(username)) return false;
    const account: StoredAccount = {
      id: seed.id ?? username,
      username,
      passwordHash: await hashPassword(seed.password),
      ...(seed.fhirUser ? { fhirUser: seed.fhirUser } : {}),
      ...(seed.name ? { name: seed.name } : {}),
      ...(seed.email ? { email: seed.email } : {}),
      roles: seed.roles ?? [],
      createdAt: Date.now(),
    };
    return this.#accounts.insert(account.id, account, { keys: { username } });
  }

  /**
   * Checks a username and password, counting failures per username (known or not, so the answer
   * says nothing about which usernames exist). The attempt is counted before the password is
   * checked, so concurrent guesses get no more than the allowance between them. Attempts for one
   * username are taken one at a time in this process: concurrent correct sign-ins (several tabs,
   * a user and a script) then each see the counter reset by the previous success, instead of
   * using up the allowance between them; across nodes the shared counter still holds.
   */
  async signIn(username: string, password: string): Promise<SignInResult> {
    const key = username.trim().toLowerCase();
    let lock = this.#signInLocks.get(key);
    if (!lock) this.#signInLocks.set(key, (lock = { queue: new AsyncLock(), users: 0 }));
    lock.users++;
    try {
      return await lock.queue.run(() => this.#signIn(key, password));
    } finally {
      if (--lock.users === 0) this.#signInLocks.delete(key);
    }
  }

  async #signIn(key: string, password: string): Promise<SignInResult> {
    const slot = await this.#failures.reserve(key);
    if (!slot.allowed) return { ok: false, reason: 'throttled', retryAfterSeconds: slot.retryAfterSeconds };
    const account = await this.findByUsername(key);
    const valid = account
      ? await verifyPassword(password, account.passwordHash)
      : await verifyPassword(password, await (dummyHash ??= hashPassword(randomBytes(16).toString('hex'))));
    if (account && valid) {
      await this.#failures.reset(key);
      // Said only to someone who knows the password.
      if (account.locked) return { ok: false, reason: 'locked' };
      return { ok: true, account };
    }
    if (slot.count >= THROTTLE.maxFailures) {
      return { ok: false, reason: 'throttled', retryAfterSeconds: (await this.#failures.blockedFor(key)) ?? Math.ceil(THROTTLE.windowMs / 1000) };
    }
    return { ok: false, reason: 'invalid' };
  }

  /** Absolute fhirUser URL as SMART puts it in the id_token (and Bedside in the access token). */
  fhirUserUrl(account: StoredAccount): string | undefined {
    return account.fhirUser ? `${this.fhirBaseUrl}/${account.fhirUser}` : undefined;
  }

  /** The account in oidc-provider's shape: claims for id_token and userinfo, filtered by scope there. */
  toOidcAccount(account: StoredAccount): OidcAccount {
    return {
      accountId: account.id,
      claims: (): AccountClaims => {
        const fhirUser = this.fhirUserUrl(account);
        const name = account.name?.text ?? ([account.name?.given, account.name?.family].filter(Boolean).join(' ') || undefined);
        return {
          sub: account.id,
          ...(fhirUser ? { fhirUser } : {}),
          preferred_username: account.username,
          ...(name ? { name } : {}),
          ...(account.name?.given ? { given_name: account.name.given } : {}),
          ...(account.name?.family ? { family_name: account.name.family } : {}),
          ...(account.email ? { email: account.email } : {}),
        };
      },
    };
  }
}

function accountKeys(account: StoredAccount): Record<string, string> {
  return { username: account.username, ...(account.email ? { email: account.email.trim().toLowerCase() } : {}) };
}

/** The account as the user policy sees it (access/user-policy.ts). */
export function signedInUser(account: StoredAccount): SignedInUser {
  return {
    subject: account.id,
    ...(account.fhirUser ? { fhirUser: account.fhirUser } : {}),
    ...(account.patientAccess ? { patientGrant: account.patientAccess } : {}),
  };
}

/** Whether the account is a patient user (sees only their own record). */
export function patientIdOf(account: StoredAccount): string | undefined {
  return account.fhirUser?.startsWith('Patient/') ? account.fhirUser.slice('Patient/'.length) : undefined;
}
