/**
 * Who may use the launcher API (`POST /launcher/api/launch`) and the launcher's directory
 * (patients, encounters, practitioners, clients):
 * - with LAUNCHER_SANDBOX on, anyone who reaches the launcher: the sandbox trusts them;
 * - with it off, an authenticated caller only:
 *   - a signed-in operator (the session of the operators' pages, role `operator`); a POST must
 *     come from Bedside's own pages (Origin or Referer), as the operators' forms must;
 *   - or a bearer access token of Bedside's holding the `launcher` scope (a backend-services
 *     client registered with that scope, `client_credentials`), for automation.
 *   Anyone else gets 401 (no or a bad credential) or 403 (a non-operator, a token without the
 *   scope, a cross-site POST).
 *
 * Minting a launch needs no patient access of the caller's own: the launching EHR names the
 * patient, and the user who completes the launch must be allowed to select it (the user policy).
 */
import type { Request, Response } from 'express';
import { AccessTokenError, type AccessTokenVerifier, type VerifiedAccessToken } from '../../access/token-verification.js';
import type { StoredAccount } from '../accounts/account-store.js';

/** The scope a backend-services token needs for the launcher API when the sandbox is off. */
export const LAUNCHER_SCOPE = 'launcher';

/** Who is calling the launcher API. */
export type LauncherCaller = { kind: 'sandbox' } | { kind: 'operator'; account: StoredAccount } | { kind: 'client'; token: VerifiedAccessToken };

/** Why a caller is refused, in RFC 6750's terms. */
export interface LauncherRefusal {
  kind: 'refused';
  status: 401 | 403;
  error: string;
  description: string;
}

const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*)$/i;

export interface LauncherAccessDependencies {
  /** LAUNCHER_SANDBOX: everyone who reaches the launcher may use it. */
  sandbox: boolean;
  /** Verifies a caller's bearer token (for the FHIR API, holding the `launcher` scope). */
  verifier: AccessTokenVerifier;
  /** The account signed in to Bedside's own pages, if any. */
  signedInAccount(req: Request, res: Response): Promise<StoredAccount | undefined>;
  /** Whether the request comes from Bedside's own pages (Origin or Referer). */
  sameOrigin(req: Request): boolean;
  /** Where an operator signs in (the grants page), for the refusal's description. */
  signInPage: string;
}

export async function launcherCaller(deps: LauncherAccessDependencies, req: Request, res: Response): Promise<LauncherCaller | LauncherRefusal> {
  if (deps.sandbox) return { kind: 'sandbox' };
  const authorization = req.get('authorization');
  if (authorization) {
    const match = BEARER.exec(authorization.trim());
    if (!match) return refused(401, 'invalid_token', 'the Authorization header is not "Bearer <token>"');
    try {
      const token = await deps.verifier.verify(match[1]!);
      if (!token.scopes.some((s) => s.raw === LAUNCHER_SCOPE))
        return refused(403, 'insufficient_scope', `the bearer token does not hold the ${LAUNCHER_SCOPE} scope`);
      return { kind: 'client', token };
    } catch (error) {
      if (error instanceof AccessTokenError) return refused(401, 'invalid_token', error.message);
      throw error;
    }
  }
  const account = await deps.signedInAccount(req, res);
  if (!account) {
    return refused(
      401,
      'unauthorized',
      `LAUNCHER_SANDBOX is off: sign in as an operator (${deps.signInPage}) or send a bearer token with the ${LAUNCHER_SCOPE} scope`,
    );
  }
  if (!account.roles.includes('operator'))
    return refused(403, 'forbidden', `${account.username} is not an operator: only operators may use the launcher when LAUNCHER_SANDBOX is off`);
  if (req.method !== 'GET' && req.method !== 'HEAD' && !deps.sameOrigin(req))
    return refused(403, 'forbidden', "an operator's launcher requests must come from Bedside's own pages");
  return { kind: 'operator', account };
}

function refused(status: 401 | 403, error: string, description: string): LauncherRefusal {
  return { kind: 'refused', status, error, description };
}

/** Sends a refusal: JSON, with RFC 6750's challenge on 401 and insufficient_scope. */
export function sendRefusal(res: Response, realm: string, refusal: LauncherRefusal): void {
  const challenge = [`realm="${realm}"`, ...(refusal.error === 'unauthorized' ? [] : [`error="${refusal.error}"`]), `scope="${LAUNCHER_SCOPE}"`].join(', ');
  if (refusal.status === 401 || refusal.error === 'insufficient_scope') res.set('www-authenticate', `Bearer ${challenge}`);
  res.status(refusal.status).set('cache-control', 'no-store').json({ error: refusal.error, error_description: refusal.description });
}
