/**
 * User access tokens from the real authorization server, through its real HTML pages
 * (sign-in, patient picker, consent) driven without a browser, for the bundled sample app.
 */
import { Browser } from '../integration/auth/support/browser.js';
import { sampleAuthorization, SAMPLE_APP, tokenRequest } from '../integration/auth/support/clients.js';
import { authorizeInBrowser } from '../integration/auth/support/flows.js';
import type { TestServer } from './server.js';

export const PRACTITIONER = { username: 'dr.carter', password: 'bedside-demo', fhirUser: 'Practitioner/practitioner-001' };
export const PATIENT_USER = { username: 'amy.shaw', password: 'bedside-demo', fhirUser: 'Patient/patient-001' };

export interface UserTokenRequest {
  username: string;
  password: string;
  scope: string;
  /** Patient to pick when the picker appears (standalone launch with launch/patient). */
  patient?: string;
  /** An EHR launch value from POST /launcher/api/launch. */
  launch?: string;
  /** Scopes to leave unchecked on the consent page. */
  refuse?: string[];
}

export interface TokenResponse {
  access_token: string;
  scope: string;
  patient?: string;
  refresh_token?: string;
  id_token?: string;
  [key: string]: unknown;
}

/** Signs in, consents and exchanges the code; returns the token response. */
export async function userToken(server: TestServer, request: UserTokenRequest): Promise<TokenResponse> {
  const authorization = sampleAuthorization(server, { scope: request.scope, ...(request.launch ? { launch: request.launch } : {}) });
  const back = await authorizeInBrowser(new Browser(), authorization.url, authorization.redirectUri, {
    username: request.username,
    password: request.password,
    ...(request.patient ? { patient: request.patient } : {}),
    // Exactly the scopes asked for (the consent page also offers category sub-scopes), minus refused ones.
    grant: (offered) => offered.filter((s) => request.scope.split(' ').includes(s) && !(request.refuse ?? []).includes(s)),
  });
  const code = back.searchParams.get('code');
  if (!code) throw new Error(`authorization failed: ${back.href}`);
  const response = await tokenRequest(server, {
    grant_type: 'authorization_code',
    code,
    redirect_uri: authorization.redirectUri,
    client_id: SAMPLE_APP,
    code_verifier: authorization.verifier,
  });
  if (response.status !== 200) throw new Error(`token request failed: ${JSON.stringify(response.body)}`);
  return response.body as unknown as TokenResponse;
}
