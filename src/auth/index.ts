/**
 * Bedside's authorization server (SMART App Launch 2.2 on oidc-provider), assembled: the express
 * router to mount (provider, interaction pages, account pages, launcher API) and the access-token
 * verifier the FHIR API uses. The FHIR side of discovery (smart-configuration route, the
 * CapabilityStatement's security section) is in discovery.ts: it needs only the config.
 *
 * https://hl7.org/fhir/smart-app-launch/STU2.2/
 */
import express, { type Request, type Response } from 'express';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Config } from '../config.js';
import { isKnownResourceType } from '../fhir/validation.js';
import type { Logger } from '../log.js';
import { CsrfTokens } from '../security/csrf.js';
import { createOutboundFetch } from '../security/outbound-fetch.js';
import type { RevocationNotices } from '../security/revocation-notices.js';
import { withoutFormAction } from '../security/headers.js';
import { ADDRESS_RULE, FailureCounter, type FailureRecord } from '../security/rate-limit.js';
import type { DocumentStore } from '../storage/document-store.js';
import { AccountStore } from './accounts.js';
import { adminPages } from './admin/pages.js';
import { AdminService } from './admin/service.js';
import { ClaimMapper } from './claims/mapper.js';
import { accessTokenClaimNames } from '../config/claims.js';
import { federationRoutes } from './federation/routes.js';
import { Federation, FEDERATION_PATH } from './federation/service.js';
import { GATEWAY_CHECK_PATH, gatewayCheck } from './resource-servers/gateway-check.js';
import { ResourceServerRegistry } from './resource-servers/registry.js';
import { AUTH_MOUNT, cookiesCanBeSecure, issuerOf, LAUNCH_API_PATH, PAGES, ROUTES, smartEndpoints } from './endpoints.js';
import { GrantRegistry } from './grants.js';
import { interactionRouter } from './interactions/router.js';
import { rotateKeys } from './keys.js';
import { LaunchContexts } from './launch-context.js';
import { accountPages } from './pages/account-pages.js';
import { launcherCaller, type LauncherCaller, type LauncherRefusal } from './pages/launcher-access.js';
import { launcherApi } from './pages/launcher-api.js';
import { accountClientMetadata } from './pages/session.js';
import { smartStyleRoute } from './pages/smart-style.js';
import type { PatientDirectory } from '../directory/patient-directory.js';
import { ProviderHolder } from './provider.js';
import { BACKEND_TOKEN_TTL_SECONDS } from './provider-config.js';
import { seedAuthSamples, upsertClient } from './seed.js';
import type { AuthServices } from './services.js';
import { createAccessTokenVerifier, type AccessTokenVerifier } from '../access/token-verification.js';
import { issuerRecords } from './issuer-records.js';

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
  /** Who is calling the launcher's API and directory (pages/launcher-access.ts). */
  launcherCaller(req: Request, res: Response): Promise<LauncherCaller | LauncherRefusal>;
  services: AuthServices;
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

const DIRECT_PATHS = new Set<string>([
  ROUTES.token,
  ROUTES.introspection,
  ROUTES.revocation,
  ROUTES.jwks,
  '/.well-known/openid-configuration',
  '/.well-known/oauth-authorization-server',
].map((p) => `${AUTH_MOUNT}${p}`));

export async function createAuthServer(deps: AuthServerDependencies): Promise<AuthServer> {
  const { config, documents } = deps;
  const issuer = issuerOf(config);
  const records = issuerRecords(documents);
  const verifier = createAccessTokenVerifier({ records, issuer, audience: config.fhirBaseUrl });
  const resourceServers = new ResourceServerRegistry(documents, config.resourceServers);
  await resourceServers.refresh();
  resourceServers.startPolling((err) => deps.logger.error({ err }, 'resource server reload failed'));
  const issuedTokens = createAccessTokenVerifier({
    records,
    issuer,
    fhirBaseUrl: config.fhirBaseUrl,
    audience: (audiences) => audiences.length === 1 && (audiences[0] === config.fhirBaseUrl || resourceServers.list().some((rs) => rs.identifier === audiences[0])),
  });
  const accounts = new AccountStore(documents, config.fhirBaseUrl);
  const outboundFetch = createOutboundFetch({ allowPrivateNetwork: config.allowPrivateNetworkFetch });
  let holder: ProviderHolder | undefined;
  const services: AuthServices = {
    config,
    logger: deps.logger,
    documents,
    accounts,
    launches: new LaunchContexts(documents),
    grants: new GrantRegistry(documents, deps.revocations),
    revocations: deps.revocations,
    verifier,
    issuedTokens,
    resourceServers,
    claims: new ClaimMapper(config.claimMappings, (reference) => deps.directory.read(reference)),
    outboundFetch,
    federation: new Federation({ providers: config.federation, issuer, documents, accounts, directory: deps.directory, logger: deps.logger, fetch: outboundFetch }),
    directory: deps.directory,
    endpoints: smartEndpoints(config),
    parse: { isResourceType: isKnownResourceType },
    csrf: await CsrfTokens.open(documents),
    signInsByAddress: new FailureCounter(documents.collection<FailureRecord>(LOGIN_FAILURES_BY_ADDRESS), ADDRESS_RULE),
    secureCookies: cookiesCanBeSecure(config),
    storageDescription: deps.storageDescription,
    async rotateKeys() {
      // Old keys keep verifying for the longest JWT lifetime (access tokens and id_tokens: one hour).
      await rotateKeys(documents, { keepOldKeysForMs: (Math.max(config.accessTokenTtlSeconds, 3600, BACKEND_TOKEN_TTL_SECONDS) + 60) * 1000 });
      await holder?.reloadIfKeysChanged();
    },
  };
  await upsertClient(services, accountClientMetadata(issuer));
  holder = await ProviderHolder.create(services);
  const current = holder;

  const admin = new AdminService({
    documents,
    accounts,
    grants: services.grants,
    revocations: deps.revocations,
    identities: services.federation.identities,
    resourceServers,
    fhirUserExists: (reference) => deps.directory.exists(reference),
    parse: services.parse,
    fhirBaseUrl: config.fhirBaseUrl,
    issuer,
    validateClient: (metadata) => current.provider.Client.validate(metadata as { client_id: string }),
  });
  const federation = federationRoutes(services, current, { interactionBase: `${AUTH_MOUNT}${PAGES.interaction}`, callbackBase: `${AUTH_MOUNT}${FEDERATION_PATH}` });

  const router = express.Router();
  router.use(launcherApi(services, current, LAUNCH_API_PATH));
  router.use(smartStyleRoute(`${AUTH_MOUNT}${PAGES.smartStyle}`));
  router.use(accountPages(services, current, AUTH_MOUNT));
  router.use(adminPages(services, current, admin, AUTH_MOUNT));
  router.use(gatewayCheck(services, `${AUTH_MOUNT}${GATEWAY_CHECK_PATH}`, accessTokenClaimNames(config.claimMappings)));
  router.use(federation.callbacks);
  router.use(`${AUTH_MOUNT}${PAGES.interaction}`, federation.interaction);
  router.use(`${AUTH_MOUNT}${PAGES.interaction}`, interactionRouter(services, current, `${AUTH_MOUNT}${PAGES.interaction}`));
  // The provider's own pages (form_post response, logout) post to registered client URIs.
  router.use(AUTH_MOUNT, (req, res) => {
    withoutFormAction(res);
    current.handle(req, res);
  });

  return {
    issuer,
    router,
    handlesDirectly: (url) => DIRECT_PATHS.has(url.split('?', 1)[0]!),
    handleDirect(req, res) {
      // What express does for a mounted handler: the provider routes on the path below its mount
      // and finds the mount in originalUrl.
      (req as IncomingMessage & { originalUrl?: string }).originalUrl = req.url;
      req.url = req.url!.slice(AUTH_MOUNT.length);
      current.handle(req, res);
    },
    verifier,
    launcherCaller: (req, res) => launcherCaller(services, current, req, res),
    services,
    holder: current,
    admin,
    seed: (seedDir) => seedAuthSamples(services, seedDir),
    rotateKeys: () => services.rotateKeys(),
    close: () => {
      resourceServers.stop();
      current.close();
      void outboundFetch.close();
    },
  };
}

export { smartFhirRoutes, smartSecurity } from './discovery.js';
export { issuerRecords } from './issuer-records.js';
