/**
 * Cookies follow the public URL, not the last hop: with an https BASE_URL (TLS ends at a proxy)
 * or a loopback one (browsers treat http://localhost as a secure context), oidc-provider's
 * cookies are marked Secure, which its session cookie needs for `SameSite=None` (required to
 * accept POST at the authorization endpoint, SMART's `authorize-post`).
 */
import type { Middleware } from 'koa';

export function secureCookies(enabled: boolean): Middleware {
  return async (ctx, next) => {
    if (enabled && !ctx.secure) Object.defineProperty(ctx.request, 'secure', { value: true, configurable: true });
    await next();
  };
}
