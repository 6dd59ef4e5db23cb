/**
 * The interaction pages oidc-provider sends the browser to: sign in, choose a patient or an
 * encounter (standalone launches), consent. Plain HTML forms, no JavaScript. Each POST is bound
 * to the interaction by its uid, by oidc-provider's SameSite interaction cookie and by a CSRF
 * token in the form (forms.ts), so another site cannot submit them.
 *
 * https://github.com/panva/node-oidc-provider/tree/main/docs#user-flows
 */
import express, { type NextFunction, type Request, type Response } from 'express';
import { errors, type InteractionResults } from 'oidc-provider';
import { patientIdOf, signedInUser, type StoredAccount } from '../accounts.js';
import { ehrSessionAccount, simulatedSessionLaunch } from '../ehr-session.js';
import { loginPageExtras, singleProviderRedirect } from '../federation/routes.js';
import { grantedResourceScopes, offerResourceScopes } from '../resource-servers/consent.js';
import { smartStyleUrl } from '../endpoints.js';
import { CONTEXT_PROMPT, FIRST_PARTY_CLIENTS, PATIENT_REASON, type SmartSelection } from '../interaction-policy.js';
import type { ProviderHolder } from '../provider.js';
import type { AuthServices } from '../services.js';
import { consentPage } from '../views/consent.js';
import { errorPage } from '../views/error.js';
import { loginPage } from '../views/login.js';
import { encounterPickerPage, patientPickerPage } from '../views/picker.js';
import { clientAddress } from '../../security/rate-limit.js';
import { ContextRefused, notTheirPatient, resolveGrantContext } from './context.js';
import { grantedScopes, offerScopes, saveGrant } from './consent.js';
import { genuineSubmission, sendInteractionPage } from './forms.js';

type Interaction = Awaited<ReturnType<ProviderHolder['provider']['interactionDetails']>>;

/** The encounter picker offers a patient's newest encounters, at most this many. */
const ENCOUNTERS_OFFERED = 20;

function field(body: unknown, name: string): string {
  const value = (body as Record<string, unknown> | undefined)?.[name];
  return typeof value === 'string' ? value : '';
}

function fields(body: unknown, name: string): string[] {
  const value = (body as Record<string, unknown> | undefined)?.[name];
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : typeof value === 'string' ? [value] : [];
}

function send(res: Response, status: number, body: string): void {
  res.status(status).set({ 'cache-control': 'no-store', 'content-type': 'text/html; charset=utf-8' }).send(body);
}

export function interactionRouter(services: AuthServices, holder: ProviderHolder, basePath: string): express.Router {
  const router = express.Router();
  const form = express.urlencoded({ extended: false, limit: '64kb', parameterLimit: 1000 });
  const url = (uid: string, step = '') => `${basePath}/${uid}${step ? `/${step}` : ''}`;

  /** Loads the interaction of this browser and checks it is the one in the URL. */
  async function load(req: Request, res: Response): Promise<Interaction> {
    const interaction = await holder.provider.interactionDetails(req, res);
    if (interaction.uid !== req.params.uid) throw new errors.SessionNotFound('interaction mismatch');
    return interaction;
  }

  async function clientName(clientId: string): Promise<{ name: string; uri?: string }> {
    const client = await holder.provider.Client.find(clientId);
    return { name: client?.clientName ?? clientId, ...(client?.clientUri ? { uri: client.clientUri } : {}) };
  }

  async function finish(req: Request, res: Response, result: InteractionResults, merge = true): Promise<void> {
    await holder.provider.interactionFinished(req, res, result, { mergeWithLastSubmission: merge });
  }

  /** Sends a page of this interaction (with its CSRF token, and its forms allowed to end at the app). */
  function sendPage(res: Response, interaction: Interaction, status: number, html: string, otherTargets?: string[]): void {
    sendInteractionPage(services, res, { uid: interaction.uid, status, html, redirectUri: interaction.params.redirect_uri, ...(otherTargets ? { otherTargets } : {}) });
  }

  const selectionOf = (interaction: Interaction): SmartSelection => ((interaction.lastSubmission as { smart?: SmartSelection } | undefined)?.smart ?? {});

  /** The patients `account` may select: the user policy, the same for every step below. */
  const selectable = (account: StoredAccount) => services.directory.forUser(signedInUser(account));

  async function renderStep(req: Request, res: Response, interaction: Interaction, options: { error?: string; status?: number; username?: string } = {}): Promise<void> {
    const { uid, prompt, params } = interaction;
    const client = await clientName(String(params.client_id));
    const abortAction = url(uid, 'abort');
    if (prompt.name === 'login') {
      const ehr = await simulatedSessionLaunch(services.launches, params.launch);
      if (ehr) {
        const account = await ehrSessionAccount(services.accounts, ehr.practitioner);
        await finish(req, res, { login: { accountId: account.id } }, false);
        return;
      }
      const upstream = options.error ? undefined : await singleProviderRedirect(services, interaction);
      if (upstream) {
        res.redirect(303, upstream);
        return;
      }
      const html = loginPage({ action: url(uid, 'login'), abortAction, clientName: client.name, sampleHint: services.config.seed, ...(options.error ? { error: options.error } : {}), ...loginPageExtras(services, basePath, interaction, options.username) });
      sendPage(res, interaction, options.status ?? 200, html, await services.federation.authorizationEndpoints());
      return;
    }
    const account = await services.accounts.findById(String(interaction.session?.accountId));
    if (!account) throw new errors.SessionNotFound('account not found');
    const patients = selectable(account);
    if (prompt.name === CONTEXT_PROMPT) {
      if (prompt.reasons.includes(PATIENT_REASON)) {
        // Nobody to choose: the app learns it at once instead of a picker that cannot be completed.
        if (!(await patients.anyPatient())) {
          await finish(req, res, { error: 'access_denied', error_description: `${account.username} may not open any patient's record, so the app cannot have a patient (launch/patient)` }, false);
          return;
        }
        const query = typeof req.query.q === 'string' ? req.query.q.slice(0, 100) : '';
        const html = patientPickerPage({ action: url(uid, 'patient'), searchAction: url(uid), abortAction, clientName: client.name, query, patients: await patients.patients(query), ...(options.error ? { error: options.error } : {}) });
        sendPage(res, interaction, options.status ?? 200, html);
        return;
      }
      const patientId = patientIdOf(account) ?? selectionOf(interaction).patient;
      const patient = patientId ? await patients.patient(patientId) : undefined;
      const encounters = patient ? await patients.encounters(patient.id, ENCOUNTERS_OFFERED) : [];
      if (!encounters.length) {
        await finish(req, res, { smart: { ...selectionOf(interaction), encounter: '' } });
        return;
      }
      sendPage(res, interaction, 200, encounterPickerPage({ action: url(uid, 'encounter'), abortAction, clientName: client.name, patientName: patient?.name ?? String(patientId), encounters }));
      return;
    }
    const launch = typeof params.launch === 'string' ? await services.launches.peek(params.launch) : undefined;
    // An EHR launch for a patient this user may not open ends here, before anything is consented to.
    if (launch && !(await patients.patient(launch.patient))) {
      await finish(req, res, { error: 'access_denied', error_description: notTheirPatient(account) }, false);
      return;
    }
    if (FIRST_PARTY_CLIENTS.has(String(params.client_id))) {
      await approve(req, res, interaction, offerScopes(String(params.scope ?? '')).requested.map((s) => s.raw));
      return;
    }
    const offer = offerScopes(String(params.scope ?? ''));
    const otherApis = await offerResourceScopes(services.resourceServers, services.config.fhirBaseUrl, params);
    const patientId = launch?.patient ?? patientIdOf(account) ?? selectionOf(interaction).patient;
    const patient = patientId ? await patients.patient(patientId) : undefined;
    const encounter = launch?.encounter ?? (selectionOf(interaction).encounter || undefined);
    sendPage(res, interaction, 200, consentPage({
      action: url(uid, 'consent'),
      clientName: client.name,
      ...(client.uri ? { clientUri: client.uri } : {}),
      userName: account.username,
      ...(patientId ? { patientName: patient?.name ?? `Patient/${patientId}` } : {}),
      ...(encounter ? { encounter: `Encounter/${encounter}` } : {}),
      scopes: [...offer.view, ...otherApis.flatMap((o) => o.view)],
      launchType: launch ? 'ehr' : 'standalone',
    }));
  }

  async function approve(req: Request, res: Response, interaction: Interaction, submitted: string[]): Promise<void> {
    const { params } = interaction;
    const account = await services.accounts.findById(String(interaction.session?.accountId));
    if (!account) throw new errors.SessionNotFound('account not found');
    const granted = grantedScopes(offerScopes(String(params.scope ?? '')), submitted);
    let context;
    try {
      context = await resolveGrantContext({
        launches: services.launches,
        smartStyleUrl: smartStyleUrl(services.config),
        account,
        launch: typeof params.launch === 'string' ? params.launch : undefined,
        granted: new Set(granted.map((s) => s.raw)),
        selection: selectionOf(interaction),
        patients: selectable(account),
      });
    } catch (error) {
      if (!(error instanceof ContextRefused)) throw error;
      await finish(req, res, { error: error.error, error_description: error.description }, false);
      return;
    }
    const otherResources = grantedResourceScopes(await offerResourceScopes(services.resourceServers, services.config.fhirBaseUrl, params), submitted);
    const grantId = await saveGrant(holder.provider, { accountId: account.id, clientId: String(params.client_id), fhirBaseUrl: services.config.fhirBaseUrl, granted, otherResources });
    await services.launches.saveForGrant(grantId, context, Date.now() + services.config.refreshTokenTtlSeconds * 1000);
    // The request continues with exactly the granted scopes (a subset, or category sub-scopes).
    interaction.params.scope = [...granted.map((s) => s.raw), ...otherResources.flatMap((o) => o.scopes)].join(' ');
    interaction.result = { ...interaction.lastSubmission, consent: { grantId } };
    await interaction.persist();
    res.status(303).set({ location: interaction.returnTo, 'content-length': '0' }).end();
  }

  const handle = (work: (req: Request, res: Response) => Promise<void>) => async (req: Request, res: Response) => {
    try {
      await work(req, res);
    } catch (error) {
      if (error instanceof errors.SessionNotFound) {
        send(res, 400, errorPage({ error: 'session_expired', description: 'This sign-in page has expired or was opened in another browser. Go back to the app and start again.' }));
        return;
      }
      services.logger.error({ err: error }, 'interaction failed');
      send(res, 500, errorPage({ error: 'server_error', description: 'Something failed on our side. Go back to the app and try again.' }));
    }
  };

  /**
   * Registers a form's POST handler: nothing runs unless the submission comes from the
   * interaction's own page (CSRF token, origin). `before` may refuse first (refusing changes nothing).
   */
  function post(step: string, work: (req: Request, res: Response) => Promise<void>, before: express.RequestHandler[] = []): void {
    router.post(`/:uid/${step}`, form, ...before, handle(async (req, res) => {
      if (!genuineSubmission(services, req, String(req.params.uid))) {
        send(res, 403, errorPage({ error: 'invalid_request', description: 'This form was not sent from its Bedside page, or the page is out of date. Go back to the app and start again.' }));
        return;
      }
      await work(req, res);
    }));
  }

  const minutes = (seconds: number) => `${Math.ceil(seconds / 60)} minute${seconds > 60 ? 's' : ''}`;

  router.get('/:uid', handle(async (req, res) => renderStep(req, res, await load(req, res))));

  const passwordSignInOff = (req: Request, res: Response, next: NextFunction) => {
    if (services.config.localLogin) return next();
    return handle(async () => {
      const interaction = await load(req, res);
      if (interaction.prompt.name !== 'login') return renderStep(req, res, interaction);
      return renderStep(req, res, interaction, { status: 403, error: 'Sign-in with a Bedside password is turned off here: use your organisation\'s sign-in.' });
    })(req, res);
  };

  post('login', async (req, res) => {
    const interaction = await load(req, res);
    if (interaction.prompt.name !== 'login') return renderStep(req, res, interaction);
    const username = field(req.body, 'username').slice(0, 200);
    // Per client address first (password spraying across usernames), then per username (AccountStore).
    const address = clientAddress(req, services.config.trustProxy);
    const slot = await services.signInsByAddress.reserve(address);
    if (!slot.allowed) {
      res.set('retry-after', String(slot.retryAfterSeconds));
      return renderStep(req, res, interaction, { status: 429, username, error: `Too many failed sign-ins from your network. Try again in ${minutes(slot.retryAfterSeconds)}.` });
    }
    const result = await services.accounts.signIn(username, field(req.body, 'password').slice(0, 1000));
    if (result.ok || result.reason === 'locked') await services.signInsByAddress.refund(address);
    if (result.ok) return finish(req, res, { login: { accountId: result.account.id } }, false);
    if (result.reason === 'locked') return renderStep(req, res, interaction, { status: 403, username, error: 'This account is locked. Ask an operator.' });
    if (result.reason === 'throttled') {
      res.set('retry-after', String(result.retryAfterSeconds));
      return renderStep(req, res, interaction, { status: 429, username, error: `Too many failed sign-ins for this username. Try again in ${minutes(result.retryAfterSeconds)}.` });
    }
    return renderStep(req, res, interaction, { status: 401, username, error: 'The username or password is not right.' });
  }, [passwordSignInOff]);

  post('patient', async (req, res) => {
    const interaction = await load(req, res);
    const account = interaction.session?.accountId ? await services.accounts.findById(String(interaction.session.accountId)) : undefined;
    const chosen = field(req.body, 'patient');
    const picking = interaction.prompt.name === CONTEXT_PROMPT && account !== undefined && !patientIdOf(account);
    // A patient the user may not select is refused, whatever step the interaction is at (a
    // tampered form); one outside the user's set answers exactly as one that does not exist.
    const patient = account && chosen ? await selectable(account).patient(chosen) : undefined;
    if (account && chosen && !patient) {
      const refusal = 'You may not choose that patient: choose one from the list.';
      if (picking) return renderStep(req, res, interaction, { status: 403, error: refusal });
      return send(res, 403, errorPage({ error: 'access_denied', description: refusal }));
    }
    if (!picking) return renderStep(req, res, interaction);
    if (!patient) return renderStep(req, res, interaction, { status: 400, error: 'Choose a patient from the list.' });
    return finish(req, res, { smart: { ...selectionOf(interaction), patient: patient.id } });
  });

  post('encounter', async (req, res) => {
    const interaction = await load(req, res);
    if (interaction.prompt.name !== CONTEXT_PROMPT) return renderStep(req, res, interaction);
    const account = await services.accounts.findById(String(interaction.session?.accountId));
    const patientId = (account && patientIdOf(account)) ?? selectionOf(interaction).patient;
    const chosen = field(req.body, 'encounter');
    const offered = account && patientId ? await selectable(account).encounters(patientId, ENCOUNTERS_OFFERED) : [];
    if (chosen && !offered.some((e) => e.id === chosen)) return renderStep(req, res, interaction);
    return finish(req, res, { smart: { ...selectionOf(interaction), encounter: chosen } });
  });

  post('consent', async (req, res) => {
    const interaction = await load(req, res);
    if (interaction.prompt.name !== 'consent') return renderStep(req, res, interaction);
    if (field(req.body, 'decision') !== 'approve') {
      return finish(req, res, { error: 'access_denied', error_description: 'The user denied the authorization request.' }, false);
    }
    return approve(req, res, interaction, fields(req.body, 'scope'));
  });

  post('abort', async (req, res) => {
    await load(req, res);
    return finish(req, res, { error: 'access_denied', error_description: 'The user cancelled the sign-in.' }, false);
  });

  return router;
}
