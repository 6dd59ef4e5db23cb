/**
 * The interaction policy: sign in, then (standalone launches) choose the patient and encounter,
 * then consent. Every authorization goes through consent and gets a grant of its own, because
 * each SMART launch carries its own context (patient, encounter) and its own granted scopes.
 *
 * https://github.com/panva/node-oidc-provider/tree/main/docs#interactionspolicy
 * https://hl7.org/fhir/smart-app-launch/STU2.2/app-launch.html#obtain-authorization-code
 */
import { interactionPolicy, type KoaContextWithOIDC } from 'oidc-provider';
import { patientIdOf, type AccountStore } from '../../accounts/account-store.js';
import { hasJustInTimeGrant } from './first-party.js';
import { sessionIsNotEhrUser } from '../../launch/ehr-session.js';
import type { LaunchContexts } from '../../launch/contexts.js';
import type { SmartSelection } from '../../launch/grant-context.js';

const { Prompt, Check, base } = interactionPolicy;

export const CONTEXT_PROMPT = 'smart_context';
export const PATIENT_REASON = 'patient_not_selected';
export const ENCOUNTER_REASON = 'encounter_not_selected';
export const FIRST_PARTY_CLIENTS = new Set(['bedside-account']);

function requested(ctx: KoaContextWithOIDC): Set<string> {
  return new Set(String(ctx.oidc.params?.scope ?? '').split(' '));
}

function selection(ctx: KoaContextWithOIDC): SmartSelection {
  return ((ctx.oidc.result as { smart?: SmartSelection } | undefined)?.smart ?? {}) as SmartSelection;
}

function isStandalone(ctx: KoaContextWithOIDC): boolean {
  return !ctx.oidc.params?.launch;
}

export function buildInteractionPolicy(accounts: AccountStore, launches?: LaunchContexts) {
  const policy = base();

  // A simulated EHR session (launch/ehr-session.ts) must run as the launch's practitioner.
  if (launches) {
    policy
      .get('login')!
      .checks.add(
        new Check('ehr_session_user', 'the launch simulates an EHR session of another user', async (ctx: KoaContextWithOIDC) =>
          (await sessionIsNotEhrUser(ctx, accounts, launches)) ? Check.REQUEST_PROMPT : Check.NO_NEED_TO_PROMPT,
        ),
      );
  }

  const patientUser = async (ctx: KoaContextWithOIDC): Promise<string | undefined> => {
    const accountId = ctx.oidc.session?.accountId;
    const account = accountId ? await accounts.findById(accountId) : undefined;
    return account && patientIdOf(account);
  };

  const context = new Prompt(
    { name: CONTEXT_PROMPT, requestable: false },
    new Check(PATIENT_REASON, 'a standalone launch asked for launch/patient and no patient is selected', async (ctx: KoaContextWithOIDC) => {
      if (!isStandalone(ctx) || !requested(ctx).has('launch/patient')) return Check.NO_NEED_TO_PROMPT;
      if (selection(ctx).patient || (await patientUser(ctx))) return Check.NO_NEED_TO_PROMPT;
      return Check.REQUEST_PROMPT;
    }),
    new Check(ENCOUNTER_REASON, 'a standalone launch asked for launch/encounter and no encounter is selected', (ctx: KoaContextWithOIDC) => {
      if (!isStandalone(ctx) || !requested(ctx).has('launch/encounter')) return Check.NO_NEED_TO_PROMPT;
      return selection(ctx).encounter === undefined ? Check.REQUEST_PROMPT : Check.NO_NEED_TO_PROMPT;
    }),
  );
  policy.add(
    context,
    policy.findIndex((p) => p.name === 'consent'),
  );

  policy.get('consent')!.checks.add(
    new Check('smart_consent_required', 'every SMART authorization is consented to on its own', 'consent_required', (ctx: KoaContextWithOIDC) => {
      const consent = (ctx.oidc.result as { consent?: { grantId?: string } } | undefined)?.consent;
      // First-party clients get a grant made just in time instead (first-party.ts).
      return consent?.grantId || hasJustInTimeGrant(ctx) ? Check.NO_NEED_TO_PROMPT : Check.REQUEST_PROMPT;
    }),
    0,
  );
  return policy;
}

/**
 * The `prompt` values the provider accepts: `none` and every requestable prompt of the policy
 * (oidc-provider refuses any other with invalid_request). Advertised as `prompt_values_supported`
 * (https://openid.net/specs/openid-connect-prompt-create-1_0.html#section-4).
 */
export function promptValues(policy: ReturnType<typeof buildInteractionPolicy>): string[] {
  return ['none', ...policy.filter((prompt) => prompt.requestable).map((prompt) => prompt.name)];
}

/** `loadExistingGrant`: only the grant the consent page just created for this very request. */
export async function loadConsentedGrant(ctx: KoaContextWithOIDC) {
  const grantId = (ctx.oidc.result as { consent?: { grantId?: string } } | undefined)?.consent?.grantId;
  return grantId ? ctx.oidc.provider.Grant.find(grantId) : undefined;
}
