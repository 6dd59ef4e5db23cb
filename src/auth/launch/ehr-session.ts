/**
 * Simulated EHR sessions (a launcher option): inside a real EHR the clinician is already signed
 * in when an app is launched, so the app's authorization request finds a session and no sign-in
 * page appears. A launch minted with `simulate_ehr_session` (only where LAUNCHER_SANDBOX allows it)
 * stands in for that session: the sign-in step signs in the launch's practitioner directly.
 *
 * The practitioner's account is the one whose fhirUser is that Practitioner; a practitioner
 * without one gets an account `ehr.<id>` with an unguessable random password (nobody can sign in
 * with it by hand), so every Practitioner in the data can be the EHR user.
 */
import { randomBytes } from 'node:crypto';
import type { KoaContextWithOIDC } from 'oidc-provider';
import type { AccountStore, StoredAccount } from '../accounts/account-store.js';
import type { EhrLaunch, LaunchContexts } from './contexts.js';

/** The launch of this authorization request, when it asks for a simulated EHR session. */
export async function simulatedSessionLaunch(launches: LaunchContexts, launchParam: unknown): Promise<(EhrLaunch & { practitioner: string }) | undefined> {
  if (typeof launchParam !== 'string' || !launchParam) return undefined;
  const launch = await launches.peek(launchParam);
  return launch?.simulateSession && launch.practitioner ? (launch as EhrLaunch & { practitioner: string }) : undefined;
}

/** The account of the EHR user `Practitioner/<practitionerId>`, created on first use. */
export async function ehrSessionAccount(accounts: AccountStore, practitionerId: string): Promise<StoredAccount> {
  const fhirUser = `Practitioner/${practitionerId}`;
  const existing = (await accounts.list()).find((a) => a.fhirUser === fhirUser);
  if (existing) return existing;
  const username = `ehr.${practitionerId}`.toLowerCase();
  await accounts.createIfAbsent({ username, password: randomBytes(32).toString('base64url'), fhirUser });
  const created = await accounts.findByUsername(username);
  if (!created) throw new Error(`could not create the EHR session account ${username}`);
  return created;
}

/**
 * Whether the browser's current session is someone other than the launch's EHR user (then the
 * sign-in step runs again and signs in the EHR user).
 */
export async function sessionIsNotEhrUser(ctx: KoaContextWithOIDC, accounts: AccountStore, launches: LaunchContexts): Promise<boolean> {
  const launch = await simulatedSessionLaunch(launches, ctx.oidc.params?.launch);
  if (!launch) return false;
  const accountId = ctx.oidc.session?.accountId;
  const account = accountId ? await accounts.findById(accountId) : undefined;
  return account?.fhirUser !== `Practitioner/${launch.practitioner}`;
}
