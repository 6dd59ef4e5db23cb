/**
 * The token inspector: what the app received and what it means. The decoded access token and
 * id_token (decoded, not verified: the FHIR server verifies), the scopes asked for versus those
 * granted, the launch context that came with the token, and the access token's remaining life.
 */
import { describeScope } from '../../../src/smart/describe.js';
import { parseScopes } from '../../../src/smart/scopes.js';
import { copyButton, h } from '../common/dom.js';
import { decodeJwt } from '../common/jwt.js';
import type { AppSession } from './session.js';

/** Token response members that are launch context, in SMART's order. */
const CONTEXT_KEYS = ['patient', 'encounter', 'need_patient_banner', 'smart_style_url', 'intent', 'fhirContext', 'tenant'] as const;

function json(value: unknown): HTMLElement {
  return h('pre', { class: 'json', tabindex: 0 }, JSON.stringify(value, null, 2));
}

/** Seconds until the access token expires (negative once expired). */
export function secondsLeft(session: AppSession, now = Date.now()): number | undefined {
  const exp = decodeJwt(session.token.access_token)?.payload.exp;
  if (typeof exp === 'number') return Math.round(exp - now / 1000);
  return session.token.expires_in === undefined ? undefined : Math.round((session.receivedAt + session.token.expires_in * 1000 - now) / 1000);
}

export function expiryText(seconds: number | undefined): string {
  if (seconds === undefined) return 'The token response did not say when the access token expires.';
  if (seconds <= 0) return 'The access token has expired: refresh it, or launch again.';
  const m = Math.floor(seconds / 60);
  const s = String(seconds % 60).padStart(2, '0');
  return `The access token expires in ${m}:${s}.`;
}

/** Requested, granted, denied and narrowed scopes, one row each. */
export function scopeRows(requested: string, granted: string): Array<{ scope: string; requested: boolean; granted: boolean; meaning: string }> {
  const asked = parseScopes(requested).scopes;
  const got = parseScopes(granted).scopes;
  const all = [...asked, ...got.filter((g) => !asked.some((a) => a.raw === g.raw))];
  return all.map((s) => ({
    scope: s.raw,
    requested: asked.some((a) => a.raw === s.raw),
    granted: got.some((g) => g.raw === s.raw),
    meaning: describeScope(s),
  }));
}

/**
 * The resource types the granted scopes reach, each with the profiles the server supports for it
 * (CapabilityStatement `supportedProfile`, e.g. US Core's). `*` scopes reach every profiled type.
 */
export function grantedProfiles(granted: string, profiles: Readonly<Record<string, string[]>>): Array<{ type: string; profiles: string[] }> {
  const types = new Set<string>();
  for (const scope of parseScopes(granted).scopes) {
    if (scope.kind !== 'resource') continue;
    if (scope.resourceType === '*') for (const t of Object.keys(profiles)) types.add(t);
    else types.add(scope.resourceType);
  }
  return [...types].sort().map((type) => ({ type, profiles: profiles[type] ?? [] }));
}

/** Profiles per resource type from a CapabilityStatement (empty when it names none). */
export function profilesOf(capability: { rest?: Array<{ resource?: Array<{ type: string; supportedProfile?: string[] }> }> }): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const r of capability.rest?.[0]?.resource ?? []) if (r.supportedProfile?.length) out[r.type] = r.supportedProfile;
  return out;
}

function profileSection(session: AppSession, profiles: Readonly<Record<string, string[]>> | undefined): HTMLElement {
  const rows = profiles ? grantedProfiles(session.token.scope ?? '', profiles) : [];
  const any = rows.some((r) => r.profiles.length > 0);
  return h(
    'section',
    { 'aria-labelledby': 'profiles-h' },
    h('h3', { id: 'profiles-h' }, 'Granted types and their profiles'),
    h(
      'p',
      { class: 'muted' },
      any
        ? "The profiles the server supports for each type the token may read (its CapabilityStatement's supportedProfile): the shape the data is promised to have, e.g. US Core's."
        : 'The server names no profiles beyond base FHIR R4 for the granted types (no Implementation Guide such as US Core is loaded).',
    ),
    rows.length
      ? h(
          'table',
          { id: 'profile-table' },
          h(
            'tbody',
            {},
            rows.map((r) =>
              h(
                'tr',
                {},
                h('th', { scope: 'row' }, r.type),
                h(
                  'td',
                  {},
                  r.profiles.length
                    ? r.profiles.map((url) =>
                        h('div', {}, h('a', { href: url, target: '_blank', rel: 'noopener' }, url.replace(/^.*\/StructureDefinition\//, ''))),
                      )
                    : h('span', { class: 'muted' }, 'base R4'),
                ),
              ),
            ),
          ),
        )
      : h('p', {}, 'No resource scopes were granted.'),
  );
}

export function inspector(session: AppSession, profiles?: Readonly<Record<string, string[]>>): HTMLElement[] {
  const { token } = session;
  const access = decodeJwt(token.access_token);
  const id = decodeJwt(token.id_token);
  const rows = scopeRows(session.requestedScope, token.scope ?? '');
  const denied = rows.filter((r) => r.requested && !r.granted);
  const context = CONTEXT_KEYS.filter((k) => token[k] !== undefined).map((k) => [k, token[k]] as const);
  const shortened = Object.fromEntries(
    Object.entries(token).map(([k, v]) => [k, typeof v === 'string' && /token$/.test(k) && v.length > 40 ? `${v.slice(0, 24)}…(${v.length} characters)` : v]),
  );
  return [
    h(
      'section',
      { 'aria-labelledby': 'scopes-h' },
      h('h3', { id: 'scopes-h' }, 'Scopes: asked for and granted'),
      denied.length
        ? h(
            'p',
            { class: 'warning', id: 'denied-summary' },
            `Not granted: ${denied.map((d) => d.scope).join(', ')}. The user unchecked ${denied.length === 1 ? 'it' : 'them'} on the consent page (or the client may not ask for ${denied.length === 1 ? 'it' : 'them'}); the FHIR server answers 403 for what ${denied.length === 1 ? 'it' : 'they'} would allow.`,
          )
        : h('p', { class: 'muted' }, 'Everything the app asked for was granted.'),
      h(
        'table',
        { id: 'scope-table' },
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            h('th', { scope: 'col' }, 'Scope'),
            h('th', { scope: 'col' }, 'Asked'),
            h('th', { scope: 'col' }, 'Granted'),
            h('th', { scope: 'col' }, 'What it allows'),
          ),
        ),
        h(
          'tbody',
          {},
          rows.map((r) =>
            h(
              'tr',
              { class: r.requested && !r.granted ? 'row-denied' : '' },
              h('td', {}, h('code', {}, r.scope)),
              h('td', {}, r.requested ? 'yes' : 'no'),
              h('td', {}, r.granted ? 'yes' : h('strong', {}, 'denied')),
              h('td', {}, r.meaning),
            ),
          ),
        ),
      ),
    ),
    profileSection(session, profiles),
    h(
      'section',
      { 'aria-labelledby': 'context-h' },
      h('h3', { id: 'context-h' }, 'Launch context'),
      h(
        'p',
        { class: 'muted' },
        session.launchType === 'ehr'
          ? 'EHR launch: the EHR chose this context and the token response carries it.'
          : "Standalone launch: the context was chosen on Bedside's pages (patient picker) or is the patient user's own record.",
      ),
      context.length
        ? h(
            'table',
            { id: 'context-table' },
            h(
              'tbody',
              {},
              context.map(([k, v]) => h('tr', {}, h('th', { scope: 'row' }, h('code', {}, k)), h('td', {}, typeof v === 'string' ? v : JSON.stringify(v)))),
            ),
          )
        : h('p', {}, 'No launch context came with the token.'),
      h('p', {}, 'Client ', h('code', {}, session.clientId), ' · FHIR server ', h('code', {}, session.iss)),
    ),
    h(
      'section',
      { 'aria-labelledby': 'at-h' },
      h('h3', { id: 'at-h' }, 'Access token'),
      access
        ? [
            h(
              'p',
              { class: 'muted' },
              'A JWT signed by the authorization server; the app sends it as "Authorization: Bearer ..." on every FHIR request. Decoded here, not verified: the FHIR server checks its signature, issuer, audience, expiry and grant itself.',
            ),
            copyButton('access token', () => token.access_token),
            h('h4', {}, 'Header'),
            json(access.header),
            h('h4', {}, 'Claims'),
            json(access.payload),
          ]
        : h('p', {}, 'An opaque token (not a JWT).'),
    ),
    h(
      'section',
      { 'aria-labelledby': 'id-h' },
      h('h3', { id: 'id-h' }, 'id_token (who signed in)'),
      id
        ? [
            h('p', { class: 'muted' }, 'OpenID Connect: tells the app who the user is (fhirUser). It is not sent to the FHIR server.'),
            h('h4', {}, 'Header'),
            json(id.header),
            h('h4', {}, 'Claims'),
            json(id.payload),
          ]
        : h('p', {}, 'No id_token: the app did not ask for openid (or it was not granted).'),
    ),
    h('details', {}, h('summary', {}, 'The whole token response (tokens shortened)'), json(shortened)),
  ];
}
