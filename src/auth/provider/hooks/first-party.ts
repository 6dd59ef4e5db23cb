/**
 * First-party clients: the organisation's own apps, which an operator marks as such (client
 * metadata `bedside_first_party`, set from the admin page or command, never through dynamic
 * registration). Their users are not asked to consent: when the user is signed in and nothing
 * needs choosing, the grant is made just in time (oidc-provider's documented `loadExistingGrant`
 * pattern), which is also what lets `prompt=none` (silent sign-in) succeed for them. Third-party
 * apps always go through the consent page, so `prompt=none` answers them `consent_required`.
 *
 * https://github.com/panva/node-oidc-provider/tree/main/docs#loadexistinggrant
 * https://openid.net/specs/openid-connect-core-1_0.html#AuthRequest (prompt)
 */
import type { Client, Grant, KoaContextWithOIDC } from 'oidc-provider';
import type { PatientDirectory } from '../../../directory/patient-directory.js';
import { patientIdOf, signedInUser, type AccountStore } from '../../accounts/account-store.js';
import type { LaunchContexts } from '../../launch/contexts.js';
import { ContextRefused, resolveGrantContext, type SmartSelection } from '../../launch/grant-context.js';
import { FIRST_PARTY_CLIENTS, loadConsentedGrant } from './interaction-policy.js';

/** Client metadata an operator sets on the organisation's own apps. */
export const FIRST_PARTY_METADATA = 'bedside_first_party';

const OIDC_SCOPES = new Set(['openid', 'fhirUser', 'profile', 'email', 'offline_access']);
const justInTime = new WeakSet<object>();

export function isFirstParty(client: Client | undefined): boolean {
  return !!client && (FIRST_PARTY_CLIENTS.has(client.clientId) || client.metadata()[FIRST_PARTY_METADATA] === true);
}

/** Whether this request's grant was made just in time for a first-party client (no consent needed). */
export function hasJustInTimeGrant(ctx: KoaContextWithOIDC): boolean {
  return justInTime.has(ctx);
}

/** Whether signing in again is pending for this request (then nothing is granted yet). */
function loginPending(ctx: KoaContextWithOIDC): boolean {
  if (ctx.oidc.result?.login) return false;
  if (ctx.oidc.prompts.has('login')) return true;
  const maxAge = ctx.oidc.params?.max_age;
  return maxAge !== undefined && (ctx.oidc.session?.past(Number(maxAge)) ?? true);
}

export interface FirstPartyDependencies {
  accounts: Pick<AccountStore, 'findById'>;
  launches: LaunchContexts;
  directory: Pick<PatientDirectory, 'forUser'>;
  /** Bedside's own style document, the context's default `smart_style_url`. */
  smartStyleUrl: string;
  /** How long a grant's launch context is kept (the longest refresh token lifetime). */
  refreshTokenTtlSeconds: number;
}

/** `loadExistingGrant`: the grant the consent page made for this request, or a first-party one. */
export function loadGrant(deps: FirstPartyDependencies) {
  return async (ctx: KoaContextWithOIDC): Promise<Grant | undefined> => {
    const consented = await loadConsentedGrant(ctx);
    if (consented) return consented;
    const { client, session, params } = ctx.oidc;
    if (!isFirstParty(client) || !session?.accountId || ctx.oidc.prompts.has('consent') || loginPending(ctx)) return undefined;
    // EHR launches are single-use and go through the pages.
    if (params?.launch) return undefined;
    const account = await deps.accounts.findById(session.accountId);
    if (!account || account.locked) return undefined;
    const requested = new Set(
      String(params?.scope ?? '')
        .split(' ')
        .filter(Boolean),
    );
    const selection = ((ctx.oidc.result as { smart?: SmartSelection } | undefined)?.smart ?? {}) as SmartSelection;
    if (requested.has('launch/patient') && !patientIdOf(account) && !selection.patient) return undefined;
    if (requested.has('launch/encounter') && selection.encounter === undefined) return undefined;
    let context;
    try {
      context = await resolveGrantContext({
        launches: deps.launches,
        smartStyleUrl: deps.smartStyleUrl,
        account,
        launch: undefined,
        granted: requested,
        selection,
        patients: deps.directory.forUser(signedInUser(account)),
      });
    } catch (error) {
      if (error instanceof ContextRefused) return undefined;
      throw error;
    }
    const grant = new ctx.oidc.provider.Grant({ accountId: account.id, clientId: client!.clientId });
    const oidc = [...requested].filter((s) => OIDC_SCOPES.has(s));
    if (oidc.length) grant.addOIDCScope(oidc.join(' '));
    for (const [indicator, resourceServer] of Object.entries(ctx.oidc.resourceServers ?? {})) {
      const scopes = [...requested].filter((s) => resourceServer.scopes.has(s));
      if (scopes.length) grant.addResourceScope(indicator, scopes.join(' '));
    }
    const grantId = await grant.save();
    await deps.launches.saveForGrant(grantId, context, Date.now() + deps.refreshTokenTtlSeconds * 1000);
    justInTime.add(ctx);
    return grant;
  };
}
