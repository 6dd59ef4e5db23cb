/**
 * Bedside's authorization server (SMART App Launch 2.2 on oidc-provider), assembled: the express
 * router to mount (provider, sign-in pages, account and operators' pages, launcher API) and the
 * access-token verifier the FHIR API uses. This is the one place that builds the parts and hands
 * each module the few it uses. The FHIR side of discovery (smart-configuration route, the
 * CapabilityStatement's security section) is in discovery.ts: it needs only the config.
 *
 * https://hl7.org/fhir/smart-app-launch/STU2.2/
 */
import express, { type Request, type Response } from 'express';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createAuditLog } from '../access/audit-log.js';
import { createAccessTokenVerifier, type AccessTokenVerifier } from '../access/token-verification.js';
import { accessTokenClaimNames } from '../config/claims.js';
import type { Config } from '../config.js';
import type { PatientDirectory } from '../directory/patient-directory.js';
import { isKnownResourceType } from '../fhir/validation.js';
import type { Logger } from '../log.js';
import { CsrfTokens } from '../security/csrf.js';
import { withoutFormAction } from '../security/headers.js';
import { createOutboundFetch, type OutboundFetch } from '../security/outbound-fetch.js';
import { ADDRESS_RULE, FailureCounter, type FailureRecord } from '../security/rate-limit.js';
import type { RevocationNotices } from '../security/revocation-notices.js';
import type { SmartEndpoints } from '../smart/smart-configuration.js';
import type { ParseOptions } from '../smart/scopes.js';
import type { DocumentStore } from '../storage/document-store.js';
import { AccountStore } from './accounts/account-store.js';
import { Federation, FEDERATION_PATH } from './accounts/federation/service.js';
import { seedAuthSamples } from './accounts/seed.js';
import { AdminService } from './admin/service.js';
import { AUTH_MOUNT, cookiesCanBeSecure, issuerOf, LAUNCH_API_PATH, PAGES, ROUTES, smartEndpoints, smartStyleUrl } from './endpoints.js';
import { issuerRecords } from './issuer-records.js';
import { launcherCaller, type LauncherCaller, type LauncherRefusal } from './launch/access.js';
import { launcherApi } from './launch/api.js';
import { LaunchContexts } from './launch/contexts.js';
import { accountPages } from './pages/account.js';
import { adminPages } from './pages/admin.js';
import { grantsPages } from './pages/grants.js';
import { accountClientMetadata, Sessions } from './pages/session.js';
import { signInPages } from './pages/sign-in/router.js';
import { smartStyleRoute } from './pages/smart-style.js';
import { ClaimMapper } from './policy/claims.js';
import { GATEWAY_CHECK_PATH, gatewayCheck } from './policy/resource-servers/gateway-check.js';
import { ResourceServerRegistry } from './policy/resource-servers/registry.js';
import { BACKEND_TOKEN_TTL_SECONDS } from './provider/configuration.js';
import { createProvider, ProviderHolder, type ProviderParts } from './provider/holder.js';
import { readKeySet, rotateKeys } from './provider/keys.js';
import { asRegistered } from './policy/scopes.js';
import { ProviderRecords, RevokedTokens, type ClientMetadata } from './provider/records.js';

export interface AuthServerDependencies {
  config: Config;
  documents: DocumentStore;
  logger: Logger;
  directory: PatientDirectory;
  storageDescription: string;
  /** Where this node's revocations are announced (the FHIR API's access layer listens). */
  revocations: RevocationNotices;
}

export interface AuthServer {
  /** The issuer (`${BASE_URL}/oauth`). */
  issuer: string;
  /** The endpoints' public URLs (SMART discovery, the launcher page). */
  endpoints: SmartEndpoints;
  /** Mount at the root of the express app, before static files. */
  router: express.Router;
  /**
   * Whether a request URL is one of the provider's machine-to-machine endpoints (token,
   * introspection, revocation, JWKS, discovery), which the node:http listener may hand to
   * `handleDirect` without express (they are the hot path: SMART backend services).
   */
  handlesDirectly(url: string): boolean;
  handleDirect(req: IncomingMessage, res: ServerResponse): void;
  /** Access-token verification for the FHIR API (access/token-verification.ts). */
  verifier: AccessTokenVerifier;
  /** Who is calling the launcher's API and directory (launch/access.ts). */
  launcherCaller(req: Request, res: Response): Promise<LauncherCaller | LauncherRefusal>;
  /** Registered clients' metadata as registered (RFC 7591), for the launcher's client list. */
  registeredClients(limit: number): Promise<ClientMetadata[]>;
  accounts: AccountStore;
  launches: LaunchContexts;
  resourceServers: ResourceServerRegistry;
  federation: Federation;
  holder: ProviderHolder;
  /** What operators may change (users, clients, resource servers); the admin command uses the same service. */
  admin: AdminService;
  /** Seeds sample accounts and clients from the sample-data folder (idempotent). */
  seed(seedDir: string): Promise<void>;
  /** Rotates the signing keys (every node picks them up within KEY_POLL_INTERVAL_MS). */
  rotateKeys(): Promise<void>;
  close(): void;
}

/** Failed sign-ins per client address (security/rate-limit.ts). */
export const LOGIN_FAILURES_BY_ADDRESS = 'auth.login-failures-by-address';

const DIRECT_PATHS = new Set<string>(
  [ROUTES.token, ROUTES.introspection, ROUTES.revocation, ROUTES.jwks, '/.well-known/openid-configuration', '/.well-known/oauth-authorization-server'].map(
    (p) => `${AUTH_MOUNT}${p}`,
  ),
);

/** The authorization server's parts, built once; each module is handed the ones it uses. */
interface Parts {
  deps: AuthServerDependencies;
  issuer: string;
  endpoints: SmartEndpoints;
  records: ProviderRecords;
  accounts: AccountStore;
  launches: LaunchContexts;
  resourceServers: ResourceServerRegistry;
  /** Verifies tokens for the FHIR API. */
  verifier: AccessTokenVerifier;
  /** Verifies tokens of this issuer for any of its resource servers (introspection, revocation, gateways). */
  issuedTokens: AccessTokenVerifier;
  claims: ClaimMapper;
  claimNames: string[];
  fetch: OutboundFetch;
  federation: Federation;
  csrf: CsrfTokens;
  /** The SMART scope grammar as this server applies it (known resource types only). */
  parse: ParseOptions;
  secureCookies: boolean;
}

async function buildParts(deps: AuthServerDependencies): Promise<Parts> {
  const { config, documents, logger } = deps;
  const issuer = issuerOf(config);
  const resourceServers = new ResourceServerRegistry(documents, config.resourceServers);
  await resourceServers.refresh();
  resourceServers.startPolling((err) => logger.error({ err }, 'resource server reload failed'));
  const records = issuerRecords(documents);
  const audience = (audiences: readonly string[]) =>
    audiences.length === 1 && (audiences[0] === config.fhirBaseUrl || resourceServers.list().some((rs) => rs.identifier === audiences[0]));
  const accounts = new AccountStore(documents, config.fhirBaseUrl);
  const fetch = createOutboundFetch({ allowPrivateNetwork: config.allowPrivateNetworkFetch });
  return {
    deps,
    issuer,
    endpoints: smartEndpoints(config),
    records: new ProviderRecords(documents, deps.revocations),
    accounts,
    launches: new LaunchContexts(documents),
    resourceServers,
    verifier: createAccessTokenVerifier({ records, issuer, audience: config.fhirBaseUrl }),
    issuedTokens: createAccessTokenVerifier({ records, issuer, fhirBaseUrl: config.fhirBaseUrl, audience }),
    claims: new ClaimMapper(config.claimMappings, (reference) => deps.directory.read(reference)),
    claimNames: accessTokenClaimNames(config.claimMappings),
    fetch,
    federation: new Federation({ providers: config.federation, issuer, documents, accounts, directory: deps.directory, logger, fetch }),
    csrf: await CsrfTokens.open(documents),
    parse: { isResourceType: isKnownResourceType },
    secureCookies: cookiesCanBeSecure(config),
  };
}

/** What the provider is built from, on start and after every key rotation. */
function providerParts(parts: Parts): ProviderParts {
  const { config, documents, logger, revocations } = parts.deps;
  const { accounts, launches, claims, parse, verifier, issuedTokens, records } = parts;
  return {
    issuer: parts.issuer,
    trustProxy: config.trustProxy,
    configuration: {
      settings: config,
      tokenEndpoint: parts.endpoints.token,
      secureCookies: parts.secureCookies,
      documents,
      accounts,
      launches,
      claims,
      resourceServers: parts.resourceServers,
      parse,
      fetch: parts.fetch,
      logger,
      directory: parts.deps.directory,
      smartStyleUrl: smartStyleUrl(config),
      refreshTokenTtlSeconds: config.refreshTokenTtlSeconds,
    },
    routes: {
      secureCookies: parts.secureCookies,
      launches,
      introspection: { verifier, issuedTokens, claimNames: parts.claimNames, launches, accounts, records },
      revocation: { issuedTokens, records, revokedTokens: new RevokedTokens(documents), revocations },
      userinfo: { verifier, accounts, claims },
    },
    jwtBearer: {
      issuers: config.jwtBearerIssuers,
      fetch: parts.fetch,
      audiences: [parts.endpoints.token, parts.endpoints.issuer],
      fhirBaseUrl: config.fhirBaseUrl,
      parse,
      accounts,
      logger,
    },
    revocations,
    logger,
  };
}

/** Every page and route of the authorization server, in the order they are tried. */
/** What the pages need besides the parts: built after the provider. */
interface PageParts {
  holder: ProviderHolder;
  admin: AdminService;
  sessions: Sessions;
  rotate(): Promise<void>;
  caller(req: Request, res: Response): Promise<LauncherCaller | LauncherRefusal>;
}

function pagesRouter(parts: Parts, { holder, admin, sessions, rotate, caller }: PageParts): express.Router {
  const { config, documents, logger } = parts.deps;
  const clientName = async (clientId: string) => (await holder.provider.Client.find(clientId))?.clientName ?? clientId;
  const signIn = signInPages(
    {
      holder,
      accounts: parts.accounts,
      launches: parts.launches,
      directory: parts.deps.directory,
      federation: parts.federation,
      resourceServers: parts.resourceServers,
      csrf: parts.csrf,
      baseUrl: config.baseUrl,
      signInsByAddress: new FailureCounter(documents.collection<FailureRecord>(LOGIN_FAILURES_BY_ADDRESS), ADDRESS_RULE),
      settings: config,
      smartStyleUrl: smartStyleUrl(config),
      logger,
    },
    `${AUTH_MOUNT}${PAGES.interaction}`,
    `${AUTH_MOUNT}${FEDERATION_PATH}`,
  );
  const router = express.Router();
  router.use(
    launcherApi(
      {
        caller,
        launches: parts.launches,
        directory: parts.deps.directory,
        sandbox: config.launcherSandbox,
        baseUrl: config.baseUrl,
        fhirBaseUrl: config.fhirBaseUrl,
        logger,
      },
      LAUNCH_API_PATH,
    ),
  );
  router.use(smartStyleRoute(`${AUTH_MOUNT}${PAGES.smartStyle}`));
  router.use(accountPages({ sessions, records: parts.records, launches: parts.launches, clientName, logger }, AUTH_MOUNT));
  router.use(
    grantsPages(
      {
        sessions,
        records: parts.records,
        launches: parts.launches,
        clientName,
        count: (c) => documents.collection(c).count(),
        keys: () => readKeySet(documents),
        rotateKeys: rotate,
        audit: createAuditLog(documents, logger),
        storageDescription: parts.deps.storageDescription,
        logger,
      },
      AUTH_MOUNT,
    ),
  );
  router.use(adminPages({ sessions, admin, fhirBaseUrl: config.fhirBaseUrl, logger }, AUTH_MOUNT));
  router.use(
    gatewayCheck(
      { issuedTokens: parts.issuedTokens, resourceServers: parts.resourceServers, fhirBaseUrl: config.fhirBaseUrl, claimNames: parts.claimNames, logger },
      `${AUTH_MOUNT}${GATEWAY_CHECK_PATH}`,
    ),
  );
  router.use(signIn.callbacks);
  router.use(`${AUTH_MOUNT}${PAGES.interaction}`, signIn.interaction);
  // The provider's own pages (form_post response, logout) post to registered client URIs.
  router.use(AUTH_MOUNT, (req, res) => {
    withoutFormAction(res);
    holder.handle(req, res);
  });
  return router;
}

export async function createAuthServer(deps: AuthServerDependencies): Promise<AuthServer> {
  const { config, documents, logger } = deps;
  const parts = await buildParts(deps);
  await parts.records.putClient(accountClientMetadata(parts.issuer));
  const built = providerParts(parts);
  const holder = await ProviderHolder.create({
    documents,
    logger,
    build: (keySet, current) => createProvider(built, keySet, current),
    onKeysChanged: () => {
      parts.verifier.reset();
      parts.issuedTokens.reset();
    },
  });
  const rotate = async () => {
    // Old keys keep verifying for the longest JWT lifetime (access tokens and id_tokens: one hour).
    await rotateKeys(documents, { keepOldKeysForMs: (Math.max(config.accessTokenTtlSeconds, 3600, BACKEND_TOKEN_TTL_SECONDS) + 60) * 1000 });
    await holder.reloadIfKeysChanged();
  };
  const admin = new AdminService({
    documents,
    accounts: parts.accounts,
    records: parts.records,
    revocations: deps.revocations,
    identities: parts.federation.identities,
    resourceServers: parts.resourceServers,
    fhirUserExists: (reference) => deps.directory.exists(reference),
    parse: parts.parse,
    fhirBaseUrl: config.fhirBaseUrl,
    issuer: parts.issuer,
    validateClient: (metadata) => holder.provider.Client.validate(metadata as { client_id: string }),
  });
  const sessions = new Sessions({
    holder,
    accounts: parts.accounts,
    csrf: parts.csrf,
    baseUrl: config.baseUrl,
    fhirBaseUrl: config.fhirBaseUrl,
    endpoints: parts.endpoints,
  });
  const caller = (req: Request, res: Response) =>
    launcherCaller(
      {
        sandbox: config.launcherSandbox,
        verifier: parts.verifier,
        signedInAccount: (q, s) => sessions.signedInAccount(q, s),
        sameOrigin: (q) => sessions.sameOrigin(q),
        signInPage: `${parts.issuer}${PAGES.grants}`,
      },
      req,
      res,
    );
  const router = pagesRouter(parts, { holder, admin, sessions, rotate, caller });
  return {
    issuer: parts.issuer,
    endpoints: parts.endpoints,
    router,
    handlesDirectly: (url) => DIRECT_PATHS.has(url.split('?', 1)[0]!),
    handleDirect(req, res) {
      // What express does for a mounted handler: the provider routes on the path below its mount
      // and finds the mount in originalUrl.
      (req as IncomingMessage & { originalUrl?: string }).originalUrl = req.url;
      req.url = req.url!.slice(AUTH_MOUNT.length);
      holder.handle(req, res);
    },
    verifier: parts.verifier,
    launcherCaller: caller,
    registeredClients: async (limit) => (await parts.records.listClients(limit)).map(asRegistered),
    accounts: parts.accounts,
    launches: parts.launches,
    resourceServers: parts.resourceServers,
    federation: parts.federation,
    holder,
    admin,
    seed: (seedDir) =>
      seedAuthSamples({ accounts: parts.accounts, records: parts.records, directory: deps.directory, logger, baseUrl: config.baseUrl }, seedDir),
    rotateKeys: rotate,
    close: () => {
      parts.resourceServers.stop();
      holder.close();
      void parts.fetch.close();
    },
  };
}

export { smartFhirRoutes, smartSecurity } from './discovery.js';
export { issuerRecords } from './issuer-records.js';
export { refuseMalformedRequest } from './malformed-request.js';
