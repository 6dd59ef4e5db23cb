/**
 * Security headers. Every response of the express side (sign-in, patient picker, consent,
 * account and operator pages, the provider's own pages, the launcher) gets helmet's headers with
 * a Content-Security-Policy for server-rendered pages without inline script; the launcher sets
 * its stricter per-page policies over it (launcher/index.ts). Every response of the whole server
 * (FHIR API and token endpoints included) gets `X-Content-Type-Options` and, with an https
 * BASE_URL, HSTS.
 *
 * Framing: Bedside's pages may be framed only by Bedside itself (`frame-ancestors 'self'`,
 * `X-Frame-Options: SAMEORIGIN`), which the EHR frame (`/launcher/ehr`) needs, since the app it
 * frames signs in there; another site cannot frame the consent page (clickjacking).
 *
 * `form-action`: Chromium applies it to every redirect that follows a form submission, and the
 * sign-in and consent forms end at the app's redirect URI (or at an identity provider); the
 * interaction pages add exactly those origins (`allowFormTargets`), and the provider's own pages
 * (form_post response, logout) carry no `form-action`, their forms going to registered URIs.
 *
 * https://owasp.org/www-project-secure-headers/
 * https://www.w3.org/TR/CSP3/#directive-form-action
 */
import type { RequestHandler, Response } from 'express';
import helmet from 'helmet';
import type { ServerResponse } from 'node:http';

const CSP_HEADER = 'content-security-policy';

/** The CSP of Bedside's server-rendered pages (no inline script or style, nothing from elsewhere). */
export function pageCspDirectives(https: boolean): Record<string, string[]> {
  return {
    'default-src': ["'self'"],
    'script-src': ["'self'"],
    'script-src-attr': ["'none'"],
    'style-src': ["'self'"],
    'img-src': ["'self'", 'data:'],
    'font-src': ["'self'"],
    'connect-src': ["'self'"],
    'object-src': ["'none'"],
    'base-uri': ["'none'"],
    'form-action': ["'self'"],
    'frame-ancestors': ["'self'"],
    ...(https ? { 'upgrade-insecure-requests': [] } : {}),
  };
}

/** HSTS for an https BASE_URL: one year, subdomains of the host included. */
const HSTS = 'max-age=31536000; includeSubDomains';

/** express middleware: helmet with Bedside's page policy. */
export function pageSecurityHeaders(options: { https: boolean }): RequestHandler {
  return helmet({
    contentSecurityPolicy: { useDefaults: false, directives: pageCspDirectives(options.https) },
    // Apps may run the authorization in a popup and read the result through window.opener.
    crossOriginOpenerPolicy: false,
    crossOriginResourcePolicy: { policy: 'same-origin' },
    // Pages send Referer (and a real Origin on POST) only to Bedside itself: the account pages'
    // same-origin check needs the Origin, and no URL reaches an app or a third party.
    referrerPolicy: { policy: 'same-origin' },
    strictTransportSecurity: options.https ? { maxAge: 31_536_000, includeSubDomains: true } : false,
    xFrameOptions: { action: 'sameorigin' },
  }) as RequestHandler;
}

/** Headers for every response of the server, set before any handler runs (a few setHeader calls). */
export function baselineHeaders(options: { https: boolean }): (res: ServerResponse) => void {
  return options.https
    ? (res) => {
        res.setHeader('x-content-type-options', 'nosniff');
        res.setHeader('strict-transport-security', HSTS);
      }
    : (res) => {
        res.setHeader('x-content-type-options', 'nosniff');
      };
}

/** The CSP source for a URL a form may end at: its origin, or its scheme for a native app's URI. */
export function formTargetSource(uri: string): string | undefined {
  const url = URL.parse(uri);
  if (!url) return undefined;
  if (url.protocol === 'http:' || url.protocol === 'https:') return url.origin;
  return /^[a-z][a-z0-9+.-]*:$/i.test(url.protocol) ? url.protocol : undefined;
}

function rewriteDirective(res: Response | ServerResponse, name: string, values: string[] | null): void {
  const current = res.getHeader(CSP_HEADER);
  if (typeof current !== 'string') return;
  const directives = current
    .split(';')
    .map((d) => d.trim())
    .filter((d) => d && d.split(/\s+/, 1)[0] !== name);
  if (values) directives.push([name, ...values].join(' '));
  res.setHeader(CSP_HEADER, directives.join('; '));
}

/** Lets this page's forms end at `targets` (URLs) besides Bedside itself. */
export function allowFormTargets(res: Response, targets: Iterable<string>): void {
  const sources = new Set(["'self'"]);
  for (const target of targets) {
    const source = formTargetSource(target);
    if (source) sources.add(source);
  }
  rewriteDirective(res, 'form-action', [...sources]);
}

/** Drops `form-action` (pages whose forms go to registered URIs that Bedside does not list here). */
export function withoutFormAction(res: Response | ServerResponse): void {
  rewriteDirective(res, 'form-action', null);
}
