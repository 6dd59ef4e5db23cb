/**
 * What every sign-in page (login, patient and encounter pickers, consent, federation buttons)
 * shares: the CSRF token bound to the interaction in each POST form, the check of a submission,
 * and the pages' `form-action` (Bedside, the app's redirect URI, identity providers).
 */
import type { Request, Response } from 'express';
import { embedCsrfField, fromOrigin, submittedToken, type CsrfTokens } from '../../../security/csrf.js';
import { allowFormTargets } from '../../../security/headers.js';
import { PageError } from '../errors.js';

/** What a sign-in page's token is bound to: its interaction, itself bound to the browser by oidc-provider's cookie. */
const binding = (uid: string) => `interaction:${uid}`;

export interface FormDependencies {
  csrf: CsrfTokens;
  /** BASE_URL: a browser naming an origin must name this one. */
  baseUrl: string;
}

/**
 * Sends a sign-in page of interaction `uid`: every POST form carries the token, and its forms
 * may end at the app (`redirectUri`, where the user is sent back) and at `otherTargets`.
 */
export function sendInteractionPage(
  deps: FormDependencies,
  res: Response,
  page: { uid: string; status: number; html: string; redirectUri?: unknown; otherTargets?: string[] },
): void {
  allowFormTargets(res, [...(typeof page.redirectUri === 'string' ? [page.redirectUri] : []), ...(page.otherTargets ?? [])]);
  res
    .status(page.status)
    .set({ 'cache-control': 'no-store', 'content-type': 'text/html; charset=utf-8' })
    .send(embedCsrfField(page.html, deps.csrf.issue(binding(page.uid))));
}

/**
 * Refuses a POST to interaction `uid` that was not submitted from its page: the token must match,
 * and the browser, when it names an origin, must name Bedside's. Plain HTTP clients send no
 * Origin (automation filling the forms), so none is required.
 */
export function checkSubmission(deps: FormDependencies, req: Request, uid: string): void {
  if (fromOrigin(req, new URL(deps.baseUrl).origin, { required: false }) && deps.csrf.verify(binding(uid), submittedToken(req))) return;
  throw new PageError(403, 'invalid_request', 'This form was not sent from its Bedside page, or the page is out of date. Go back to the app and start again.');
}
