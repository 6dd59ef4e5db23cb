/**
 * oidc-provider's configuration for SMART App Launch 2.2, as one object built from Bedside's
 * config and the authorization server's parts. Every choice here uses the provider's documented options; the SMART
 * specifics live in the small modules this file wires together.
 *
 * https://github.com/panva/node-oidc-provider/tree/main/docs
 * https://hl7.org/fhir/smart-app-launch/STU2.2/
 */
import type { Configuration, KoaContextWithOIDC } from 'oidc-provider';
import type { Config } from '../../config.js';
import type { Logger } from '../../log.js';
import type { OutboundFetch } from '../../security/outbound-fetch.js';
import type { ParseOptions } from '../../smart/scopes.js';
import type { DocumentStore } from '../../storage/document-store.js';
import type { AccountStore } from '../accounts/account-store.js';
import { AUTH_MOUNT, PAGES, ROUTES } from '../endpoints.js';
import type { LaunchContexts } from '../launch/contexts.js';
import { errorPage } from '../../html/error-page.js';
import type { ClaimMapper } from '../policy/claims.js';
import { checkClientAssertion, clientMetadataPolicy, corsFromRedirectOrigins } from '../policy/clients.js';
import type { ResourceServerRegistry } from '../policy/resource-servers/registry.js';
import { resourceServerInfo } from '../policy/resource-servers/resource-indicators.js';
import { fhirResourceServer } from '../policy/scopes.js';
import { documentStoreAdapter } from './adapter.js';
import { checkAudience, checkLaunch } from './hooks/authorization-params.js';
import { FIRST_PARTY_METADATA, loadGrant, type FirstPartyDependencies } from './hooks/first-party.js';
import { buildInteractionPolicy, promptValues } from './hooks/interaction-policy.js';
import { logoutSource, postLogoutSuccessSource } from './hooks/logout.js';
import { smartTokenClaims, type TokenClaimsDependencies } from './hooks/token-claims.js';
import { ID_TOKEN_ALG, providerJwks, type KeySet } from './keys.js';
import { STANDARD_SCOPE_CLAIMS } from './middleware/userinfo.js';

/** Backend services tokens live at most five minutes (SMART Backend Services). */
export const BACKEND_TOKEN_TTL_SECONDS = 300;
const CLOCK_TOLERANCE_SECONDS = 5;
const SESSION_TTL_SECONDS = 24 * 3600;

/** Client authentication at the token, introspection and revocation endpoints. */
export const CLIENT_AUTH_METHODS = ['client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none'] as const;
/** private_key_jwt algorithms (SMART: RS384 and ES384). */
export const CLIENT_ASSERTION_ALGS = ['RS384', 'ES384'] as const;

/** What the configuration is built from; the hooks' own dependencies are among them. */
export interface ProviderDependencies extends FirstPartyDependencies, TokenClaimsDependencies {
  settings: Pick<
    Config,
    'baseUrl' | 'fhirBaseUrl' | 'allowPrivateNetworkFetch' | 'rotateRefreshTokens' | 'accessTokenTtlSeconds' | 'refreshTokenTtlSeconds' | 'registrationToken'
  >;
  /** The token endpoint's URL (the audience of client assertions). */
  tokenEndpoint: string;
  /** Whether cookies are marked Secure (then `SameSite=None` and POST to the authorization endpoint). */
  secureCookies: boolean;
  /** Where the provider keeps its models (adapter.ts). */
  documents: DocumentStore;
  accounts: AccountStore;
  launches: LaunchContexts;
  claims: ClaimMapper;
  resourceServers: ResourceServerRegistry;
  parse: ParseOptions;
  /** Client jwks_uri and sector_identifier_uri are fetched under the outbound-fetch policy. */
  fetch: OutboundFetch;
  logger: Logger;
}

function hasScope(source: { scopes: Set<string> }, scope: string): boolean {
  return source.scopes.has(scope);
}

/** Session, interaction and resume cookies, signed with the key set's cookie secrets. */
function cookies(secure: boolean, keySet: KeySet): Configuration['cookies'] {
  const options = { httpOnly: true, secure, path: '/' };
  return {
    names: { session: 'bedside_session', interaction: 'bedside_interaction', resume: 'bedside_resume' },
    long: { ...options, sameSite: secure ? 'none' : 'lax' },
    short: { ...options, sameSite: 'lax' },
    keys: keySet.cookieSecrets,
  };
}

/** Lifetimes: SMART's caps, `offline_access` refresh tokens and grants for REFRESH_TOKEN_TTL, the rest with the session. */
function lifetimes(settings: ProviderDependencies['settings']): Configuration['ttl'] {
  return {
    AccessToken: settings.accessTokenTtlSeconds,
    ClientCredentials: Math.min(BACKEND_TOKEN_TTL_SECONDS, settings.accessTokenTtlSeconds),
    AuthorizationCode: 60,
    IdToken: 3600,
    Interaction: 3600,
    Session: SESSION_TTL_SECONDS,
    RefreshToken: (_ctx, token) => (token.scopes.has('offline_access') ? settings.refreshTokenTtlSeconds : SESSION_TTL_SECONDS),
    Grant: (_ctx, grant) => {
      const scope = grant.getResourceScope(settings.fhirBaseUrl);
      const oidcScope = grant.getOIDCScope();
      return [...scope.split(' '), ...oidcScope.split(' ')].includes('offline_access') ? settings.refreshTokenTtlSeconds : SESSION_TTL_SECONDS;
    },
  };
}

/** The provider's features Bedside turns on, with SMART's resource server rules. */
function features(deps: ProviderDependencies): Configuration['features'] {
  const { settings } = deps;
  return {
    devInteractions: { enabled: false },
    dPoP: { enabled: false },
    clientCredentials: { enabled: true },
    introspection: {
      enabled: true,
      // Confidential clients (resource servers) may introspect any token; public ones only theirs.
      allowedPolicy: (ctx, client, token) => client.clientAuthMethod !== 'none' || token.clientId === ctx.oidc.client?.clientId,
    },
    revocation: { enabled: true },
    registration: { enabled: true, initialAccessToken: settings.registrationToken ?? false },
    registrationManagement: { enabled: true, rotateRegistrationAccessToken: false },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => settings.fhirBaseUrl,
      useGrantedResource: () => true,
      getResourceServerInfo: resourceServerInfo({
        fhirBaseUrl: settings.fhirBaseUrl,
        fhir: fhirResourceServer({ fhirBaseUrl: settings.fhirBaseUrl, parse: deps.parse }),
        registry: deps.resourceServers,
        accessTokenTtlSeconds: settings.accessTokenTtlSeconds,
      }),
    },
    rpInitiatedLogout: { enabled: true, logoutSource, postLogoutSuccessSource },
    userinfo: { enabled: true },
  };
}

/** `findAccount`: an unlocked account, its claims with the operator's mappings for id_token and userinfo. */
function accountFinder(accounts: AccountStore, claims: ClaimMapper): Configuration['findAccount'] {
  return async (_ctx, id) => {
    const account = await accounts.findById(id);
    if (!account || account.locked) return undefined;
    const oidcAccount = accounts.toOidcAccount(account);
    return {
      ...oidcAccount,
      claims: async (use, scope, requested, rejected) => ({
        ...(await oidcAccount.claims(use, scope, requested, rejected)),
        ...(await claims.claimsFor(account, { target: use === 'id_token' ? 'id_token' : 'userinfo', scopes: new Set(scope.split(' ')) })),
      }),
    };
  };
}

export function buildProviderConfiguration(deps: ProviderDependencies, keySet: KeySet): Configuration {
  const { settings } = deps;
  const policy = buildInteractionPolicy(deps.accounts, deps.launches);
  return {
    adapter: documentStoreAdapter(deps.documents),
    jwks: providerJwks(keySet),
    cookies: cookies(deps.secureCookies, keySet),
    enableHttpPostMethods: deps.secureCookies,
    routes: ROUTES,
    responseTypes: ['code'],
    scopes: ['openid', 'offline_access'],
    // The standard claims by scope, plus the operator's claim mappings (policy/claims.ts).
    claims: deps.claims.scopeClaims(STANDARD_SCOPE_CLAIMS),
    conformIdTokenClaims: false,
    clientAuthMethods: [...CLIENT_AUTH_METHODS],
    enabledJWA: { clientAuthSigningAlgValues: [...CLIENT_ASSERTION_ALGS], idTokenSigningAlgValues: [ID_TOKEN_ALG] },
    clientDefaults: {
      grant_types: ['authorization_code'],
      response_types: ['code'],
      id_token_signed_response_alg: ID_TOKEN_ALG,
      token_endpoint_auth_method: 'client_secret_basic',
    },
    clockTolerance: CLOCK_TOLERANCE_SECONDS,
    pkce: { required: () => true },
    allowOmittingSingleRegisteredRedirectUri: false,
    extraParams: { aud: checkAudience(settings.fhirBaseUrl), launch: checkLaunch(deps.launches) },
    extraClientMetadata: clientMetadataPolicy(deps.parse, {
      isResourceServerScope: (s) => deps.resourceServers.definesScope(s),
      firstPartyProperty: FIRST_PARTY_METADATA,
      allowPrivateNetworkFetch: settings.allowPrivateNetworkFetch,
    }),
    assertJwtClientAuthClaimsAndHeader: checkClientAssertion(deps.tokenEndpoint, CLOCK_TOLERANCE_SECONDS),
    // Bedside's own pages (the launcher getting a backend-service token) may call from Bedside's origin.
    clientBasedCORS: (ctx, origin, client) => origin === new URL(settings.baseUrl).origin || corsFromRedirectOrigins(ctx, origin, client),
    findAccount: accountFinder(deps.accounts, deps.claims),
    interactions: {
      policy,
      url: (_ctx, interaction) => `${AUTH_MOUNT}${PAGES.interaction}/${interaction.uid}`,
    },
    loadExistingGrant: loadGrant(deps),
    // offline_access: a long-lived refresh token; online_access: one that dies with the session.
    issueRefreshToken: (_ctx, client, code) =>
      client.grantTypeAllowed('refresh_token') && (hasScope(code, 'offline_access') || hasScope(code, 'online_access')),
    expiresWithSession: (_ctx, code) => !hasScope(code, 'offline_access'),
    rotateRefreshToken: settings.rotateRefreshTokens,
    extraTokenClaims: smartTokenClaims(deps),
    ttl: lifetimes(settings),
    features: features(deps),
    fetch: deps.fetch,
    discovery: {
      service_documentation: `${settings.baseUrl}/`,
      smart_configuration: `${settings.fhirBaseUrl}/.well-known/smart-configuration`,
      prompt_values_supported: promptValues(policy),
    },
    renderError: (ctx: KoaContextWithOIDC, out, error) => {
      ctx.type = 'html';
      ctx.body = errorPage({ error: out.error, ...(out.error_description ? { description: out.error_description } : {}) });
      deps.logger.debug({ err: error }, 'authorization error page');
    },
  };
}
