/**
 * The sign-in steps through an upstream identity provider (accounts/federation/service.ts has the
 * protocol): the buttons' target sends the browser to the provider, the provider's callback comes
 * back to Bedside, and the interaction is finished as a normal sign-in. Each step is bound to the
 * interaction the way the other sign-in pages are: by its uid and oidc-provider's interaction
 * cookie, and the buttons' POST by the page's CSRF token.
 */
import type { Request, Response } from 'express';
import { errors } from 'oidc-provider';
import { FederationError, type BeginOptions, type Federation } from '../../accounts/federation/service.js';
import { PageError } from '../errors.js';
import type { ProviderInteraction, SignIn } from './flow.js';
import { sendLoginPage } from './login.js';

/** The sign-in buttons for interaction `uid`. */
export function federationButtons(federation: Pick<Federation, 'providers'>, interactionBase: string, uid: string): Array<{ name: string; action: string }> {
  return federation.providers.map((p) => ({ name: p.name, action: `${interactionBase}/${uid}/federate/${p.id}` }));
}

/** What Bedside's own request asks of the sign-in, passed on to the provider. */
export function beginOptions(interaction: ProviderInteraction): BeginOptions {
  const { params, prompt } = interaction;
  return {
    ...(typeof params.login_hint === 'string' && params.login_hint ? { loginHint: params.login_hint } : {}),
    ...(prompt.reasons.includes('login_prompt') || prompt.reasons.includes('max_age') ? { forceLogin: true } : {}),
  };
}

/** With password sign-in off and one identity provider, the sign-in page is skipped: its URL, else undefined. */
export async function singleProviderRedirect(federation: Federation, localLogin: boolean, interaction: ProviderInteraction): Promise<string | undefined> {
  const [only, ...others] = federation.providers;
  if (localLogin || !only || others.length) return undefined;
  return federation.begin(interaction.uid, only.id, beginOptions(interaction));
}

/** The pages of a federated sign-in that expired, was finished, or whose provider cannot be reached. */
export function federationRefusal(error: unknown): PageError | undefined {
  if (error instanceof errors.SessionNotFound || (error instanceof FederationError && error.code === 'unknown-state')) {
    return new PageError(
      400,
      'session_expired',
      'This sign-in has expired, was already finished or was opened in another browser. Go back to the app and start again.',
    );
  }
  if (error instanceof FederationError) return new PageError(502, 'temporarily_unavailable', error.message);
  return undefined;
}

/** `POST <interaction>/federate/<provider>`: a button of the sign-in page, to the provider's authorization endpoint. */
export async function beginFederatedSignIn(flow: SignIn): Promise<void> {
  if (flow.interaction.prompt.name !== 'login') return void flow.res.redirect(303, flow.url());
  const url = await flow.deps.federation.begin(flow.uid, String(flow.req.params.provider), beginOptions(flow.interaction));
  flow.res.redirect(303, url);
}

/** `GET <interaction>/federated?state=`: back from the provider's callback, the account signed in (or the sign-in page with why not). */
export async function completeFederatedSignIn(flow: SignIn): Promise<void> {
  const state = typeof flow.req.query.state === 'string' ? flow.req.query.state : '';
  const result = await flow.deps.federation.complete(flow.uid, state);
  if (!result.ok) return sendLoginPage(flow, { status: 403, error: result.description });
  return flow.finish({ login: { accountId: result.account.id, amr: ['fed'] } }, false);
}

/** `GET <issuer>/federation/<provider>/callback`: the provider's answer, exchanged, then back to the interaction. */
export function federationCallback(federation: Federation, interactionBase: string) {
  return async (req: Request, res: Response): Promise<void> => {
    const query = new URLSearchParams(req.originalUrl.split('?')[1] ?? '');
    const { uid, state } = await federation.callback(String(req.params.provider), query);
    res.redirect(303, `${interactionBase}/${uid}/federated?state=${encodeURIComponent(state)}`);
  };
}
