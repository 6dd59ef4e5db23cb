/**
 * SMART's additions to the authorization request, as oidc-provider `extraParams` validators:
 * `aud` (required; must be the FHIR base, otherwise an error redirect with `state` and never a
 * code) and `launch` (an EHR launch value that exists and was not used).
 *
 * https://hl7.org/fhir/smart-app-launch/STU2.2/app-launch.html#request-4
 * https://github.com/panva/node-oidc-provider/tree/main/docs#extraparams
 */
import { errors, type KoaContextWithOIDC } from 'oidc-provider';
import type { LaunchContexts } from '../../launch/contexts.js';

const AUTHORIZATION_ROUTES = new Set(['authorization', 'pushed_authorization_request']);

/** `aud` must name this FHIR server (a trailing slash is tolerated). */
export function checkAudience(fhirBaseUrl: string) {
  return (ctx: KoaContextWithOIDC, value: string | undefined): void => {
    if (!AUTHORIZATION_ROUTES.has(ctx.oidc.route)) return;
    if ((value === undefined || value === '') && !needsAudience(ctx, fhirBaseUrl)) {
      keepOfflineAccess(ctx);
      return;
    }
    if (value === undefined || value === '') {
      throw new errors.InvalidRequest(`missing required parameter 'aud': the FHIR base URL the app wants to access (${fhirBaseUrl})`);
    }
    if (value.replace(/\/+$/, '') !== fhirBaseUrl) {
      throw new errors.InvalidRequest(`'aud' must be this server's FHIR base URL ${fhirBaseUrl} (got "${value.slice(0, 200)}")`);
    }
    keepOfflineAccess(ctx);
  };
}

/** Identity and refresh scopes: a request asking for nothing else is an OpenID Connect sign-in, not a SMART launch. */
const NOT_SMART = new Set(['openid', 'profile', 'email', 'fhirUser', 'offline_access', 'online_access']);

/**
 * SMART requires `aud` of SMART apps. A request that is not for the FHIR API needs none: an
 * organisation's app signing users in (identity scopes only), or one asking for another API
 * with RFC 8707 `resource` (resource-servers/).
 */
function needsAudience(ctx: KoaContextWithOIDC, fhirBaseUrl: string): boolean {
  const raw = ctx.method === 'POST' ? (ctx.oidc.body as Record<string, unknown> | undefined)?.resource : ctx.query.resource;
  const resources = (Array.isArray(raw) ? raw : raw === undefined ? [] : [raw]).map(String);
  if (resources.length) return resources.some((r) => r.replace(/\/+$/, '') === fhirBaseUrl);
  return String(ctx.oidc.params?.scope ?? '')
    .split(' ')
    .filter(Boolean)
    .some((s) => !NOT_SMART.has(s));
}

/** `launch` must be a live EHR launch; the `launch` scope requires it. */
export function checkLaunch(launches: LaunchContexts) {
  return async (ctx: KoaContextWithOIDC, value: string | undefined): Promise<void> => {
    if (!AUTHORIZATION_ROUTES.has(ctx.oidc.route)) return;
    const scopes = new Set(String(ctx.oidc.params?.scope ?? '').split(' '));
    if (value === undefined || value === '') {
      if (scopes.has('launch')) {
        throw new errors.InvalidRequest(
          "the 'launch' scope is for EHR launches: pass the 'launch' parameter the EHR gave the app, or use launch/patient for a standalone launch",
        );
      }
      return;
    }
    if (!(await launches.peek(value))) {
      throw new errors.InvalidRequest("the 'launch' parameter is unknown, expired (launches last 5 minutes) or already used");
    }
  };
}

/**
 * oidc-provider drops `offline_access` unless `prompt=consent` is present (OpenID Connect Core
 * §11). Every Bedside authorization shows the consent page (no earlier grant is ever reused, see
 * interaction-policy.ts), where the user sees `offline_access` and may uncheck it: that is the
 * "other condition" §11 allows, so the scope the app asked for is kept.
 */
function keepOfflineAccess(ctx: KoaContextWithOIDC): void {
  const raw = ctx.method === 'POST' ? (ctx.oidc.body as Record<string, unknown> | undefined)?.scope : ctx.query.scope;
  if (typeof raw !== 'string' || !raw.split(' ').includes('offline_access')) return;
  const params = ctx.oidc.params;
  if (!params) return;
  const scopes = String(params.scope ?? '')
    .split(' ')
    .filter(Boolean);
  if (scopes.includes('offline_access')) return;
  if (
    !String(params.response_type ?? '')
      .split(' ')
      .includes('code')
  )
    return;
  if (!ctx.oidc.client?.grantTypeAllowed('refresh_token')) return;
  params.scope = [...scopes, 'offline_access'].join(' ');
}
