/**
 * What every sign-in page (login, patient and encounter pickers, consent, federation buttons)
 * shares: the CSRF token bound to the interaction in each POST form, the check of a submission,
 * and the pages' `form-action` (Bedside, the app's redirect URI, identity providers).
 */
import type { Request, Response } from 'express';
import { allowFormTargets } from '../../security/headers.js';
import { embedCsrfField, fromOrigin, submittedToken } from '../../security/csrf.js';
import type { AuthServices } from '../services.js';

/** What a sign-in page's token is bound to: its interaction, itself bound to the browser by oidc-provider's cookie. */
const binding = (uid: string) => `interaction:${uid}`;

/**
 * Sends a sign-in page of interaction `uid`: every POST form carries the token, and its forms
 * may end at the app (`redirectUri`, where the user is sent back) and at `otherTargets`.
 */
export function sendInteractionPage(services: AuthServices, res: Response, page: { uid: string; status: number; html: string; redirectUri?: unknown; otherTargets?: string[] }): void {
  allowFormTargets(res, [...(typeof page.redirectUri === 'string' ? [page.redirectUri] : []), ...(page.otherTargets ?? [])]);
  res
    .status(page.status)
    .set({ 'cache-control': 'no-store', 'content-type': 'text/html; charset=utf-8' })
    .send(embedCsrfField(page.html, services.csrf.issue(binding(page.uid))));
}

/**
 * Whether a POST to interaction `uid` was submitted from its page: the token matches, and the
 * browser, when it names an origin, names Bedside's. Plain HTTP clients send no Origin (CONTRACT.md).
 */
export function genuineSubmission(services: AuthServices, req: Request, uid: string): boolean {
  return fromOrigin(req, new URL(services.config.baseUrl).origin, { required: false }) && services.csrf.verify(binding(uid), submittedToken(req));
}
