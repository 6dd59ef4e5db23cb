/**
 * oidc-provider's configuration for SMART App Launch 2.2, as one object built from Bedside's
 * config and services. Every choice here uses the provider's documented options; the SMART
 * specifics live in the small modules this file wires together.
 *
 * https://github.com/panva/node-oidc-provider/tree/main/docs
 * https://hl7.org/fhir/smart-app-launch/STU2.2/
 */
import type { Configuration, KoaContextWithOIDC } from 'oidc-provider';
import { documentStoreAdapter } from './adapter.js';
import { checkAudience, checkLaunch } from './authorization-params.js';
import { checkClientAssertion, clientMetadataPolicy, corsFromRedirectOrigins } from './client-policy.js';
import { AUTH_MOUNT, PAGES, ROUTES } from './endpoints.js';
import { buildInteractionPolicy } from './interaction-policy.js';
import { ID_TOKEN_ALG, providerJwks, type KeySet } from './keys.js';
import { fhirResourceServer } from './scope-policy.js';
import { FIRST_PARTY_METADATA, loadGrant } from './oidc/first-party.js';
import { logoutSource, postLogoutSuccessSource } from './oidc/logout.js';
import { STANDARD_SCOPE_CLAIMS } from './oidc/userinfo.js';
import { resourceServerInfo } from './resource-servers/resource-indicators.js';
import type { AuthServices } from './services.js';
import { smartTokenClaims } from './token-claims.js';
import { errorPage } from './views/error.js';

/** Backend services tokens live at most five minutes (SMART Backend Services). */
export const BACKEND_TOKEN_TTL_SECONDS = 300;
const CLOCK_TOLERANCE_SECONDS = 5;
const SESSION_TTL_SECONDS = 24 * 3600;

/** Client authentication at the token, introspection and revocation endpoints. */
export const CLIENT_AUTH_METHODS = ['client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none'] as const;
/** private_key_jwt algorithms (SMART: RS384 and ES384). */
export const CLIENT_ASSERTION_ALGS = ['RS384', 'ES384'] as const;

function hasScope(source: { scopes: Set<string> }, scope: string): boolean {
  return source.scopes.has(scope);
}

export function buildProviderConfiguration(services: AuthServices, keySet: KeySet): Configuration {
  const { config, endpoints } = services;
  const postAllowed = services.secureCookies;
  const cookieOptions = { httpOnly: true, secure: services.secureCookies, path: '/' };

  return {
    adapter: documentStoreAdapter(services.documents),
    jwks: providerJwks(keySet),
    cookies: {
      names: { session: 'bedside_session', interaction: 'bedside_interaction', resume: 'bedside_resume' },
      long: { ...cookieOptions, sameSite: postAllowed ? 'none' : 'lax' },
      short: { ...cookieOptions, sameSite: 'lax' },
      keys: keySet.cookieSecrets,
    },
    enableHttpPostMethods: postAllowed,
    routes: ROUTES,
    responseTypes: ['code'],
    scopes: ['openid', 'offline_access'],
    // The standard claims by scope, plus the operator's claim mappings (claims/).
    claims: services.claims.scopeClaims(STANDARD_SCOPE_CLAIMS),
    conformIdTokenClaims: false,
    clientAuthMethods: [...CLIENT_AUTH_METHODS],
    enabledJWA: {
      clientAuthSigningAlgValues: [...CLIENT_ASSERTION_ALGS],
      idTokenSigningAlgValues: [ID_TOKEN_ALG],
    },
    clientDefaults: { grant_types: ['authorization_code'], response_types: ['code'], id_token_signed_response_alg: ID_TOKEN_ALG, token_endpoint_auth_method: 'client_secret_basic' },
    clockTolerance: CLOCK_TOLERANCE_SECONDS,
    pkce: { required: () => true },
    allowOmittingSingleRegisteredRedirectUri: false,
    extraParams: {
      aud: checkAudience(config.fhirBaseUrl),
      launch: checkLaunch(services.launches),
    },
    extraClientMetadata: clientMetadataPolicy(services.parse, {
      isResourceServerScope: (s) => services.resourceServers.definesScope(s),
      firstPartyProperty: FIRST_PARTY_METADATA,
      allowPrivateNetworkFetch: config.allowPrivateNetworkFetch,
    }),
    assertJwtClientAuthClaimsAndHeader: checkClientAssertion(endpoints.token, CLOCK_TOLERANCE_SECONDS),
    // Bedside's own pages (the launcher getting a backend-service token) may call from Bedside's origin.
    clientBasedCORS: (ctx, origin, client) => origin === new URL(config.baseUrl).origin || corsFromRedirectOrigins(ctx, origin, client),
    findAccount: async (_ctx, id) => {
      const account = await services.accounts.findById(id);
      if (!account || account.locked) return undefined;
      const oidcAccount = services.accounts.toOidcAccount(account);
      return {
        ...oidcAccount,
        claims: async (use, scope, claims, rejected) => ({
          ...(await oidcAccount.claims(use, scope, claims, rejected)),
          ...(await services.claims.claimsFor(account, { target: use === 'id_token' ? 'id_token' : 'userinfo', scopes: new Set(scope.split(' ')) })),
        }),
      };
    },
    interactions: {
      policy: buildInteractionPolicy(services.accounts, services.launches),
      url: (_ctx, interaction) => `${AUTH_MOUNT}${PAGES.interaction}/${interaction.uid}`,
    },
    loadExistingGrant: loadGrant(services),
    // offline_access: a long-lived refresh token; online_access: one that dies with the session.
    issueRefreshToken: (_ctx, client, code) =>
      client.grantTypeAllowed('refresh_token') && (hasScope(code, 'offline_access') || hasScope(code, 'online_access')),
    expiresWithSession: (_ctx, code) => !hasScope(code, 'offline_access'),
    rotateRefreshToken: config.rotateRefreshTokens,
    extraTokenClaims: smartTokenClaims(services),
    ttl: {
      AccessToken: config.accessTokenTtlSeconds,
      ClientCredentials: Math.min(BACKEND_TOKEN_TTL_SECONDS, config.accessTokenTtlSeconds),
      AuthorizationCode: 60,
      IdToken: 3600,
      Interaction: 3600,
      Session: SESSION_TTL_SECONDS,
      RefreshToken: (_ctx, token) => (token.scopes.has('offline_access') ? config.refreshTokenTtlSeconds : SESSION_TTL_SECONDS),
      Grant: (_ctx, grant) => {
        const scope = grant.getResourceScope(config.fhirBaseUrl);
        const oidcScope = grant.getOIDCScope();
        return [...scope.split(' '), ...oidcScope.split(' ')].includes('offline_access') ? config.refreshTokenTtlSeconds : SESSION_TTL_SECONDS;
      },
    },
    features: {
      devInteractions: { enabled: false },
      dPoP: { enabled: false },
      clientCredentials: { enabled: true },
      introspection: {
        enabled: true,
        // Confidential clients (resource servers) may introspect any token; public ones only theirs.
        allowedPolicy: (ctx, client, token) => client.clientAuthMethod !== 'none' || token.clientId === ctx.oidc.client?.clientId,
      },
      revocation: { enabled: true },
      registration: {
        enabled: true,
        initialAccessToken: config.registrationToken ?? false,
      },
      registrationManagement: { enabled: true, rotateRegistrationAccessToken: false },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => config.fhirBaseUrl,
        useGrantedResource: () => true,
        getResourceServerInfo: resourceServerInfo({
          fhirBaseUrl: config.fhirBaseUrl,
          fhir: fhirResourceServer({ fhirBaseUrl: config.fhirBaseUrl, parse: services.parse }),
          registry: services.resourceServers,
          accessTokenTtlSeconds: config.accessTokenTtlSeconds,
        }),
      },
      rpInitiatedLogout: { enabled: true, logoutSource, postLogoutSuccessSource },
      userinfo: { enabled: true },
    },
    // Client jwks_uri and sector_identifier_uri: fetched under the server's outbound-fetch policy.
    fetch: services.outboundFetch,
    discovery: { service_documentation: `${config.baseUrl}/`, smart_configuration: `${config.fhirBaseUrl}/.well-known/smart-configuration` },
    renderError: (ctx: KoaContextWithOIDC, out, error) => {
      ctx.type = 'html';
      ctx.body = errorPage({ error: out.error, ...(out.error_description ? { description: out.error_description } : {}) });
      services.logger.debug({ err: error }, 'authorization error page');
    },
  };
}
