/**
 * The consent step: which of the requested scopes the user grants (all checked by default;
 * category sub-scopes offered for Observation and Condition; other APIs' scopes named by
 * `resource`), saved as a grant of its own with the launch context beside it. An EHR launch for a
 * patient the user may not open ends here, before anything is consented to; first-party clients
 * are approved without a page.
 *
 * https://hl7.org/fhir/smart-app-launch/STU2.2/scopes-and-launch-context.html
 */
import { patientIdOf, type StoredAccount } from '../../accounts/account-store.js';
import { ContextRefused, notTheirPatient, resolveGrantContext } from '../../launch/grant-context.js';
import { grantedResourceScopes, offerResourceScopes } from './resource-scope-offer.js';
import { FIRST_PARTY_CLIENTS } from '../../provider/hooks/interaction-policy.js';
import { consentPage } from '../views/consent.js';
import { field, fields, type SignIn } from './flow.js';
import { grantedScopes, offerScopes, saveGrant } from './scope-offer.js';

export async function showConsent(flow: SignIn, account: StoredAccount): Promise<void> {
  const { deps, interaction } = flow;
  const { params } = interaction;
  const patients = flow.patients(account);
  const launch = typeof params.launch === 'string' ? await deps.launches.peek(params.launch) : undefined;
  if (launch && !(await patients.patient(launch.patient))) return flow.refuse('access_denied', notTheirPatient(account));
  const offer = offerScopes(String(params.scope ?? ''));
  if (FIRST_PARTY_CLIENTS.has(String(params.client_id)))
    return approve(
      flow,
      account,
      offer.requested.map((s) => s.raw),
    );
  const otherApis = await offerResourceScopes(deps.resourceServers, deps.settings.fhirBaseUrl, params);
  const patientId = launch?.patient ?? patientIdOf(account) ?? flow.selection.patient;
  const patient = patientId ? await patients.patient(patientId) : undefined;
  const encounter = launch?.encounter ?? (flow.selection.encounter || undefined);
  const client = await flow.client();
  flow.sendPage(
    200,
    consentPage({
      action: flow.url('consent'),
      clientName: client.name,
      ...(client.uri ? { clientUri: client.uri } : {}),
      userName: account.username,
      ...(patientId ? { patientName: patient?.name ?? `Patient/${patientId}` } : {}),
      ...(encounter ? { encounter: `Encounter/${encounter}` } : {}),
      scopes: [...offer.view, ...otherApis.flatMap((o) => o.view)],
      launchType: launch ? 'ehr' : 'standalone',
    }),
  );
}

/** Saves a grant of exactly the submitted scopes (of those offered), with its launch context, and resumes the authorization. */
async function approve(flow: SignIn, account: StoredAccount, submitted: string[]): Promise<void> {
  const { deps, interaction } = flow;
  const { params } = interaction;
  const granted = grantedScopes(offerScopes(String(params.scope ?? '')), submitted);
  let context;
  try {
    context = await resolveGrantContext({
      launches: deps.launches,
      smartStyleUrl: deps.smartStyleUrl,
      account,
      launch: typeof params.launch === 'string' ? params.launch : undefined,
      granted: new Set(granted.map((s) => s.raw)),
      selection: flow.selection,
      patients: flow.patients(account),
    });
  } catch (error) {
    if (!(error instanceof ContextRefused)) throw error;
    return flow.refuse(error.error, error.description);
  }
  const otherResources = grantedResourceScopes(await offerResourceScopes(deps.resourceServers, deps.settings.fhirBaseUrl, params), submitted);
  const grantId = await saveGrant(deps.holder.provider, {
    accountId: account.id,
    clientId: String(params.client_id),
    fhirBaseUrl: deps.settings.fhirBaseUrl,
    granted,
    otherResources,
  });
  await deps.launches.saveForGrant(grantId, context, Date.now() + deps.settings.refreshTokenTtlSeconds * 1000);
  // The request continues with exactly the granted scopes (a subset, or category sub-scopes).
  interaction.params.scope = [...granted.map((s) => s.raw), ...otherResources.flatMap((o) => o.scopes)].join(' ');
  interaction.result = { ...interaction.lastSubmission, consent: { grantId } };
  await interaction.persist();
  flow.res.status(303).set({ location: interaction.returnTo, 'content-length': '0' }).end();
}

export async function submitConsent(flow: SignIn): Promise<void> {
  if (flow.interaction.prompt.name !== 'consent') return flow.show(flow);
  if (field(flow.req.body, 'decision') !== 'approve') return flow.refuse('access_denied', 'The user denied the authorization request.');
  return approve(flow, await flow.requireAccount(), fields(flow.req.body, 'scope'));
}
