/**
 * `POST /launcher/api/launch` (CONTRACT.md): mints a single-use, five-minute EHR launch value for
 * a patient (and optionally an encounter, a practitioner, the banner flag, an intent, a
 * smart_style_url, SMART 2.1 fhirContext, and `simulate_ehr_session`: the practitioner is signed
 * in without a password, see ehr-session.ts), and returns the app's launch URL with `iss` and
 * `launch`. Open in the launcher sandbox; otherwise for an operator or a client with the
 * `launcher` scope only (launcher-access.ts).
 *
 * https://hl7.org/fhir/smart-app-launch/STU2.2/app-launch.html#launch-app-ehr-launch
 */
import express, { type Request, type Response } from 'express';
import type { FhirContextItem } from '../launch-context.js';
import type { ProviderHolder } from '../provider.js';
import type { AuthServices } from '../services.js';
import { launcherCaller, sendRefusal } from './launcher-access.js';

function problem(res: Response, status: number, description: string): void {
  res.status(status).set('cache-control', 'no-store').json({ error: 'invalid_request', error_description: description });
}

const ID = /^[A-Za-z0-9\-.]{1,64}$/;

export function launcherApi(services: AuthServices, holder: ProviderHolder, path: string): express.Router {
  const router = express.Router();
  router.post(path, express.json({ limit: '32kb' }), async (req: Request, res: Response) => {
    try {
      const caller = await launcherCaller(services, holder, req, res);
      if (caller.kind === 'refused') return sendRefusal(res, services.config.baseUrl, caller);
      const body = (req.body ?? {}) as Record<string, unknown>;
      const launchUri = typeof body.launch_uri === 'string' ? URL.parse(body.launch_uri) : null;
      if (!launchUri || !['http:', 'https:'].includes(launchUri.protocol) || launchUri.hash) {
        return problem(res, 400, 'launch_uri must be the absolute http(s) URL of the app to launch');
      }
      for (const name of ['patient', 'encounter', 'practitioner'] as const) {
        const value = body[name];
        if (value !== undefined && (typeof value !== 'string' || !ID.test(value))) return problem(res, 400, `${name} must be a FHIR id`);
      }
      if (typeof body.patient !== 'string') return problem(res, 400, 'patient (a Patient id) is required');
      if (body.need_patient_banner !== undefined && typeof body.need_patient_banner !== 'boolean') return problem(res, 400, 'need_patient_banner must be true or false');
      if (body.intent !== undefined && (typeof body.intent !== 'string' || body.intent.length > 200)) return problem(res, 400, 'intent must be a short string');
      const styleUrl = typeof body.smart_style_url === 'string' ? URL.parse(body.smart_style_url) : null;
      if (body.smart_style_url !== undefined && (!styleUrl || !['http:', 'https:'].includes(styleUrl.protocol))) return problem(res, 400, 'smart_style_url must be an absolute http(s) URL');
      if (body.simulate_ehr_session !== undefined && typeof body.simulate_ehr_session !== 'boolean') return problem(res, 400, 'simulate_ehr_session must be true or false');
      if (body.simulate_ehr_session === true) {
        if (!services.config.launcherSandbox) return problem(res, 403, 'simulated EHR sessions are turned off on this server (LAUNCHER_SANDBOX=false)');
        if (typeof body.practitioner !== 'string') return problem(res, 400, 'simulate_ehr_session needs the practitioner who is signed in to the EHR');
      }
      const fhirContext = body.fhirContext;
      if (fhirContext !== undefined && (!Array.isArray(fhirContext) || fhirContext.length > 20 || !fhirContext.every((i) => typeof i === 'object' && i !== null && !Array.isArray(i)))) {
        return problem(res, 400, 'fhirContext must be an array of objects such as {"reference": "Observation/123"}');
      }
      const references = [`Patient/${body.patient}`, ...(typeof body.encounter === 'string' ? [`Encounter/${body.encounter}`] : []), ...(typeof body.practitioner === 'string' ? [`Practitioner/${body.practitioner}`] : [])];
      for (const reference of references) {
        if (!(await services.directory.exists(reference))) return problem(res, 422, `${reference} does not exist on this server`);
      }
      const launch = await services.launches.mint({
        launchUri: launchUri.href,
        patient: body.patient,
        ...(typeof body.encounter === 'string' ? { encounter: body.encounter } : {}),
        ...(typeof body.practitioner === 'string' ? { practitioner: body.practitioner } : {}),
        needPatientBanner: body.need_patient_banner !== false,
        ...(typeof body.intent === 'string' ? { intent: body.intent } : {}),
        ...(fhirContext ? { fhirContext: fhirContext as FhirContextItem[] } : {}),
        ...(styleUrl ? { smartStyleUrl: styleUrl.href } : {}),
        ...(body.simulate_ehr_session === true ? { simulateSession: true } : {}),
      });
      const url = new URL(launchUri.href);
      url.searchParams.set('iss', services.config.fhirBaseUrl);
      url.searchParams.set('launch', launch);
      res.status(201).set('cache-control', 'no-store').json({ launch, url: url.href });
    } catch (error) {
      services.logger.error({ err: error }, 'launch API failed');
      res.status(500).json({ error: 'server_error' });
    }
  });
  return router;
}
