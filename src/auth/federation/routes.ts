/**
 * The express side of federated sign-in (service.ts has the flow): the sign-in buttons' target,
 * the providers' callback, and the return to the interaction. Each step is bound to the
 * interaction the way the other sign-in pages are: by its uid and oidc-provider's interaction
 * cookie, and the buttons' POST by the page's CSRF token.
 */
import express, { type Request, type Response } from 'express';
import { errors } from 'oidc-provider';
import type { ProviderHolder } from '../provider.js';
import type { AuthServices } from '../services.js';
import { genuineSubmission, sendInteractionPage } from '../interactions/forms.js';
import { errorPage } from '../views/error.js';
import { loginPage } from '../views/login.js';
import { FederationError, type BeginOptions } from './service.js';

type Interaction = Awaited<ReturnType<ProviderHolder['provider']['interactionDetails']>>;

function send(res: Response, status: number, body: string): void {
  res.status(status).set({ 'cache-control': 'no-store', 'content-type': 'text/html; charset=utf-8' }).send(body);
}

/** The sign-in buttons for interaction `uid`. */
export function federationButtons(services: AuthServices, interactionBase: string, uid: string): Array<{ name: string; action: string }> {
  return services.federation.providers.map((p) => ({ name: p.name, action: `${interactionBase}/${uid}/federate/${p.id}` }));
}

/** What Bedside's own request asks of the sign-in, passed on to the provider. */
export function beginOptions(interaction: Interaction): BeginOptions {
  const { params, prompt } = interaction;
  return {
    ...(typeof params.login_hint === 'string' && params.login_hint ? { loginHint: params.login_hint } : {}),
    ...(prompt.reasons.includes('login_prompt') || prompt.reasons.includes('max_age') ? { forceLogin: true } : {}),
  };
}

/** The express handlers: `interaction` mounts at the interaction pages' base, `callbacks` at the root. */
export function federationRoutes(services: AuthServices, holder: ProviderHolder, options: { interactionBase: string; callbackBase: string }): { interaction: express.Router; callbacks: express.Router } {
  const { interactionBase } = options;
  const interaction = express.Router();
  const callbacks = express.Router();

  async function load(req: Request, res: Response): Promise<Interaction> {
    const details = await holder.provider.interactionDetails(req, res);
    if (details.uid !== req.params.uid) throw new errors.SessionNotFound('interaction mismatch');
    return details;
  }

  async function loginWithError(res: Response, details: Interaction, message: string, status: number): Promise<void> {
    const client = await holder.provider.Client.find(String(details.params.client_id));
    const base = `${interactionBase}/${details.uid}`;
    const html = loginPage({
      action: `${base}/login`,
      abortAction: `${base}/abort`,
      clientName: client?.clientName ?? String(details.params.client_id),
      error: message,
      federation: federationButtons(services, interactionBase, details.uid),
      localLogin: services.config.localLogin,
    });
    sendInteractionPage(services, res, { uid: details.uid, status, html, redirectUri: details.params.redirect_uri, otherTargets: await services.federation.authorizationEndpoints() });
  }

  const handle = (work: (req: Request, res: Response) => Promise<void>) => async (req: Request, res: Response) => {
    try {
      await work(req, res);
    } catch (error) {
      if (error instanceof errors.SessionNotFound || (error instanceof FederationError && error.code === 'unknown-state')) {
        send(res, 400, errorPage({ error: 'session_expired', description: 'This sign-in has expired, was already finished or was opened in another browser. Go back to the app and start again.' }));
        return;
      }
      if (error instanceof FederationError) {
        send(res, 502, errorPage({ error: 'temporarily_unavailable', description: error.message }));
        return;
      }
      services.logger.error({ err: error }, 'federated sign-in failed');
      send(res, 500, errorPage({ error: 'server_error', description: 'Something failed on our side. Go back to the app and try again.' }));
    }
  };

  const form = express.urlencoded({ extended: false, limit: '16kb', parameterLimit: 100 });
  interaction.post('/:uid/federate/:provider', form, handle(async (req, res) => {
    if (!genuineSubmission(services, req, String(req.params.uid))) {
      send(res, 403, errorPage({ error: 'invalid_request', description: 'This form was not sent from its Bedside page, or the page is out of date. Go back to the app and start again.' }));
      return;
    }
    const details = await load(req, res);
    if (details.prompt.name !== 'login') {
      res.redirect(303, `${interactionBase}/${details.uid}`);
      return;
    }
    const url = await services.federation.begin(details.uid, String(req.params.provider), beginOptions(details));
    res.redirect(303, url);
  }));

  interaction.get('/:uid/federated', handle(async (req, res) => {
    const details = await load(req, res);
    const result = await services.federation.complete(details.uid, typeof req.query.state === 'string' ? req.query.state : '');
    if (!result.ok) return loginWithError(res, details, result.description, 403);
    await holder.provider.interactionFinished(req, res, { login: { accountId: result.account.id, amr: ['fed'] } }, { mergeWithLastSubmission: false });
  }));

  callbacks.get(`${options.callbackBase}/:provider/callback`, handle(async (req, res) => {
    const query = new URLSearchParams(req.originalUrl.split('?')[1] ?? '');
    const { uid, state } = await services.federation.callback(String(req.params.provider), query);
    res.redirect(303, `${interactionBase}/${uid}/federated?state=${encodeURIComponent(state)}`);
  }));

  return { interaction, callbacks };
}

/** What the sign-in page shows besides the password form: the provider buttons, the hint, whether local sign-in is on. */
export function loginPageExtras(services: AuthServices, interactionBase: string, interaction: Interaction, username: string | undefined): { federation: Array<{ name: string; action: string }>; localLogin: boolean; username?: string } {
  const hint = typeof interaction.params.login_hint === 'string' ? interaction.params.login_hint.slice(0, 200) : undefined;
  const prefill = username ?? hint;
  return { federation: federationButtons(services, interactionBase, interaction.uid), localLogin: services.config.localLogin, ...(prefill ? { username: prefill } : {}) };
}

/** With password sign-in off and one identity provider, the sign-in page is skipped: its URL, else undefined. */
export async function singleProviderRedirect(services: AuthServices, interaction: Interaction): Promise<string | undefined> {
  const [only, ...others] = services.federation.providers;
  if (services.config.localLogin || !only || others.length) return undefined;
  return services.federation.begin(interaction.uid, only.id, beginOptions(interaction));
}
