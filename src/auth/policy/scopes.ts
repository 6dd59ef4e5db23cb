/**
 * The FHIR API as oidc-provider's one resource server, and the SMART scope rules applied every
 * time the provider asks which scopes it accepts (authorization, resume, token, refresh,
 * client_credentials).
 *
 * oidc-provider keeps only the scopes a resource server lists; SMART scopes are an open grammar
 * (any resource type, granular `?param=value`), so the list is computed per request: the scopes
 * in play (asked for now, or carried by the code or refresh token being exchanged), each parsed
 * with the SMART grammar (malformed ones are refused with `invalid_scope`, never dropped or
 * misread) and checked against the client's registered `scope`, which caps what it may ever get.
 *
 * https://hl7.org/fhir/smart-app-launch/STU2.2/scopes-and-launch-context.html
 * https://github.com/panva/node-oidc-provider/tree/main/docs#featuresresourceindicators
 */
import { errors, type Client, type KoaContextWithOIDC, type ResourceServer } from 'oidc-provider';
import { coveredByAny, parseScopes, type ParseOptions, type Scope } from '../../smart/scopes.js';
import { ACCESS_TOKEN_ALG } from '../../access/token-verification.js';

/** Client metadata property holding the registered SMART `scope` (renamed back to `scope` in every response). */
export const REGISTERED_SCOPE = 'bedside_scope';

/** A client's metadata as registered (RFC 7591): the SMART `scope` back under its own name. */
export function asRegistered(metadata: Record<string, unknown>): Record<string, unknown> {
  if (!(REGISTERED_SCOPE in metadata)) return metadata;
  const { [REGISTERED_SCOPE]: scope, ...rest } = metadata;
  return { ...rest, scope };
}

/** The scope a client registered, parsed; undefined when it registered none (no cap). */
export function registeredScopes(client: Client, options: ParseOptions): Scope[] | undefined {
  const raw = client.metadata()[REGISTERED_SCOPE];
  return typeof raw === 'string' && raw.trim() ? parseScopes(raw, options).scopes : undefined;
}

const BACKEND_GRANTS = new Set(['client_credentials']);

function isBackendRequest(ctx: KoaContextWithOIDC): boolean {
  return ctx.oidc.route === 'token' && BACKEND_GRANTS.has(String(ctx.oidc.params?.grant_type));
}

/** Checks one request's `scope` parameter; throws `invalid_scope` naming the first offending scope. */
export function checkRequestedScopes(ctx: KoaContextWithOIDC, client: Client, options: ParseOptions): Scope[] {
  const { scopes, errors: problems } = parseScopes(ctx.oidc.params?.scope as string | undefined, options);
  if (problems.length) throw new errors.InvalidScope(problems[0]!.message, problems[0]!.scope);
  const backend = isBackendRequest(ctx);
  if (backend && scopes.length === 0) {
    throw new errors.InvalidScope('scope is required: ask for the system/ scopes the backend service needs', '');
  }
  const cap = registeredScopes(client, options);
  for (const scope of scopes) {
    const isSystem = (scope.kind === 'resource' && scope.context === 'system') || scope.kind === 'server';
    if (backend && !isSystem) {
      throw new errors.InvalidScope(`scope "${scope.raw}" cannot be granted to a backend service: use system/ scopes with client_credentials`, scope.raw);
    }
    if (!backend && isSystem) {
      throw new errors.InvalidScope(
        `scope "${scope.raw}" is for backend services (client_credentials with private_key_jwt), not for user authorization`,
        scope.raw,
      );
    }
    if (cap && !coveredByAny(cap, scope)) {
      throw new errors.InvalidScope(`scope "${scope.raw}" is not within the scope this client registered`, scope.raw);
    }
  }
  return scopes;
}

/** The scopes already granted to what is being exchanged (authorization code or refresh token). */
function sourceScopes(ctx: KoaContextWithOIDC): string[] {
  const entities = ctx.oidc.entities as { AuthorizationCode?: { scope?: string }; RefreshToken?: { scope?: string } };
  return [entities.AuthorizationCode?.scope, entities.RefreshToken?.scope].flatMap((s) => s?.split(' ') ?? []).filter(Boolean);
}

export interface FhirResourceServerOptions {
  fhirBaseUrl: string;
  parse: ParseOptions;
}

/** `features.resourceIndicators.getResourceServerInfo`: the FHIR API, with this request's SMART scopes. */
export function fhirResourceServer(options: FhirResourceServerOptions) {
  return (ctx: KoaContextWithOIDC, indicator: string, client: Client): ResourceServer => {
    if (indicator !== options.fhirBaseUrl) {
      throw new errors.InvalidTarget(`the only resource server is the FHIR API at ${options.fhirBaseUrl}`);
    }
    const requested = checkRequestedScopes(ctx, client, options.parse).map((s) => s.raw);
    return {
      scope: [...new Set([...requested, ...sourceScopes(ctx)])].join(' '),
      audience: options.fhirBaseUrl,
      accessTokenFormat: 'jwt',
      jwt: { sign: { alg: ACCESS_TOKEN_ALG } },
    };
  };
}
