/**
 * What Bedside requires of clients, as oidc-provider hooks:
 * - registration metadata (RFC 7591): the SMART `scope` a client registers is validated with the
 *   SMART grammar and kept as the cap on what it may ever be granted;
 * - private_key_jwt assertions (SMART Backend Services / confidential asymmetric clients):
 *   `kid` in the header, `sub` = `iss` = client_id, `aud` = the token endpoint, `exp` at most
 *   five minutes ahead (the `jti` is refused a second time by the adapter's replay store);
 * - CORS: browser apps may call the token endpoint from the origins of their redirect URIs.
 *
 * https://hl7.org/fhir/smart-app-launch/STU2.2/client-confidential-asymmetric.html#authenticating-to-the-token-endpoint
 */
import { errors, type Client, type JsonValue, type KoaContextWithOIDC } from 'oidc-provider';
import { parseScopes, type ParseOptions } from '../smart/scopes.js';
import { REGISTERED_SCOPE } from './scope-policy.js';

/** SMART: "exp ... no more than five minutes in the future". */
export const MAX_ASSERTION_LIFETIME_SECONDS = 300;

/**
 * `extraClientMetadata`: oidc-provider only accepts registered scopes it knows statically, so the
 * SMART `scope` is validated here and moved to REGISTERED_SCOPE (the registration middleware
 * shows it back as `scope`, exactly as registered).
 */
export function clientMetadataPolicy(parse: ParseOptions, extras: ClientMetadataExtras = {}) {
  return {
    properties: [REGISTERED_SCOPE, ...(extras.firstPartyProperty ? [extras.firstPartyProperty] : [])],
    validator(ctx: KoaContextWithOIDC | undefined, key: string, value: unknown, clientMetadata: object): void {
      const metadata = clientMetadata as Record<string, unknown>;
      if (key === extras.firstPartyProperty) {
        if (value === undefined) return;
        if (typeof value !== 'boolean') throw new errors.InvalidClientMetadata(`${key} must be true or false`);
        // Only an operator marks a client first-party (admin page or command), never the client itself.
        if (value && ctx?.oidc && ['registration', 'client_update'].includes(ctx.oidc.route)) throw new errors.InvalidClientMetadata(`${key} is set by operators only`);
        return;
      }
      if (key !== REGISTERED_SCOPE) return;
      if (metadata.scope !== undefined) {
        metadata[REGISTERED_SCOPE] = metadata.scope;
        delete metadata.scope;
      }
      const scope = metadata[REGISTERED_SCOPE];
      if (scope === undefined) return;
      if (typeof scope !== 'string') throw new errors.InvalidClientMetadata('scope must be a string of space-separated scopes');
      // Scopes of other resource servers (resource-servers/) are not SMART scopes.
      const smart = extras.isResourceServerScope ? scope.split(' ').filter((s) => !extras.isResourceServerScope!(s)).join(' ') : scope;
      const { errors: problems } = parseScopes(smart, parse);
      if (problems.length) throw new errors.InvalidClientMetadata(`scope: ${problems.map((p) => p.message).join('; ')}`);
    },
  };
}

export interface ClientMetadataExtras {
  /** Whether a scope belongs to a registered resource server other than the FHIR API. */
  isResourceServerScope?: (scope: string) => boolean;
  /** Metadata property marking an operator-trusted (first-party) client. */
  firstPartyProperty?: string;
}

/** `assertJwtClientAuthClaimsAndHeader`. */
export function checkClientAssertion(tokenEndpoint: string, clockToleranceSeconds: number) {
  return (ctx: KoaContextWithOIDC, claims: Record<string, JsonValue>, header: Record<string, JsonValue>, client: Client): void => {
    if (typeof header.kid !== 'string' || header.kid === '') {
      throw new errors.InvalidClientAuth('the client assertion header must name its key with "kid"');
    }
    if (claims.sub !== client.clientId) {
      throw new errors.InvalidClientAuth('sub (JWT subject) of the client assertion must be the client_id');
    }
    const now = Math.floor(Date.now() / 1000);
    if (typeof claims.exp !== 'number' || claims.exp > now + MAX_ASSERTION_LIFETIME_SECONDS + clockToleranceSeconds) {
      throw new errors.InvalidClientAuth(`exp of the client assertion must be at most ${MAX_ASSERTION_LIFETIME_SECONDS} seconds in the future`);
    }
    if (ctx.oidc.route === 'token') {
      const audiences = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
      if (!audiences.includes(tokenEndpoint)) {
        throw new errors.InvalidClientAuth(`aud of the client assertion must be the token endpoint URL ${tokenEndpoint}`);
      }
    }
  };
}

/** `clientBasedCORS`: a browser app may call the token endpoint from the origin of one of its redirect URIs. */
export function corsFromRedirectOrigins(_ctx: KoaContextWithOIDC, origin: string, client: Client): boolean {
  return client.redirectUris?.some((uri) => URL.parse(uri)?.origin === origin) ?? false;
}
