/**
 * `features.resourceIndicators.getResourceServerInfo` for every audience this issuer serves: the
 * FHIR API (SMART scope rules, policy/scopes.ts) and the registered resource servers. A client
 * asks for a token for another API with `resource=<its URL>` (RFC 8707) and gets an ES256 JWT
 * access token with `aud` = that URL and only that API's scopes.
 *
 * The scopes of another API are granted only to clients whose registered `scope` lists them: an
 * operator opts a client in (admin page or command), unlike the FHIR API where a client without a
 * registered scope is not capped.
 *
 * https://github.com/panva/node-oidc-provider/tree/main/docs#featuresresourceindicators
 * https://www.rfc-editor.org/rfc/rfc8707#section-2
 */
import { errors, type Client, type KoaContextWithOIDC, type ResourceServer as ProviderResourceServer } from 'oidc-provider';
import { ACCESS_TOKEN_ALG } from '../../../access/token-verification.js';
import { REGISTERED_SCOPE } from '../scopes.js';
import type { ResourceServer, ResourceServerRegistry } from './registry.js';

/** Scopes that may accompany another API's scopes in a user's authorization request. */
export const IDENTITY_SCOPES: ReadonlySet<string> = new Set(['openid', 'profile', 'email', 'fhirUser', 'offline_access', 'online_access']);

type Info = (ctx: KoaContextWithOIDC, indicator: string, client: Client) => ProviderResourceServer | Promise<ProviderResourceServer>;

/** The scope tokens a client registered (its cap). */
export function registeredScopeTokens(client: Client): Set<string> {
  const raw = client.metadata()[REGISTERED_SCOPE];
  return new Set(typeof raw === 'string' ? raw.split(' ').filter(Boolean) : []);
}

/** The scopes of `rs` this client may ever get. */
export function scopesAllowedFor(rs: ResourceServer, client: Client): string[] {
  const cap = registeredScopeTokens(client);
  return Object.keys(rs.scopes).filter((s) => cap.has(s));
}

function checkRequested(ctx: KoaContextWithOIDC, rs: ResourceServer, allowed: ReadonlySet<string>): void {
  const requested = String(ctx.oidc.params?.scope ?? '')
    .split(' ')
    .filter(Boolean);
  const backend = ctx.oidc.route === 'token' && ctx.oidc.params?.grant_type === 'client_credentials';
  for (const scope of requested) {
    if (allowed.has(scope)) continue;
    if (Object.hasOwn(rs.scopes, scope)) throw new errors.InvalidScope(`scope "${scope}" of ${rs.name} is not within the scope this client registered`, scope);
    if (!backend && IDENTITY_SCOPES.has(scope)) continue;
    throw new errors.InvalidScope(`scope "${scope}" is not a scope of ${rs.name} (${rs.identifier}); ask for one resource server at a time`, scope);
  }
  if (backend && !requested.some((s) => allowed.has(s))) {
    throw new errors.InvalidScope(`scope is required: ask for the ${rs.name} scopes the service needs`, '');
  }
}

export interface ResourceIndicatorOptions {
  fhirBaseUrl: string;
  /** The FHIR API's rules (policy/scopes.ts fhirResourceServer). */
  fhir: Info;
  registry: ResourceServerRegistry;
  accessTokenTtlSeconds: number;
}

export function resourceServerInfo(options: ResourceIndicatorOptions): Info {
  return async (ctx, indicator, client) => {
    if (indicator === options.fhirBaseUrl) return options.fhir(ctx, indicator, client);
    const rs = await options.registry.get(indicator);
    if (!rs || rs.identifier !== indicator) {
      throw new errors.InvalidTarget(
        `unknown resource "${indicator.slice(0, 200)}": the FHIR API is ${options.fhirBaseUrl}; other APIs must be registered by an operator, and named exactly as registered`,
      );
    }
    const allowed = new Set(scopesAllowedFor(rs, client));
    checkRequested(ctx, rs, allowed);
    return {
      scope: [...allowed].join(' '),
      audience: rs.identifier,
      accessTokenFormat: 'jwt',
      accessTokenTTL: Math.min(rs.accessTokenTtlSeconds ?? options.accessTokenTtlSeconds, options.accessTokenTtlSeconds),
      jwt: { sign: { alg: ACCESS_TOKEN_ALG } },
    };
  };
}

/** The `resource` values of an authorization request, as a list. */
export function requestedResources(params: Record<string, unknown>): string[] {
  const value = params.resource;
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : typeof value === 'string' ? [value] : [];
}
