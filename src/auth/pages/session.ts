/**
 * Who is signed in, for Bedside's own account and operators' pages: the oidc-provider session
 * cookie, read with the provider's Session model. Signing in goes through the provider like any
 * app would, as the built-in first-party client `bedside-account` (consent is implied for it).
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Request, Response } from 'express';
import { fromOrigin, submittedToken, tokensMatch, type CsrfTokens } from '../../security/csrf.js';
import type { SmartEndpoints } from '../../smart/smart-configuration.js';
import type { AccountStore, StoredAccount } from '../accounts/account-store.js';
import { PAGES } from '../endpoints.js';
import type { ProviderHolder } from '../provider/holder.js';
import { PageError } from './errors.js';

export const ACCOUNT_CLIENT_ID = 'bedside-account';

/** The signed-in account and the CSRF token of its session's forms. */
export interface SignedIn {
  account: StoredAccount;
  /** The token every POST form of the account and operators' pages carries (security/csrf.ts). */
  formToken: string;
}

export interface SessionDependencies {
  holder: Pick<ProviderHolder, 'provider'>;
  accounts: Pick<AccountStore, 'findById'>;
  csrf: CsrfTokens;
  /** BASE_URL: forms must come from its origin. */
  baseUrl: string;
  fhirBaseUrl: string;
  endpoints: Pick<SmartEndpoints, 'authorization' | 'issuer'>;
}

/** The page paths a sign-in may return to (never an arbitrary URL). */
export const RETURNABLE = new Set<string>([PAGES.connectedApps, PAGES.grants, PAGES.audit, PAGES.adminUsers, PAGES.adminClients, PAGES.adminResourceServers]);

/** The CSRF token is bound to the session (its stable uid) and the account signed in to it. */
const sessionBinding = (sessionUid: string, accountId: string) => `session:${sessionUid}:${accountId}`;

/** The forged-form refusal of the account and operators' pages. */
const NOT_FROM_ITS_PAGE = new PageError(403, 'forbidden', 'This form must be submitted from its Bedside page while you are signed in. Open the page again.');

export class Sessions {
  constructor(private readonly deps: SessionDependencies) {}

  async signedIn(req: Request, res: Response): Promise<SignedIn | undefined> {
    const provider = this.deps.holder.provider;
    const session = await provider.Session.get(provider.createContext(req, res) as never);
    const account = session.accountId ? await this.deps.accounts.findById(session.accountId) : undefined;
    return account ? { account, formToken: this.deps.csrf.issue(sessionBinding(session.uid, account.id)) } : undefined;
  }

  async signedInAccount(req: Request, res: Response): Promise<StoredAccount | undefined> {
    return (await this.signedIn(req, res))?.account;
  }

  /** Sends the browser to the authorization endpoint to sign in, coming back to `page`. */
  redirectToSignIn(res: Response, page: string): void {
    const challenge = createHash('sha256').update(randomBytes(32).toString('base64url')).digest('base64url');
    const url = new URL(this.deps.endpoints.authorization);
    url.search = new URLSearchParams({
      client_id: ACCOUNT_CLIENT_ID,
      response_type: 'code',
      scope: 'openid',
      redirect_uri: `${this.deps.endpoints.issuer}${PAGES.accountCallback}`,
      aud: this.deps.fhirBaseUrl,
      state: page,
      code_challenge: challenge,
      code_challenge_method: 'S256',
    }).toString();
    res.redirect(303, url.href);
  }

  /**
   * Cross-site request forgery defence for the account pages' POST forms (the session cookie is
   * SameSite=None so that apps may POST to the authorization endpoint): the browser's Origin, or
   * Referer, must be this server.
   */
  sameOrigin(req: Request): boolean {
    return fromOrigin(req, new URL(this.deps.baseUrl).origin, { required: true });
  }

  /**
   * Refuses a POST of the account or operators' pages that is not genuine: from another origin,
   * or without the CSRF token of the signed-in session (or with nobody signed in).
   */
  async checkSubmission(req: Request, res: Response): Promise<void> {
    if (req.method !== 'POST') return;
    if (!this.sameOrigin(req)) throw NOT_FROM_ITS_PAGE;
    const current = await this.signedIn(req, res);
    if (current === undefined || !tokensMatch(current.formToken, submittedToken(req))) throw NOT_FROM_ITS_PAGE;
  }
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
