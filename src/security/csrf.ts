/**
 * Cross-site request forgery defence for Bedside's HTML forms, in two layers:
 *
 * 1. A synchronizer token in a hidden field (`csrf`) of every POST form: an HMAC of what the form
 *    belongs to (the interaction's uid, or the signed-in session) under a server secret kept in
 *    the shared store, so every node issues and accepts the same tokens and nothing is stored
 *    per form. Only a page loaded with the browser's own cookies shows it; another site can
 *    neither read it nor compute it.
 * 2. The request's Origin (or Referer) must be Bedside's own when the browser sends one. Pages
 *    that act for a signed-in session (account, operators) require it; the sign-in pages accept
 *    its absence, since plain HTTP clients fill them too (docs/contract.md), and rely on the token.
 *
 * A few lines of node:crypto rather than a CSRF library: the token binds to oidc-provider's
 * interaction or session, which such libraries do not know, and needs no cookie of its own.
 *
 * https://cheatsheetseries.owasp.org/cheatsheets/Cross-Site_Request_Forgery_Prevention_Cheat_Sheet.html
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { sharedSecret } from './shared-secrets.js';
import type { Request } from 'express';
import type { DocumentStore } from '../storage/document-store.js';

/** Name of the hidden field. */
export const CSRF_FIELD = 'csrf';

const SECRET_ID = 'csrf';

/** Issues and checks tokens bound to a string (e.g. `interaction:<uid>`). */
export class CsrfTokens {
  readonly #secret: Buffer;

  constructor(secret: Buffer) {
    this.#secret = secret;
  }

  /** Reads the shared secret, creating it on first start (the first node to insert wins). */
  static async open(documents: DocumentStore): Promise<CsrfTokens> {
    return new CsrfTokens(await sharedSecret(documents, SECRET_ID));
  }

  issue(binding: string): string {
    return createHmac('sha256', this.#secret).update(`bedside-csrf\0${binding}`).digest('base64url');
  }

  verify(binding: string, token: unknown): boolean {
    return tokensMatch(this.issue(binding), token);
  }
}

/** Compares a submitted token with the expected one in constant time. */
export function tokensMatch(expected: string, given: unknown): boolean {
  if (typeof given !== 'string') return false;
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The token a form submitted (the parsed urlencoded body's `csrf`). */
export function submittedToken(req: Request): unknown {
  return (req.body as Record<string, unknown> | undefined)?.[CSRF_FIELD];
}

/** Adds the hidden token field to every POST form of a page rendered by Bedside's own templates. */
export function embedCsrfField(page: string, token: string): string {
  const field = `<input type="hidden" name="${CSRF_FIELD}" value="${token.replace(/[^\w-]/g, '')}">`;
  return page.replace(/<form\b[^>]*\bmethod="post"[^>]*>/gi, (open) => `${open}\n${field}`);
}

/** The origin the browser says the request comes from: Origin, else Referer's origin. */
export function requestOrigin(req: Request): string | undefined {
  const origin = req.get('origin');
  if (origin !== undefined) return origin;
  const referer = req.get('referer');
  return referer ? (URL.parse(referer)?.origin ?? 'null') : undefined;
}

/**
 * Whether the request comes from `expectedOrigin`. With `required`, a request naming no origin is
 * refused; without, only one naming another origin (or `null`) is.
 */
export function fromOrigin(req: Request, expectedOrigin: string, options: { required: boolean }): boolean {
  const origin = requestOrigin(req);
  return origin === undefined ? !options.required : origin === expectedOrigin;
}
