/**
 * The Bedside sample SMART app. One page, three moments:
 * - `/sample-app/launch?iss=...[&launch=...]`: start the SMART launch (oauth.ts);
 * - `/sample-app/?code=...&state=...` (or `?error=...`): finish it, keep the token response;
 * - `/sample-app/`: show the patient's data read with the token, and the token inspector.
 * Every failure ends as a message on the page (never a blank screen); `body[data-state]` says
 * where the page is (`launching`, `ready`, `problem`) for people and for the browser tests.
 */
import type { AllergyIntolerance, Condition, Immunization, MedicationRequest, Observation, Patient } from 'fhir/r4';
import type { Client } from 'fhir-kit-client';
import { byId, fill, h } from '../common/dom.js';
import { humanName } from '../common/fhir-format.js';
import { decodeJwt } from '../common/jwt.js';
import { vitalCharts } from './chart.js';
import { fhirClient, readResource, searchPatientRecords, SECTIONS, type ReadResult, type SectionName } from './data.js';
import { expiryText, inspector, profilesOf, secondsLeft } from './inspector.js';
import { AppProblem, completeLaunch, refreshSession, startLaunch } from './oauth.js';
import { allergyList, conditionList, immunizationList, medicationList, patientBanner } from './records.js';
import { loadSession, type AppSession } from './session.js';

function setState(state: 'launching' | 'loading' | 'ready' | 'problem'): void {
  document.body.dataset.state = state;
}

function status(text: string): void {
  const element = byId('status');
  element.hidden = false;
  element.textContent = text;
}

function showProblem(error: unknown): void {
  const problem = error instanceof AppProblem ? error : new AppProblem('Something went wrong', error instanceof Error ? error.message : String(error));
  const box = byId('problem');
  box.hidden = false;
  box.dataset.code = problem.code ?? 'error';
  fill(
    box,
    h('h2', {}, problem.title),
    h('p', {}, problem.detail),
    problem.hint ? h('p', {}, problem.hint) : null,
    h('p', {}, h('a', { href: '/' }, 'Back to the Bedside launcher')),
  );
  byId('status').hidden = true;
  box.scrollIntoView({ block: 'end', behavior: 'instant' });
  setState('problem');
}

/** The patient the app works on: the launch context, or the signed-in patient user. */
function patientOf(session: AppSession): string | undefined {
  if (session.token.patient) return session.token.patient;
  const fhirUser = decodeJwt(session.token.id_token)?.payload.fhirUser;
  return typeof fhirUser === 'string' ? /\/Patient\/([^/]+)$/.exec(fhirUser)?.[1] : undefined;
}

/** Adopts the EHR's colours and fonts from smart_style_url (SMART styling), when it can be read. */
async function applyStyle(styleUrl: string | undefined): Promise<void> {
  if (!styleUrl) return;
  try {
    const style = (await (await fetch(styleUrl)).json()) as Record<string, unknown>;
    const map: Record<string, string> = {
      color_highlight: '--accent',
      color_background: '--bg',
      color_text: '--ink',
      color_error: '--danger',
      color_success: '--ok',
      font_family_body: '--font',
    };
    for (const [key, variable] of Object.entries(map)) {
      const value = style[key];
      if (typeof value === 'string' && value && (key.startsWith('font') || CSS.supports('color', value)))
        document.documentElement.style.setProperty(variable, value);
    }
  } catch {
    // Styling is optional: the app keeps its own look.
  }
}

function failure(result: Extract<ReadResult<unknown>, { ok: false }>): HTMLElement {
  return h(
    'div',
    { class: result.kind === 'not-granted' ? 'denied' : 'error', 'data-status': result.status, role: 'note' },
    h('p', {}, result.message),
    result.neededScope ? h('p', { class: 'muted' }, 'It would need one of: ', h('code', {}, result.neededScope)) : null,
  );
}

const RENDER = {
  vitals: (r: Observation[]) => (r.length ? vitalCharts(r) : [h('p', { class: 'muted' }, 'No vital signs recorded.')]),
  conditions: (r: Condition[]) => [conditionList(r)],
  medications: (r: MedicationRequest[]) => [medicationList(r)],
  allergies: (r: AllergyIntolerance[]) => [allergyList(r)],
  immunizations: (r: Immunization[]) => [immunizationList(r)],
} satisfies Record<SectionName, (resources: never[]) => HTMLElement[]>;

async function readBanner(client: Client, session: AppSession, patientId: string): Promise<ReadResult<Patient>> {
  const banner = byId('banner');
  const result = await readResource<Patient>(client, 'Patient', patientId);
  if (session.token.need_patient_banner === false) {
    banner.hidden = false;
    banner.classList.add('banner-hidden-note');
    fill(banner, h('p', { class: 'muted' }, 'The EHR shows the patient banner around this app (need_patient_banner is false), so the app does not repeat it.'));
    return result;
  }
  banner.hidden = false;
  banner.classList.remove('banner-hidden-note');
  fill(banner, ...(result.ok ? patientBanner(result.resources[0]!) : [h('h2', { class: 'banner-name' }, `Patient/${patientId}`), failure(result)]));
  return result;
}

/** Reads everything with the current token and shows it. */
async function readAll(session: AppSession): Promise<void> {
  setState('loading');
  const client = fhirClient(session.iss, session.token.access_token);
  const patientId = patientOf(session);
  if (!patientId) {
    status('No patient in context: ask for launch/patient (standalone launch) or launch (EHR launch) to choose one.');
    byId('records').hidden = true;
    setState('ready');
    return;
  }
  byId('records').hidden = false;
  const names = Object.keys(SECTIONS) as SectionName[];
  const [patient, ...results] = await Promise.all([
    readBanner(client, session, patientId),
    ...names.map((name) => searchPatientRecords(client, name, patientId)),
  ]);
  names.forEach((name, i) => {
    const result = results[i]!;
    fill(byId(name), ...(result.ok ? RENDER[name](result.resources as never[]) : [failure(result)]));
  });
  const refused = [patient, ...results].some((r) => !r.ok && r.kind === 'token-refused');
  const denied = names.filter((_, i) => !results[i]!.ok && (results[i] as { kind: string }).kind === 'not-granted').map((n) => SECTIONS[n].label);
  const who = patient.ok ? humanName(patient.resources[0]!.name) : `Patient/${patientId}`;
  const time = new Date().toLocaleTimeString();
  if (refused) {
    const alert = byId('problem');
    const wasHidden = alert.hidden;
    alert.hidden = false;
    alert.dataset.code = 'token_refused';
    fill(
      alert,
      h('h2', {}, 'Access refused'),
      h('p', {}, 'The FHIR server refused the access token (401). Its grant was revoked (for example on the grants page) or it expired.'),
      h('p', {}, 'Try "Refresh the access token"; if that fails too, launch the app again from ', h('a', { href: '/' }, 'the launcher'), '.'),
    );
    if (wasHidden) alert.scrollIntoView({ block: 'end', behavior: 'instant' });
  } else {
    byId('problem').hidden = true;
  }
  status(`${refused ? 'Could not read' : 'Showing'} the record of ${who}, read at ${time}${denied.length ? ` · not granted: ${denied.join(', ')}` : ''}.`);
  setState('ready');
}

/** The server's profiles per type, from its public CapabilityStatement (read once). */
let serverProfiles: Promise<Record<string, string[]> | undefined> | undefined;
function profilesFor(session: AppSession): Promise<Record<string, string[]> | undefined> {
  serverProfiles ??= fetch(`${session.iss}/metadata`, { headers: { accept: 'application/fhir+json' } })
    .then(async (r) => (r.ok ? profilesOf((await r.json()) as Parameters<typeof profilesOf>[0]) : undefined))
    .catch(() => undefined);
  return serverProfiles;
}

function showInspector(session: AppSession): void {
  fill(byId('inspector'), ...inspector(session));
  void profilesFor(session).then((profiles) => {
    if (profiles) fill(byId('inspector'), ...inspector(session, profiles));
  });
  const refresh = byId<HTMLButtonElement>('refresh');
  refresh.disabled = !session.token.refresh_token;
  byId('refresh-help').textContent = session.token.refresh_token
    ? 'Trades the refresh token for a new access token (no sign-in).'
    : 'No refresh token: ask for offline_access or online_access to get one.';
}

function startCountdown(current: () => AppSession): void {
  const tick = () => (byId('expiry').textContent = expiryText(secondsLeft(current())));
  tick();
  setInterval(tick, 1000);
}

async function show(initial: AppSession): Promise<void> {
  let session = initial;
  byId('content').hidden = false;
  void applyStyle(session.token.smart_style_url);
  showInspector(session);
  startCountdown(() => session);
  byId('reload').addEventListener('click', () => void readAll(session).catch(showProblem));
  byId('refresh').addEventListener('click', async () => {
    try {
      session = await refreshSession(session);
      showInspector(session);
      status(`New access token received at ${new Date().toLocaleTimeString()}.`);
      await readAll(session);
    } catch (error) {
      showProblem(error);
    }
  });
  await readAll(session);
}

async function main(): Promise<void> {
  const url = new URL(location.href);
  try {
    if (url.pathname.endsWith('/launch')) {
      setState('launching');
      status('Connecting to the FHIR server…');
      await startLaunch(url);
      return;
    }
    let session: AppSession | undefined;
    if (url.searchParams.has('code') || url.searchParams.has('error')) {
      status('Finishing sign-in…');
      session = await completeLaunch(url);
    } else {
      session = loadSession();
    }
    if (!session)
      throw new AppProblem(
        'Not launched yet',
        'This app starts with a SMART launch: it has no access token yet.',
        'Open it from the Bedside launcher.',
        'not_launched',
      );
    await show(session);
  } catch (error) {
    showProblem(error);
  }
}

void main();
