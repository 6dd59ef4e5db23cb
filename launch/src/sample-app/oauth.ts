/**
 * The SMART App Launch, done by the sample app itself in the browser: discovery with
 * fhir-kit-client (`smartAuthMetadata`), the authorization request with PKCE (S256), the code
 * exchange and refresh at the token endpoint (a public client: no secret, the PKCE verifier
 * proves the code is ours).
 *
 * https://hl7.org/fhir/smart-app-launch/STU2.2/app-launch.html
 */
import { Client } from 'fhir-kit-client';
import { pkcePair, randomString } from '../common/jwt.js';
import { savePending, saveSession, takePending, type AppSession, type TokenResponse } from './session.js';

export const DEFAULT_CLIENT_ID = 'bedside-sample-app';
/** What the app reads, patient by patient. */
const DATA_SCOPES = ['Patient', 'Observation', 'Condition', 'MedicationRequest', 'AllergyIntolerance', 'Immunization'].map((t) => `patient/${t}.rs`);
export const DEFAULT_STANDALONE_SCOPE = ['openid', 'fhirUser', 'launch/patient', ...DATA_SCOPES, 'offline_access'].join(' ');
export const DEFAULT_EHR_SCOPE = ['openid', 'fhirUser', 'launch', ...DATA_SCOPES, 'offline_access'].join(' ');

/** A problem to show the user instead of a blank screen. */
export class AppProblem extends Error {
  constructor(
    readonly title: string,
    readonly detail: string,
    readonly hint?: string,
    readonly code?: string,
  ) {
    super(`${title}: ${detail}`);
  }
}

function httpUrl(value: string | null): URL | undefined {
  const url = value ? URL.parse(value) : null;
  return url && (url.protocol === 'https:' || url.protocol === 'http:') ? url : undefined;
}

/**
 * `/sample-app/launch?iss=...&launch=...`: discovers the authorization server and sends the
 * browser to it. Besides SMART's `iss` and `launch`, the Bedside launcher may pass `client_id`,
 * `scope` and `prompt` so one sample app can play any registered public client.
 */
export async function startLaunch(url: URL): Promise<never> {
  const iss = httpUrl(url.searchParams.get('iss'));
  if (!iss) {
    throw new AppProblem(
      'Not launched',
      "This is the app's launch URL: it needs ?iss= (the FHIR server) and, from an EHR, &launch=.",
      'Open the app from the Bedside launcher.',
      'no_iss',
    );
  }
  const launch = url.searchParams.get('launch') || undefined;
  const clientId = url.searchParams.get('client_id') || DEFAULT_CLIENT_ID;
  const scope = url.searchParams.get('scope') || (launch ? DEFAULT_EHR_SCOPE : DEFAULT_STANDALONE_SCOPE);
  const fhir = new Client({ baseUrl: iss.href.replace(/\/+$/, '') });
  let endpoints;
  try {
    endpoints = await fhir.smartAuthMetadata();
  } catch {
    throw new AppProblem(
      'FHIR server not reachable',
      `Could not read the SMART configuration of ${iss.href}.`,
      'Check that the server is running and that iss is its FHIR base URL.',
      'discovery_failed',
    );
  }
  if (!endpoints.authorizeUrl || !endpoints.tokenUrl) {
    throw new AppProblem('Not a SMART server', `${iss.href} does not advertise an authorization and a token endpoint.`, undefined, 'discovery_failed');
  }
  const { verifier, challenge } = await pkcePair();
  const state = randomString(16);
  const redirectUri = new URL('./', url).href;
  savePending({
    state,
    verifier,
    iss: fhir.baseUrl,
    clientId,
    scope,
    redirectUri,
    authorizeUrl: endpoints.authorizeUrl.href,
    tokenUrl: endpoints.tokenUrl.href,
    ...(launch ? { launch } : {}),
    startedAt: Date.now(),
  });
  const authorize = new URL(endpoints.authorizeUrl.href);
  const params: Record<string, string | undefined> = {
    response_type: 'code',
    client_id: clientId,
    redirect_uri: redirectUri,
    scope,
    state,
    aud: fhir.baseUrl,
    launch,
    code_challenge: challenge,
    code_challenge_method: 'S256',
    prompt: url.searchParams.get('prompt') || undefined,
  };
  for (const [name, value] of Object.entries(params)) if (value) authorize.searchParams.set(name, value);
  location.assign(authorize.href);
  return new Promise<never>(() => {});
}

/** Why an authorization came back without a code, in words. */
function authorizationProblem(error: string, description: string): AppProblem {
  if (error === 'access_denied') {
    return new AppProblem(
      'Access was not allowed',
      `The app got no access: ${description || 'the request was denied'}.`,
      'Nothing was shared with the app. Launch it again if you want to allow access.',
      error,
    );
  }
  if (/launch/.test(description) && /(expired|used|unknown)/.test(description)) {
    return new AppProblem(
      'This launch has expired',
      `${description}.`,
      'A launch is single-use and lasts five minutes. Go back to the launcher and launch again.',
      'launch_expired',
    );
  }
  return new AppProblem(
    'Authorization failed',
    `${error}${description ? `: ${description}` : ''}`,
    'Check the client id, redirect URI and scopes in the launcher.',
    error,
  );
}

async function postToken(tokenUrl: string, form: Record<string, string>): Promise<TokenResponse> {
  const response = await fetch(tokenUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
    body: new URLSearchParams(form),
  });
  const body = (await response.json().catch(() => ({}))) as Record<string, unknown>;
  if (!response.ok || typeof body.access_token !== 'string') {
    const error = typeof body.error === 'string' ? body.error : `HTTP ${response.status}`;
    const description = typeof body.error_description === 'string' ? body.error_description : '';
    throw new AppProblem(
      'The token request failed',
      `${error}${description ? `: ${description}` : ''}`,
      error === 'invalid_grant' ? 'The code or refresh token was already used, expired, or its grant was revoked. Launch the app again.' : undefined,
      error,
    );
  }
  return body as TokenResponse;
}

/** `/sample-app/?code=...&state=...` (or `?error=...`): exchanges the code for tokens. */
export async function completeLaunch(url: URL): Promise<AppSession> {
  const state = url.searchParams.get('state') ?? '';
  const pending = state ? takePending(state) : undefined;
  history.replaceState(null, '', url.pathname);
  const error = url.searchParams.get('error');
  if (error) throw authorizationProblem(error, url.searchParams.get('error_description') ?? '');
  const code = url.searchParams.get('code');
  if (!pending || !code) {
    throw new AppProblem(
      'Unexpected sign-in response',
      'This response does not belong to a launch started in this browser tab (a reused or old link).',
      'Launch the app again from the launcher.',
      'unknown_state',
    );
  }
  const token = await postToken(pending.tokenUrl, {
    grant_type: 'authorization_code',
    code,
    redirect_uri: pending.redirectUri,
    client_id: pending.clientId,
    code_verifier: pending.verifier,
  });
  const session: AppSession = {
    iss: pending.iss,
    clientId: pending.clientId,
    tokenUrl: pending.tokenUrl,
    requestedScope: pending.scope,
    launchType: pending.launch ? 'ehr' : 'standalone',
    token,
    receivedAt: Date.now(),
  };
  saveSession(session);
  return session;
}

/** Uses the refresh token; the launch context stays that of the grant. */
export async function refreshSession(session: AppSession): Promise<AppSession> {
  if (!session.token.refresh_token)
    throw new AppProblem(
      'No refresh token',
      'The app was not given a refresh token.',
      'Ask for offline_access or online_access, and leave it checked on the consent page.',
      'no_refresh_token',
    );
  const token = await postToken(session.tokenUrl, { grant_type: 'refresh_token', refresh_token: session.token.refresh_token, client_id: session.clientId });
  const next: AppSession = { ...session, token: { ...session.token, ...token }, receivedAt: Date.now() };
  saveSession(next);
  return next;
}
