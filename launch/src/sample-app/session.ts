/**
 * What the sample app remembers in the tab's sessionStorage: the launch in progress (keyed by its
 * `state`, holding the PKCE verifier) and, once authorized, the token response. A real app would
 * keep tokens in memory or on its server; the sample keeps them in this tab so a reload still
 * shows the inspector, and never in localStorage.
 */
export interface PendingLaunch {
  state: string;
  verifier: string;
  iss: string;
  clientId: string;
  scope: string;
  redirectUri: string;
  authorizeUrl: string;
  tokenUrl: string;
  /** The EHR launch value, absent for a standalone launch. */
  launch?: string;
  startedAt: number;
}

export interface TokenResponse {
  access_token: string;
  token_type: string;
  expires_in?: number;
  scope?: string;
  refresh_token?: string;
  id_token?: string;
  patient?: string;
  encounter?: string;
  need_patient_banner?: boolean;
  smart_style_url?: string;
  intent?: string;
  fhirContext?: unknown[];
  [key: string]: unknown;
}

export interface AppSession {
  iss: string;
  clientId: string;
  tokenUrl: string;
  requestedScope: string;
  launchType: 'ehr' | 'standalone';
  token: TokenResponse;
  /** Epoch ms when the token response arrived (expires_in counts from here). */
  receivedAt: number;
}

const PREFIX = 'bedside-sample-app';

export function savePending(pending: PendingLaunch): void {
  sessionStorage.setItem(`${PREFIX}:pending:${pending.state}`, JSON.stringify(pending));
}

/** The launch that `state` belongs to, removed from storage (a code is exchanged once). */
export function takePending(state: string): PendingLaunch | undefined {
  const key = `${PREFIX}:pending:${state}`;
  const raw = sessionStorage.getItem(key);
  sessionStorage.removeItem(key);
  return raw ? (JSON.parse(raw) as PendingLaunch) : undefined;
}

export function saveSession(session: AppSession): void {
  sessionStorage.setItem(`${PREFIX}:session`, JSON.stringify(session));
}

export function loadSession(): AppSession | undefined {
  const raw = sessionStorage.getItem(`${PREFIX}:session`);
  return raw ? (JSON.parse(raw) as AppSession) : undefined;
}

export function clearSession(): void {
  sessionStorage.removeItem(`${PREFIX}:session`);
}
