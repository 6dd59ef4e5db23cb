/**
 * The resource owner password grant is not offered (OAuth 2.0 Security BCP, RFC 9700 §2.4).
 * oidc-provider answers any unknown grant with a terse `unsupported_grant_type`; an app asking
 * for `password` gets one that says what to do instead, whatever else was wrong with its request.
 */
import type { Middleware } from 'koa';
import { errors } from 'oidc-provider';

export const PASSWORD_GRANT_REFUSAL =
  'The password grant is not offered: the OAuth 2.0 Security Best Current Practice (RFC 9700 section 2.4) forbids it. ' +
  'Apps acting for a user use the authorization code grant with PKCE (SMART App Launch); ' +
  'services acting on their own use client_credentials with private_key_jwt (SMART Backend Services).';

/** The token endpoint's middleware (provider/routes.ts mounts it there). */
export function refusePasswordGrant(): Middleware {
  return async (ctx, next) => {
    await next();
    if (ctx.status < 400) return;
    const params = (ctx as unknown as { oidc?: { params?: Record<string, unknown> } }).oidc?.params;
    if (params?.grant_type !== 'password') return;
    const refusal = new errors.UnsupportedGrantType(PASSWORD_GRANT_REFUSAL);
    ctx.remove('www-authenticate');
    ctx.status = refusal.status;
    ctx.body = { error: refusal.error, error_description: refusal.error_description };
  };
}
