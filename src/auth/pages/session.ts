/**
 * Who is signed in, for Bedside's own account pages: the oidc-provider session cookie, read with
 * the provider's Session model. Signing in goes through the provider like any app would, as the
 * built-in first-party client `bedside-account` (consent is implied for it).
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Request, Response } from 'express';
import { fromOrigin, submittedToken, tokensMatch } from '../../security/csrf.js';
import type { StoredAccount } from '../accounts.js';
import { PAGES } from '../endpoints.js';
import type { ProviderHolder } from '../provider.js';
import type { AuthServices } from '../services.js';

export const ACCOUNT_CLIENT_ID = 'bedside-account';

export async function signedInAccount(holder: ProviderHolder, services: AuthServices, req: Request, res: Response): Promise<StoredAccount | undefined> {
  return (await signedIn(holder, services, req, res))?.account;
}

/** The signed-in account and the CSRF token of its session's forms. */
export interface SignedIn {
  account: StoredAccount;
  /** The token every POST form of the account and operators' pages carries (security/csrf.ts). */
  formToken: string;
}

/** The CSRF token is bound to the session (its stable uid) and the account signed in to it. */
const sessionBinding = (sessionUid: string, accountId: string) => `session:${sessionUid}:${accountId}`;

export async function signedIn(holder: ProviderHolder, services: AuthServices, req: Request, res: Response): Promise<SignedIn | undefined> {
  const provider = holder.provider;
  const session = await provider.Session.get(provider.createContext(req, res) as never);
  const account = session.accountId ? await services.accounts.findById(session.accountId) : undefined;
  return account ? { account, formToken: services.csrf.issue(sessionBinding(session.uid, account.id)) } : undefined;
}

/** The page paths a sign-in may return to (never an arbitrary URL). */
export const RETURNABLE = new Set<string>([PAGES.connectedApps, PAGES.grants, PAGES.audit, PAGES.adminUsers, PAGES.adminClients, PAGES.adminResourceServers]);

/** Sends the browser to the authorization endpoint to sign in, coming back to `page`. */
export function redirectToSignIn(services: AuthServices, res: Response, page: string): void {
  const challenge = createHash('sha256').update(randomBytes(32).toString('base64url')).digest('base64url');
  const url = new URL(services.endpoints.authorization);
  url.search = new URLSearchParams({
    client_id: ACCOUNT_CLIENT_ID,
    response_type: 'code',
    scope: 'openid',
    redirect_uri: `${services.endpoints.issuer}${PAGES.accountCallback}`,
    aud: services.config.fhirBaseUrl,
    state: page,
    code_challenge: challenge,
    code_challenge_method: 'S256',
  }).toString();
  res.redirect(303, url.href);
}

/** Metadata of the first-party client, kept in step with BASE_URL on every start. */
export function accountClientMetadata(issuer: string): Record<string, unknown> {
  return {
    client_id: ACCOUNT_CLIENT_ID,
    client_name: 'Bedside account',
    token_endpoint_auth_method: 'none',
    grant_types: ['authorization_code'],
    response_types: ['code'],
    redirect_uris: [`${issuer}${PAGES.accountCallback}`],
    scope: 'openid',
  };
}

/**
 * Cross-site request forgery defence for the account pages' POST forms (the session cookie is
 * SameSite=None so that apps may POST to the authorization endpoint): the browser's Origin, or
 * Referer, must be this server.
 */
export function sameOrigin(services: AuthServices, req: Request): boolean {
  return fromOrigin(req, new URL(services.config.baseUrl).origin, { required: true });
}

/**
 * Whether a POST of the account or operators' pages is genuine: from this server (sameOrigin)
 * and carrying the CSRF token of the signed-in session. Undefined when nobody is signed in.
 */
export async function genuineSessionSubmission(holder: ProviderHolder, services: AuthServices, req: Request, res: Response): Promise<boolean> {
  if (!sameOrigin(services, req)) return false;
  const current = await signedIn(holder, services, req, res);
  return current !== undefined && tokensMatch(current.formToken, submittedToken(req));
}

