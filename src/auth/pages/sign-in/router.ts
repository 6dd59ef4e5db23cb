/**
 * The sign-in pages oidc-provider sends the browser to, as a route table: the page of the step an
 * interaction is at (sign in, choose a patient or an encounter in a standalone launch, consent),
 * each step's form, and the way through an upstream identity provider. Plain HTML forms, no
 * JavaScript. Every POST is bound to the interaction by its uid, by oidc-provider's SameSite
 * interaction cookie and by a CSRF token in the form (forms.ts), so another site cannot submit it.
 *
 * https://github.com/panva/node-oidc-provider/tree/main/docs#user-flows
 */
import express, { type Request, type Response } from 'express';
import { CONTEXT_PROMPT, PATIENT_REASON } from '../../provider/hooks/interaction-policy.js';
import { pageHandler } from '../errors.js';
import { showConsent, submitConsent } from './consent.js';
import { showEncounterPicker, submitEncounter } from './encounter.js';
import { beginFederatedSignIn, completeFederatedSignIn, federationCallback, federationRefusal } from './federation.js';
import { expiredInteraction, loadInteraction, SignIn, type ShowOptions, type SignInDependencies } from './flow.js';
import { checkSubmission } from './forms.js';
import { refusePasswordSignIn, showLogin, submitLogin } from './login.js';
import { showPatientPicker, submitPatient } from './patient.js';

/** The page of the step the interaction is at. */
async function show(flow: SignIn, options: ShowOptions = {}): Promise<void> {
  const { prompt } = flow.interaction;
  if (prompt.name === 'login') return showLogin(flow, options);
  const account = await flow.requireAccount();
  if (prompt.name !== CONTEXT_PROMPT) return showConsent(flow, account);
  return prompt.reasons.includes(PATIENT_REASON) ? showPatientPicker(flow, account, options) : showEncounterPicker(flow, account);
}

async function abort(flow: SignIn): Promise<void> {
  return flow.refuse('access_denied', 'The user cancelled the sign-in.');
}

type Step = (flow: SignIn) => Promise<void>;

/** `interaction` mounts at the interaction pages' base (`basePath`); `callbacks` at the root (the identity providers' callbacks). */
export function signInPages(deps: SignInDependencies, basePath: string, callbackBase: string): { interaction: express.Router; callbacks: express.Router } {
  const form = express.urlencoded({ extended: false, limit: '64kb', parameterLimit: 1000 });
  const open = async (req: Request, res: Response) => new SignIn(deps, req, res, await loadInteraction(deps.holder, req, res), basePath, show);
  const signInPage = pageHandler({
    logger: deps.logger,
    failure: 'interaction failed',
    serverError: 'Something failed on our side. Go back to the app and try again.',
    translate: expiredInteraction,
  });
  const federatedPage = pageHandler({
    logger: deps.logger,
    failure: 'federated sign-in failed',
    serverError: 'Something failed on our side. Go back to the app and try again.',
    translate: federationRefusal,
  });
  /** A step's form: nothing runs unless the submission comes from the interaction's own page. */
  const submitted = (step: Step, handler = signInPage) =>
    handler(async (req, res) => {
      checkSubmission(deps, req, String(req.params.uid));
      await step(await open(req, res));
    });

  const interaction = express.Router();
  interaction.get(
    '/:uid',
    signInPage(async (req, res) => show(await open(req, res))),
  );
  // With LOCAL_LOGIN=false a password form is refused before its token is even looked at.
  interaction.post(
    '/:uid/login',
    form,
    deps.settings.localLogin ? submitted(submitLogin) : signInPage(async (req, res) => refusePasswordSignIn(await open(req, res))),
  );
  interaction.post('/:uid/patient', form, submitted(submitPatient));
  interaction.post('/:uid/encounter', form, submitted(submitEncounter));
  interaction.post('/:uid/consent', form, submitted(submitConsent));
  interaction.post('/:uid/abort', form, submitted(abort));
  interaction.post(
    '/:uid/federate/:provider',
    express.urlencoded({ extended: false, limit: '16kb', parameterLimit: 100 }),
    submitted(beginFederatedSignIn, federatedPage),
  );
  interaction.get(
    '/:uid/federated',
    federatedPage(async (req, res) => completeFederatedSignIn(await open(req, res))),
  );

  const callbacks = express.Router();
  callbacks.get(`${callbackBase}/:provider/callback`, federatedPage(federationCallback(deps.federation, basePath)));
  return { interaction, callbacks };
}
