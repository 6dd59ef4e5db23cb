/**
 * `POST /launcher/api/launch` (docs/contract.md): mints a single-use, five-minute EHR launch value for
 * a patient (and optionally an encounter, a practitioner, the banner flag, an intent, a
 * smart_style_url, SMART 2.1 fhirContext, and `simulate_ehr_session`: the practitioner is signed
 * in without a password, see ehr-session.ts), and returns the app's launch URL with `iss` and
 * `launch`. Open in the launcher sandbox; otherwise for an operator or a client with the
 * `launcher` scope only (access.ts).
 *
 * https://hl7.org/fhir/smart-app-launch/STU2.2/app-launch.html#launch-app-ehr-launch
 */
import express, { type Request, type Response } from 'express';
import type { PatientDirectory } from '../../directory/patient-directory.js';
import type { Logger } from '../../log.js';
import { sendRefusal, type LauncherCaller, type LauncherRefusal } from './access.js';
import type { EhrLaunch, FhirContextItem, LaunchContexts } from './contexts.js';

export interface LauncherApiDependencies {
  /** Who is calling (access.ts); a refusal is sent as it is. */
  caller(req: Request, res: Response): Promise<LauncherCaller | LauncherRefusal>;
  launches: Pick<LaunchContexts, 'mint'>;
  /** Whether the launch's patient, encounter and practitioner exist. */
  directory: Pick<PatientDirectory, 'exists'>;
  /** LAUNCHER_SANDBOX: simulated EHR sessions are allowed. */
  sandbox: boolean;
  baseUrl: string;
  /** The app's `iss`. */
  fhirBaseUrl: string;
  logger: Logger;
}

/** A request's mistake, answered 400 (or as given) with `invalid_request`. */
class LaunchRequestError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const ID = /^[A-Za-z0-9\-.]{1,64}$/;

/** The launch a request body asks for, checked field by field; throws LaunchRequestError. */
function launchOf(body: Record<string, unknown>, sandbox: boolean): Omit<EhrLaunch, 'createdAt'> {
  const problem = (message: string, status = 400) => new LaunchRequestError(status, message);
  const launchUri = typeof body.launch_uri === 'string' ? URL.parse(body.launch_uri) : null;
  if (!launchUri || !['http:', 'https:'].includes(launchUri.protocol) || launchUri.hash)
    throw problem('launch_uri must be the absolute http(s) URL of the app to launch');
  for (const name of ['patient', 'encounter', 'practitioner'] as const) {
    const value = body[name];
    if (value !== undefined && (typeof value !== 'string' || !ID.test(value))) throw problem(`${name} must be a FHIR id`);
  }
  if (typeof body.patient !== 'string') throw problem('patient (a Patient id) is required');
  if (body.need_patient_banner !== undefined && typeof body.need_patient_banner !== 'boolean') throw problem('need_patient_banner must be true or false');
  if (body.intent !== undefined && (typeof body.intent !== 'string' || body.intent.length > 200)) throw problem('intent must be a short string');
  const styleUrl = typeof body.smart_style_url === 'string' ? URL.parse(body.smart_style_url) : null;
  if (body.smart_style_url !== undefined && (!styleUrl || !['http:', 'https:'].includes(styleUrl.protocol)))
    throw problem('smart_style_url must be an absolute http(s) URL');
  if (body.simulate_ehr_session !== undefined && typeof body.simulate_ehr_session !== 'boolean') throw problem('simulate_ehr_session must be true or false');
  if (body.simulate_ehr_session === true) {
    if (!sandbox) throw problem('simulated EHR sessions are turned off on this server (LAUNCHER_SANDBOX=false)', 403);
    if (typeof body.practitioner !== 'string') throw problem('simulate_ehr_session needs the practitioner who is signed in to the EHR');
  }
  const fhirContext = body.fhirContext;
  if (
    fhirContext !== undefined &&
    (!Array.isArray(fhirContext) || fhirContext.length > 20 || !fhirContext.every((i) => typeof i === 'object' && i !== null && !Array.isArray(i)))
  ) {
    throw problem('fhirContext must be an array of objects such as {"reference": "Observation/123"}');
  }
  return {
    launchUri: launchUri.href,
    patient: body.patient,
    ...(typeof body.encounter === 'string' ? { encounter: body.encounter } : {}),
    ...(typeof body.practitioner === 'string' ? { practitioner: body.practitioner } : {}),
    needPatientBanner: body.need_patient_banner !== false,
    ...(typeof body.intent === 'string' ? { intent: body.intent } : {}),
    ...(fhirContext ? { fhirContext: fhirContext as FhirContextItem[] } : {}),
    ...(styleUrl ? { smartStyleUrl: styleUrl.href } : {}),
    ...(body.simulate_ehr_session === true ? { simulateSession: true } : {}),
  };
}

/** Every resource the launch names must exist (422 otherwise). */
async function checkReferences(launch: Omit<EhrLaunch, 'createdAt'>, directory: Pick<PatientDirectory, 'exists'>): Promise<void> {
  const references = [
    `Patient/${launch.patient}`,
    ...(launch.encounter ? [`Encounter/${launch.encounter}`] : []),
    ...(launch.practitioner ? [`Practitioner/${launch.practitioner}`] : []),
  ];
  for (const reference of references) {
    if (!(await directory.exists(reference))) throw new LaunchRequestError(422, `${reference} does not exist on this server`);
  }
}

export function launcherApi(deps: LauncherApiDependencies, path: string): express.Router {
  const router = express.Router();
  router.post(path, express.json({ limit: '32kb' }), async (req: Request, res: Response) => {
    try {
      const caller = await deps.caller(req, res);
      if (caller.kind === 'refused') return sendRefusal(res, deps.baseUrl, caller);
      const launch = launchOf((req.body ?? {}) as Record<string, unknown>, deps.sandbox);
      await checkReferences(launch, deps.directory);
      const value = await deps.launches.mint(launch);
      const url = new URL(launch.launchUri);
      url.searchParams.set('iss', deps.fhirBaseUrl);
      url.searchParams.set('launch', value);
      res.status(201).set('cache-control', 'no-store').json({ launch: value, url: url.href });
    } catch (error) {
      if (error instanceof LaunchRequestError) {
        return void res.status(error.status).set('cache-control', 'no-store').json({ error: 'invalid_request', error_description: error.message });
      }
      deps.logger.error({ err: error }, 'launch API failed');
      res.status(500).json({ error: 'server_error' });
    }
  });
  return router;
}
