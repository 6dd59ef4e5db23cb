/**
 * The launcher page: choose a launch type, a context from the live FHIR data, an app, a client
 * (or register one), scopes and options; see the scope string and copy-ready settings; launch.
 * EHR launches go through `POST /launcher/api/launch` (docs/contract.md), exactly as an automated test
 * would; standalone launches open the app with `iss` only; backend services get a token here.
 */
import type { ClientSummary } from '../../../src/launcher/clients.js';
import type { PatientSummary, PractitionerSummary } from '../../../src/directory/patient-directory.js';
import { describeScope } from '../../../src/smart/describe.js';
import { coveredByAny, parseScopes } from '../../../src/smart/scopes.js';
import { byId, copyButton, fill, h } from '../common/dom.js';
import { decodeJwt } from '../common/jwt.js';
import { backendToken, registerClient, type ClientKind, type Credentials, type KeyAlgorithm } from './clients.js';
import {
  defaultChoice,
  defaultRegistrationScope,
  FIXED_SCOPES,
  OBSERVATION_CATEGORIES,
  resourceTypeChoices,
  scopeString,
  type LaunchType,
  type ScopeChoice,
  type ScopeContext,
} from './scope-builder.js';
import { settingsSnippets, type SettingsInput } from './settings.js';

interface LauncherConfig {
  fhirBaseUrl: string;
  issuer: string;
  endpoints: SettingsInput['endpoints'];
  smartConfiguration: string;
  sandbox: boolean;
  registrationRequiresToken: boolean;
  sampleApp: { clientId: string; launchUri: string; redirectUri: string };
  pages: { grants: string; connectedApps: string; audit: string; tutorial: string };
  /** Installed FHIR packages (`name#version`) and the profiles they define per resource type. */
  packages: string[];
  profiles: Record<string, string[]>;
}

/** A patient or a practitioner, as the launcher API lists them. */
type Person = PatientSummary & Pick<PractitionerSummary, 'role'>;

const state = {
  config: undefined as unknown as LauncherConfig,
  clients: [] as ClientSummary[],
  /** Credentials of clients registered on this page (kept in memory only). */
  credentials: new Map<string, Credentials>(),
  patient: '',
  practitioner: '',
};

const input = (id: string) => byId<HTMLInputElement>(id);
const select = (id: string) => byId<HTMLSelectElement>(id);
const checked = (name: string) => Array.from(document.querySelectorAll<HTMLInputElement>(`input[name="${name}"]:checked`)).map((i) => i.value);
const launchType = (): LaunchType => (checked('launchType')[0] ?? 'ehr') as LaunchType;
const usesSampleApp = () => checked('app')[0] !== 'own';

async function getJson<T>(path: string): Promise<T> {
  const response = await fetch(path, { headers: { accept: 'application/json' } });
  const body = (await response.json().catch(() => ({}))) as T & { error?: string; error_description?: string };
  if (!response.ok) throw new Error(body.error_description ?? body.error ?? `HTTP ${response.status}`);
  return body;
}

const kindOf = (client: ClientSummary): ClientKind =>
  client.token_endpoint_auth_method === 'none' ? 'public' : client.token_endpoint_auth_method === 'private_key_jwt' ? 'asymmetric' : 'symmetric';

function selectedClient(): ClientSummary | undefined {
  return state.clients.find((c) => c.client_id === select('client-select').value);
}

/* ---------- scopes ---------- */

function buildScopeControls(): void {
  fill(
    byId('fixed-scopes'),
    FIXED_SCOPES.map((scope) => h('label', { class: 'check' }, h('input', { type: 'checkbox', name: 'fixedScope', value: scope }), h('code', {}, scope))),
  );
  const profiled = state.config.profiles;
  fill(
    byId('resource-types'),
    resourceTypeChoices(Object.keys(profiled)).map((type) =>
      h(
        'label',
        { class: 'check', ...(profiled[type] ? { title: `Profiled by ${state.config.packages.join(', ')}: ${profiled[type]!.join(', ')}` } : {}) },
        h('input', { type: 'checkbox', name: 'resourceType', value: type }),
        type === '*' ? 'all types (*)' : type,
        profiled[type] ? h('small', { class: 'muted' }, ' (profiled)') : null,
      ),
    ),
  );
  if (state.config.packages.length)
    byId('resource-types').append(h('p', { class: 'muted', id: 'ig-note' }, `Implementation Guides on this server: ${state.config.packages.join(', ')}.`));
  for (const c of OBSERVATION_CATEGORIES) select('observation-category').append(h('option', { value: c.value }, c.label));
}

function readChoice(): ScopeChoice {
  return {
    fixed: checked('fixedScope'),
    context: select('scope-context').value as ScopeContext,
    version: select('scope-version').value === '1' ? 1 : 2,
    access: select('scope-access').value === 'all' ? 'all' : 'read',
    resourceTypes: checked('resourceType'),
    observationCategory: select('observation-category').value,
    extra: input('extra-scopes').value,
  };
}

function setChoice(choice: ScopeChoice): void {
  for (const box of Array.from(document.querySelectorAll<HTMLInputElement>('input[name="fixedScope"]'))) box.checked = choice.fixed.includes(box.value);
  for (const box of Array.from(document.querySelectorAll<HTMLInputElement>('input[name="resourceType"]')))
    box.checked = choice.resourceTypes.includes(box.value);
  select('scope-context').value = choice.context;
  select('scope-version').value = String(choice.version);
  select('scope-access').value = choice.access;
  select('observation-category').value = choice.observationCategory;
  input('extra-scopes').value = choice.extra;
}

/** The scope string, its problems (shared SMART parser) and what each scope allows. */
function updateScopes(): string {
  const scope = scopeString(readChoice());
  byId('scope-preview').textContent = scope || '(no scope)';
  const { scopes, errors } = parseScopes(scope);
  const problems = errors.map((e) => e.message);
  const client = selectedClient();
  const caps = client?.scope ? parseScopes(client.scope).scopes : undefined;
  const beyond = caps ? scopes.filter((s) => !coveredByAny(caps, s)).map((s) => s.raw) : [];
  if (beyond.length)
    problems.push(
      `${client!.client_id} did not register ${beyond.join(', ')}: the server will refuse the request (invalid_scope). Register a client that may ask for it.`,
    );
  if (launchType() === 'ehr' && !scopes.some((s) => s.raw === 'launch'))
    problems.push("An EHR launch normally asks for the launch scope, to receive the EHR's context.");
  fill(
    byId('scope-problems'),
    problems.map((p) => h('p', { class: 'warning' }, p)),
  );
  fill(
    byId('scope-meaning'),
    scopes.map((s) => h('li', {}, h('code', {}, s.raw), ' ', describeScope(s))),
  );
  return scope;
}

/* ---------- context ---------- */

function personLabel(p: Person): string {
  return [p.gender, p.birthDate, p.mrn ? `MRN ${p.mrn}` : '', p.role].filter(Boolean).join(' · ');
}

function renderPeople(containerId: string, name: 'patient' | 'practitioner', people: Person[], allowNone: boolean): void {
  const container = byId(containerId);
  const legend = container.querySelector('legend');
  const rows = people.map((p) =>
    h(
      'label',
      { class: 'choice compact' },
      h('input', { type: 'radio', name, value: p.id, checked: state[name] === p.id }),
      h('span', {}, h('strong', {}, p.name), h('small', {}, `${personLabel(p)} · ${name === 'patient' ? 'Patient' : 'Practitioner'}/${p.id}`)),
    ),
  );
  const none = allowNone
    ? h(
        'label',
        { class: 'choice compact' },
        h('input', { type: 'radio', name, value: '', checked: state[name] === '' }),
        h('span', {}, h('strong', {}, 'Nobody'), h('small', {}, 'Whoever signs in is the user')),
      )
    : null;
  fill(container, legend, none, rows, people.length ? null : h('p', { class: 'muted' }, 'Nobody matches.'));
}

async function searchPeople(kind: 'patient' | 'practitioner', text: string): Promise<void> {
  if (!state.config.sandbox) return;
  const people = await getJson<Person[]>(`/launcher/api/${kind}s?q=${encodeURIComponent(text)}`).catch(() => [] as Person[]);
  if (kind === 'patient' && !state.patient && people[0]) {
    state.patient = people[0].id;
    void loadEncounters();
  }
  renderPeople(`${kind}-results`, kind, people, kind === 'practitioner');
}

async function loadEncounters(): Promise<void> {
  const encounter = select('encounter');
  fill(encounter, h('option', { value: '' }, 'No encounter'));
  if (!state.patient || !state.config.sandbox) return;
  const encounters = await getJson<Array<{ id: string; label: string }>>(`/launcher/api/patients/${encodeURIComponent(state.patient)}/encounters`).catch(
    () => [],
  );
  for (const e of encounters) encounter.append(h('option', { value: e.id }, `${e.label} (Encounter/${e.id})`));
}

function debounce(work: () => void, ms = 250): () => void {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return () => {
    clearTimeout(timer);
    timer = setTimeout(work, ms);
  };
}

/**
 * Without the sandbox directory, patients and practitioners are typed as ids, and an EHR launch
 * needs an operator signed in (the launch API refuses anyone else).
 */
function useManualIds(): void {
  for (const kind of ['patient', 'practitioner'] as const) {
    const field = input(`${kind}-search`);
    field.type = 'text';
    field.labels?.[0]?.replaceChildren(kind === 'patient' ? 'Patient id' : 'Practitioner id (optional)');
    const help = byId(`${kind}-help`);
    help.textContent = 'This server does not list its data to the launcher (LAUNCHER_SANDBOX is off): type the FHIR id.';
    if (kind === 'patient')
      help.append(
        ' EHR launches need an operator: ',
        h('a', { href: state.config.pages.grants }, 'sign in on the grants page'),
        " first. The user who opens the app must be allowed to open this patient's record.",
      );
    field.addEventListener('input', () => {
      state[kind] = field.value.trim();
      refresh();
    });
    byId(`${kind}-results`).hidden = true;
  }
}

/* ---------- clients ---------- */

async function loadClients(selectId?: string): Promise<void> {
  if (state.config.sandbox) state.clients = await getJson<ClientSummary[]>('/launcher/api/clients').catch(() => state.clients);
  const box = select('client-select');
  const keep = selectId ?? box.value ?? state.config.sampleApp.clientId;
  fill(
    box,
    state.clients.map((c) =>
      h(
        'option',
        { value: c.client_id },
        `${c.client_name ?? c.client_id} (${c.client_id}) · ${kindOf(c)}${state.credentials.has(c.client_id) ? ' · registered here' : ''}`,
      ),
    ),
  );
  if (!state.clients.length) box.append(h('option', { value: state.config.sampleApp.clientId }, state.config.sampleApp.clientId));
  box.value = state.clients.some((c) => c.client_id === keep) ? keep : state.config.sampleApp.clientId;
}

function describeClient(): void {
  const client = selectedClient();
  const help = byId('client-help');
  if (!client) {
    help.textContent = '';
    return;
  }
  const notes = [
    `${kindOf(client)} client (${client.token_endpoint_auth_method}), grants: ${client.grant_types.join(', ')}`,
    client.redirect_uris.length ? `redirect URI: ${client.redirect_uris.join(', ')}` : '',
  ];
  if (usesSampleApp() && launchType() !== 'backend') {
    if (kindOf(client) !== 'public')
      notes.push('The sample app runs in the browser and can only act as a public client: pick a public client, or launch your own app.');
    else if (!client.redirect_uris.includes(state.config.sampleApp.redirectUri))
      notes.push(`The sample app needs the redirect URI ${state.config.sampleApp.redirectUri}.`);
  }
  if (launchType() === 'backend' && !client.grant_types.includes('client_credentials'))
    notes.push('This client may not use client_credentials: register a backend client below.');
  help.textContent = `${notes.filter(Boolean).join('. ')}.`;
}

async function onRegister(): Promise<void> {
  const result = byId('register-result');
  const kind = (checked('regKind')[0] ?? 'public') as ClientKind;
  const backend = launchType() === 'backend';
  fill(result, h('p', { class: 'muted' }, kind === 'asymmetric' ? 'Generating a key pair and registering…' : 'Registering…'));
  try {
    const token = input('reg-token').value.trim();
    const { client, credentials, sent } = await registerClient(state.config.endpoints.registration, {
      name: input('reg-name').value.trim() || 'My SMART app',
      kind,
      alg: select('reg-alg').value as KeyAlgorithm,
      backend,
      redirectUri: input('reg-redirect').value.trim(),
      scope: input('reg-scope').value.trim(),
      ...(token ? { initialAccessToken: token } : {}),
    });
    state.credentials.set(client.client_id, credentials);
    if (!state.config.sandbox) {
      // Without the sandbox's client list, the page lists what it registered itself (no secret).
      const { client_id, client_name, token_endpoint_auth_method, scope } = client;
      state.clients.push({
        client_id,
        client_name,
        token_endpoint_auth_method,
        scope,
        redirect_uris: client.redirect_uris ?? [],
        grant_types: client.grant_types ?? [],
        has_jwks: kind === 'asymmetric',
      });
    }
    await loadClients(client.client_id);
    const secretText = credentials.secret ?? (credentials.key ? JSON.stringify(credentials.key.privateJwk, null, 2) : undefined);
    fill(
      result,
      h('p', { class: 'success', role: 'status' }, 'Registered ', h('code', { id: 'registered-client-id' }, client.client_id), ' and selected it above.'),
      secretText
        ? [
            h(
              'p',
              {},
              credentials.secret ? 'Its client secret (shown once; keep it on your server):' : 'Its private key (JWK; shown once, never sent to Bedside):',
            ),
            h('pre', { class: 'json secret', tabindex: 0 }, secretText),
            copyButton(credentials.secret ? 'secret' : 'private key', () => secretText),
          ]
        : h('p', { class: 'muted' }, 'A public client has no secret: PKCE protects its authorization codes.'),
      h(
        'details',
        {},
        h('summary', {}, 'Registration request and response (RFC 7591)'),
        h(
          'pre',
          { class: 'json', tabindex: 0 },
          `POST ${state.config.endpoints.registration}\n${JSON.stringify(sent, null, 2)}\n\n201 Created\n${JSON.stringify({ ...client, ...(client.client_secret ? { client_secret: '(shown above)' } : {}) }, null, 2)}`,
        ),
      ),
    );
    refresh();
  } catch (error) {
    fill(result, h('p', { class: 'problem', role: 'alert' }, `Registration failed: ${error instanceof Error ? error.message : String(error)}`));
  }
}

/* ---------- settings and summary ---------- */

function launchUrl(): string {
  return usesSampleApp() ? state.config.sampleApp.launchUri : input('launch-url').value.trim();
}

function settingsInput(scope: string): SettingsInput {
  const client = selectedClient();
  return {
    fhirBaseUrl: state.config.fhirBaseUrl,
    endpoints: state.config.endpoints,
    smartConfiguration: state.config.smartConfiguration,
    clientId: client?.client_id ?? state.config.sampleApp.clientId,
    clientKind: client ? kindOf(client) : 'public',
    scope,
    redirectUri: usesSampleApp() ? state.config.sampleApp.redirectUri : (client?.redirect_uris[0] ?? '<your redirect URI>'),
    launchUrl: launchUrl() || '<your launch URL>',
    launchType: launchType(),
  };
}

function renderSettings(scope: string): void {
  fill(
    byId('settings'),
    settingsSnippets(settingsInput(scope)).map((s) =>
      h(
        'details',
        { class: 'snippet', id: `settings-${s.id}` },
        h('summary', {}, s.title),
        h('p', { class: 'help' }, s.note),
        h('pre', { class: 'code', tabindex: 0 }, s.text),
        copyButton(s.title, () => s.text),
      ),
    ),
  );
}

function summary(scope: string): string {
  const type = launchType();
  const client = select('client-select').value;
  const count = scope.split(' ').filter(Boolean).length;
  const who = type === 'ehr' ? (state.patient ? ` for Patient/${state.patient}` : ' (choose a patient)') : '';
  const what = { ehr: 'EHR launch', patient: 'Standalone patient launch', provider: 'Standalone provider launch', backend: 'Backend service token' }[type];
  const app = type === 'backend' ? '' : usesSampleApp() ? ' of the Bedside sample app' : ' of your app';
  return `${what}${app}${who}, as client ${client}, asking for ${count} scope${count === 1 ? '' : 's'}.`;
}

function refresh(): void {
  const scope = updateScopes();
  describeClient();
  renderSettings(scope);
  byId('launch-summary').textContent = summary(scope);
}

/* ---------- launch type ---------- */

function applyLaunchType(type: LaunchType): void {
  const backend = type === 'backend';
  byId('context-ehr').hidden = type !== 'ehr';
  const standalone = byId('context-standalone');
  standalone.hidden = type === 'ehr';
  standalone.textContent = {
    ehr: '',
    patient:
      'No context to choose here: the patient signs in (try amy.shaw / bedside-demo) and the app gets their own record as the patient context (launch/patient).',
    provider:
      "No context to choose here: the clinician signs in (try dr.carter / bedside-demo) and then picks a patient on Bedside's patient picker, because the app asks for launch/patient.",
    backend: 'No user and no launch context: a backend service acts on its own behalf, limited by its system/ scopes.',
  }[type];
  byId('app-panel').hidden = backend;
  byId('ehr-options').hidden = type !== 'ehr';
  byId('standalone-options').hidden = type === 'ehr' || backend;
  byId('backend-options').hidden = !backend;
  byId('reg-redirect-field').hidden = backend;
  input('reg-scope').value = defaultRegistrationScope(type);
  const kind = document.querySelector<HTMLInputElement>(`input[name="regKind"][value="${backend ? 'asymmetric' : 'public'}"]`);
  if (kind) kind.checked = true;
  byId('reg-alg-field').hidden = !backend;
  setChoice(defaultChoice(type));
  if (backend) {
    const own = [...state.credentials.keys()].reverse().find((id) => state.clients.find((c) => c.client_id === id)?.grant_types.includes('client_credentials'));
    if (own) select('client-select').value = own;
  } else if (!state.clients.find((c) => c.client_id === select('client-select').value)?.grant_types.includes('authorization_code')) {
    select('client-select').value = state.config.sampleApp.clientId;
  }
  byId('launch-button').textContent = backend ? 'Get a token' : 'Launch the app';
  fill(byId('launch-result'));
  refresh();
}

/* ---------- launching ---------- */

function appUrl(base: string, scope: string, params: Record<string, string> = {}): string {
  const url = new URL(base);
  for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
  if (usesSampleApp()) {
    const client = select('client-select').value;
    if (client !== state.config.sampleApp.clientId) url.searchParams.set('client_id', client);
    url.searchParams.set('scope', scope);
    if (launchType() !== 'ehr' && input('prompt-login').checked) url.searchParams.set('prompt', 'login');
  }
  return url.href;
}

function showLaunchProblem(message: string): void {
  fill(byId('launch-result'), h('p', { class: 'problem', role: 'alert' }, message));
}

async function launch(): Promise<void> {
  const type = launchType();
  const scope = updateScopes();
  const { errors } = parseScopes(scope);
  if (errors.length) return showLaunchProblem(`Fix the scopes first: ${errors[0]!.message}.`);
  if (type === 'backend') return getBackendToken(scope);
  const base = URL.parse(launchUrl());
  if (!base || !['http:', 'https:'].includes(base.protocol)) return showLaunchProblem("Enter the app's launch URL (an http or https URL).");
  // Opened now, while the click still counts as the user's: browsers block pop-ups opened later.
  const tab = window.open('', '_blank');
  try {
    let target: string;
    let launchLink: string;
    if (type === 'ehr') {
      if (!state.patient) throw new Error('Choose a patient: an EHR launch always has one.');
      const simulate = input('simulate-session').checked;
      if (simulate && !state.practitioner) throw new Error('Choose the practitioner who is signed in to the EHR, or uncheck "Simulate an EHR session".');
      const encounter = select('encounter').value;
      const needBanner = input('need-banner').checked;
      const body = {
        launch_uri: appUrl(base.href, scope),
        patient: state.patient,
        ...(encounter ? { encounter } : {}),
        ...(state.practitioner ? { practitioner: state.practitioner } : {}),
        need_patient_banner: needBanner,
        ...(input('intent').value.trim() ? { intent: input('intent').value.trim() } : {}),
        ...(input('smart-style-url').value.trim() ? { smart_style_url: input('smart-style-url').value.trim() } : {}),
        ...(simulate ? { simulate_ehr_session: true } : {}),
      };
      const response = await fetch('/launcher/api/launch', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      const minted = (await response.json()) as { url?: string; error_description?: string };
      if (response.status !== 201 || !minted.url) throw new Error(minted.error_description ?? `the launch API answered ${response.status}`);
      launchLink = minted.url;
      target = input('ehr-frame').checked
        ? `/launcher/ehr?${new URLSearchParams({ app: minted.url, patient: state.patient, ...(encounter ? { encounter } : {}), ...(state.practitioner ? { practitioner: state.practitioner } : {}), need_patient_banner: String(needBanner) })}`
        : minted.url;
    } else {
      launchLink = appUrl(base.href, scope, { iss: state.config.fhirBaseUrl });
      target = launchLink;
    }
    if (tab) {
      tab.location.href = new URL(target, location.href).href;
      tab.opener = null;
    }
    fill(
      byId('launch-result'),
      h(
        'p',
        { class: 'success', role: 'status' },
        tab ? 'Launched in a new tab.' : 'Your browser blocked the new tab: ',
        tab ? null : h('a', { href: target, target: '_blank', rel: 'noopener' }, 'open the app'),
      ),
      h('p', {}, 'Launch URL ', type === 'ehr' ? '(single-use, valid 5 minutes):' : '(standalone: only iss):'),
      h('pre', { class: 'code', id: 'launch-url-output', tabindex: 0 }, launchLink),
      copyButton('launch URL', () => launchLink),
    );
  } catch (error) {
    tab?.close();
    showLaunchProblem(`Could not launch: ${error instanceof Error ? error.message : String(error)}`);
  }
}

async function getBackendToken(scope: string): Promise<void> {
  const clientId = select('client-select').value;
  const credentials = state.credentials.get(clientId);
  if (!credentials) {
    return showLaunchProblem(
      `The launcher does not hold the credentials of ${clientId}. Register a backend client (step 4: asymmetric or symmetric) and try again, or use the curl settings with your own key.`,
    );
  }
  try {
    const token = await backendToken(credentials, state.config.endpoints.token, scope);
    const decoded = decodeJwt(String(token.access_token));
    fill(
      byId('launch-result'),
      h('p', { class: 'success', role: 'status' }, `Token received for ${clientId}.`),
      h(
        'pre',
        { class: 'json', id: 'backend-token', tabindex: 0 },
        JSON.stringify({ ...token, access_token: `${String(token.access_token).slice(0, 24)}…` }, null, 2),
      ),
      decoded ? [h('p', {}, "The access token's claims:"), h('pre', { class: 'json', tabindex: 0 }, JSON.stringify(decoded.payload, null, 2))] : null,
      h('p', {}, 'Try it:'),
      h('pre', { class: 'code', tabindex: 0 }, `curl -H "Authorization: Bearer ${String(token.access_token)}" '${state.config.fhirBaseUrl}/Patient?_count=5'`),
    );
  } catch (error) {
    showLaunchProblem(`The token request failed: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/* ---------- start ---------- */

function wire(): void {
  const form = byId<HTMLFormElement>('launcher');
  form.addEventListener('submit', (event) => event.preventDefault());
  for (const radio of Array.from(document.querySelectorAll<HTMLInputElement>('input[name="launchType"]')))
    radio.addEventListener('change', () => applyLaunchType(launchType()));
  for (const radio of Array.from(document.querySelectorAll<HTMLInputElement>('input[name="app"]'))) {
    radio.addEventListener('change', () => {
      const field = input('launch-url');
      field.readOnly = usesSampleApp();
      field.value = usesSampleApp() ? state.config.sampleApp.launchUri : '';
      field.placeholder = usesSampleApp() ? '' : 'https://my-app.example/launch';
      if (!usesSampleApp()) field.focus();
      refresh();
    });
  }
  for (const id of ['scope-context', 'scope-version', 'scope-access', 'observation-category', 'client-select', 'encounter'])
    select(id).addEventListener('change', refresh);
  for (const id of ['extra-scopes', 'launch-url']) input(id).addEventListener('input', refresh);
  byId('fixed-scopes').addEventListener('change', refresh);
  byId('resource-types').addEventListener('change', refresh);
  byId('patient-results').addEventListener('change', (event) => {
    state.patient = (event.target as HTMLInputElement).value;
    void loadEncounters();
    refresh();
  });
  byId('practitioner-results').addEventListener('change', (event) => {
    state.practitioner = (event.target as HTMLInputElement).value;
    refresh();
  });
  if (state.config.sandbox) {
    input('patient-search').addEventListener(
      'input',
      debounce(() => void searchPeople('patient', input('patient-search').value)),
    );
    input('practitioner-search').addEventListener(
      'input',
      debounce(() => void searchPeople('practitioner', input('practitioner-search').value)),
    );
  }
  input('ehr-frame').addEventListener('change', () => (input('need-banner').checked = !input('ehr-frame').checked));
  for (const radio of Array.from(document.querySelectorAll<HTMLInputElement>('input[name="regKind"]')))
    radio.addEventListener('change', () => (byId('reg-alg-field').hidden = checked('regKind')[0] !== 'asymmetric'));
  byId('register-button').addEventListener('click', () => void onRegister());
  byId('launch-button').addEventListener('click', () => void launch());
}

async function main(): Promise<void> {
  state.config = await getJson<LauncherConfig>('/launcher/api/config');
  buildScopeControls();
  input('launch-url').value = state.config.sampleApp.launchUri;
  input('launch-url').readOnly = true;
  input('reg-redirect').value = state.config.sampleApp.redirectUri;
  byId('reg-token-field').hidden = !state.config.registrationRequiresToken;
  if (!state.config.sandbox) {
    useManualIds();
    input('simulate-session').disabled = true;
    input('simulate-session').closest('label')?.querySelector('small')?.append(' (Turned off on this server: LAUNCHER_SANDBOX.)');
  }
  wire();
  await Promise.all([loadClients(state.config.sampleApp.clientId), searchPeople('patient', ''), searchPeople('practitioner', '')]);
  applyLaunchType(launchType());
  document.body.dataset.state = 'ready';
}

main().catch((error: unknown) => {
  document.body.dataset.state = 'problem';
  byId('main').prepend(h('p', { class: 'problem', role: 'alert' }, `The launcher could not start: ${error instanceof Error ? error.message : String(error)}`));
});
