/**
 * What Bedside requires of clients, as oidc-provider hooks:
 * - registration metadata (RFC 7591): the SMART `scope` a client registers is validated with the
 *   SMART grammar and kept as the cap on what it may ever be granted; a `jwks_uri` or
 *   `sector_identifier_uri` the server would refuse to fetch (security/network-addresses.ts) is
 *   refused at registration rather than failing every later authentication; `request_uris` are
 *   refused (request objects are never fetched by reference);
 * - private_key_jwt assertions (SMART Backend Services / confidential asymmetric clients):
 *   `kid` in the header, `sub` = `iss` = client_id, `aud` = the token endpoint, `exp` at most
 *   five minutes ahead (the `jti` is refused a second time by the adapter's replay store);
 * - CORS: browser apps may call the token endpoint from the origins of their redirect URIs.
 *
 * https://hl7.org/fhir/smart-app-launch/STU2.2/client-confidential-asymmetric.html#authenticating-to-the-token-endpoint
 */
import { errors, type Client, type JsonValue, type KoaContextWithOIDC } from 'oidc-provider';
import { fetchRefusal } from '../../security/network-addresses.js';
import { parseScopes, type ParseOptions } from '../../smart/scopes.js';
import { REGISTERED_SCOPE } from './scopes.js';

/** SMART: "exp ... no more than five minutes in the future". */
export const MAX_ASSERTION_LIFETIME_SECONDS = 300;

/** Client metadata naming URLs the server fetches (oidc-provider: keys, and the sector's redirect URIs at registration). */
const FETCHED_URIS = ['jwks_uri', 'sector_identifier_uri'] as const;
/** RFC 7591 / OIDC Registration metadata for request objects by reference, which this server never fetches. */
const REQUEST_URIS = 'request_uris';

/** Whether the metadata comes from the client itself (dynamic registration or its update). */
function fromTheClient(ctx: KoaContextWithOIDC | undefined): boolean {
  return Boolean(ctx?.oidc && ['registration', 'client_update'].includes(ctx.oidc.route));
}

/** Refuses metadata URLs the outbound-fetch policy would never fetch, saying why. */
function checkFetchedUris(metadata: Record<string, unknown>, allowPrivateNetwork: boolean): void {
  for (const key of FETCHED_URIS) {
    const value = metadata[key];
    // Malformed values are left to oidc-provider's own checks (web URI, https).
    if (typeof value !== 'string' || !URL.canParse(value)) continue;
    const refusal = fetchRefusal(value, allowPrivateNetwork);
    if (refusal) throw new errors.InvalidClientMetadata(`${key} will not be fetched: ${refusal}`);
  }
  const requestUris = metadata[REQUEST_URIS];
  if (requestUris !== undefined && !(Array.isArray(requestUris) && requestUris.length === 0)) {
    throw new errors.InvalidClientMetadata(
      `${REQUEST_URIS} is not supported: this server never fetches request objects by reference; push the request instead (pushed_authorization_request_endpoint, RFC 9126)`,
    );
  }
  delete metadata[REQUEST_URIS];
}

/**
 * `extraClientMetadata`: oidc-provider only accepts registered scopes it knows statically, so the
 * SMART `scope` is validated here and moved to REGISTERED_SCOPE (the registration middleware
 * shows it back as `scope`, exactly as registered).
 */
export function clientMetadataPolicy(parse: ParseOptions, extras: ClientMetadataExtras = {}) {
  return {
    properties: [REGISTERED_SCOPE, REQUEST_URIS, ...(extras.firstPartyProperty ? [extras.firstPartyProperty] : [])],
    validator(ctx: KoaContextWithOIDC | undefined, key: string, value: unknown, clientMetadata: object): void {
      const metadata = clientMetadata as Record<string, unknown>;
      // Called once per validation, whether or not request_uris is present: the place for checks of the whole metadata.
      if (key === REQUEST_URIS) {
        if (fromTheClient(ctx)) checkFetchedUris(metadata, extras.allowPrivateNetworkFetch ?? false);
        else delete metadata[REQUEST_URIS];
        return;
      }
      if (key === extras.firstPartyProperty) {
        if (value === undefined) return;
        if (typeof value !== 'boolean') throw new errors.InvalidClientMetadata(`${key} must be true or false`);
        // Only an operator marks a client first-party (admin page or command), never the client itself.
        if (value && fromTheClient(ctx)) throw new errors.InvalidClientMetadata(`${key} is set by operators only`);
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
      const smart = extras.isResourceServerScope
        ? scope
            .split(' ')
            .filter((s) => !extras.isResourceServerScope!(s))
            .join(' ')
        : scope;
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
  /** ALLOW_PRIVATE_NETWORK_FETCH: a jwks_uri or sector_identifier_uri may name a non-public address. */
  allowPrivateNetworkFetch?: boolean;
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
