/**
 * Composes Bedside: the lean FHIR handler for `/fhir/*`, express for everything else
 * (authorization server, launcher, pages), and `/health`. The caller opens the storage and the
 * HTTP server (see bedside.ts); the only I/O here is the authorization server reading (or, on
 * first start, creating) its signing keys and internal client in the store.
 */
import express from 'express';
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { noAuthentication } from './access/authenticate.js';
import { createAuditLog } from './access/audit-log.js';
import { createBearerAuthenticator } from './access/bearer-authenticator.js';
import { createResourceAccess, type PolicyCompiler, type ResourceAccess } from './access/resource-access.js';
import type { AccessPolicy } from './access/policy.js';
import { unrestrictedPolicy } from './access/unrestricted.js';
import { parseScopes, type ResourceScope } from './smart/scopes.js';
import { createAccessTokenVerifier } from './auth/token-verification.js';
import { createPrincipalRevocationCheck } from './auth/principal-revocation.js';
import { createAuthServer, smartFhirRoutes, smartSecurity, type AuthServer } from './auth/index.js';
import { accessTokenClaimNames } from './auth/claims/settings.js';
import { createPatientDirectory } from './auth/patient-directory.js';
import { createBulkExport, type BulkExport } from './bulk/index.js';
import type { Config } from './config.js';
import { CORE_OPERATIONS, FhirApi, type Route } from './fhir/api.js';
import { buildCapabilityStatement } from './fhir/capability-statement.js';
import { launcherRouter } from './launcher/index.js';
import type { FhirServices } from './fhir/context.js';
import { createFhirHttpHandler } from './fhir/http-adapter.js';
import { extractIndex, getSearchRegistry } from './fhir/search/index.js';
import type { Logger } from './log.js';
import { baselineHeaders, pageSecurityHeaders } from './security/headers.js';
import type { Storage } from './storage/open.js';
import { createSubscriptions, SUBSCRIPTION_DOCUMENTATION, type Subscriptions } from './subscriptions/index.js';
import { VERSION } from './version.js';

export const FHIR_MOUNT = '/fhir';

/** What the sign-in pages look up: patients to pick, their encounters, a user's fhirUser. */
const AUTH_DIRECTORY_SCOPES = 'system/Patient.rs system/Encounter.rs system/Practitioner.rs system/PractitionerRole.rs system/RelatedPerson.rs system/Person.rs';
/** What the subscriptions feature reads and updates of Subscriptions on its own. */
const SUBSCRIPTION_SCOPES = 'system/Subscription.rus';
/** What the launcher's pickers list. */
const LAUNCHER_SCOPES = 'system/Patient.rs system/Encounter.rs system/Practitioner.rs';

/** The policy of one of Bedside's own in-process readers, named for audit records. */
function servicePolicy(policies: PolicyCompiler, name: string, scope: string): AccessPolicy {
  const scopes = parseScopes(scope).scopes.filter((s): s is ResourceScope => s.kind === 'resource');
  return policies.compile({ scopes, clientId: name, subject: name, scopeStrings: scope.split(' ') });
}
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export interface AppDependencies {
  config: Config;
  storage: Storage;
  logger: Logger;
}

export interface App {
  /** The node:http request listener for the whole server. */
  listener: (req: IncomingMessage, res: ServerResponse) => void;
  fhir: { api: FhirApi; services: FhirServices; access: ResourceAccess };
  /** The SMART authorization server (auth/index.ts). */
  auth: AuthServer;
  /** Bulk Data `$export`; the server starts its runner (bedside.ts), in-process tools do not. */
  bulk: BulkExport;
  /** Subscriptions; the server starts their delivery (bedside.ts) and passes websocket upgrades here. */
  subscriptions: Subscriptions;
  /** Stops background work started by the app (not the storage). */
  close(): Promise<void>;
}

export async function createApp({ config, storage, logger }: AppDependencies): Promise<App> {
  const indexer: FhirServices['indexer'] = (resource) => extractIndex(resource, { baseUrl: config.fhirBaseUrl });
  // The raw store goes into the access layer here and nowhere else that serves requests.
  const { access, policies, changes } = createResourceAccess(storage.resources, { fhirBaseUrl: config.fhirBaseUrl, referenceWindowMs: config.revocationCheckMs });

  // Export jobs run as their owner, while the owner's authorization stands; with enforcement off
  // (test-only switch) there is no owner to check.
  const ownerRevocation = createPrincipalRevocationCheck(storage.documents, config.fhirBaseUrl);
  const bulk = createBulkExport({
    config,
    documents: storage.documents,
    logger,
    access,
    resume: config.enforcement ? policies.resume : () => unrestrictedPolicy,
    ownerRevoked: config.enforcement ? ownerRevocation : async () => undefined,
  });
  // Subscriptions notify as their owner, while the owner's authorization stands (as export jobs run).
  const subscriptions = createSubscriptions({
    config,
    documents: storage.documents,
    logger,
    access,
    changes,
    subscriptions: access.bind(servicePolicy(policies, 'bedside-subscriptions', SUBSCRIPTION_SCOPES)),
    resume: config.enforcement ? policies.resume : () => unrestrictedPolicy,
    ownerRevoked: config.enforcement ? ownerRevocation : async () => undefined,
    indexer,
    websocketPath: `${FHIR_MOUNT}/websocket`,
  });
  const services: FhirServices = { config, logger, indexer, writeRules: subscriptions.writeRules };
  const fhirRoutes: Route[] = [
    {
      method: 'GET',
      path: '/metadata',
      public: true,
      handler: async () => ({ status: 200, headers: { 'cache-control': 'public, max-age=300' }, body: { json: capabilityJson } }),
    },
    ...smartFhirRoutes(config),
    ...bulk.routes,
  ];
  const operations = [...CORE_OPERATIONS, ...bulk.operations, ...subscriptions.operations];
  const registry = getSearchRegistry();
  const capabilityJson = JSON.stringify(
    buildCapabilityStatement({
      config,
      version: VERSION,
      security: smartSecurity(config),
      searchParams: (type) => registry.paramsFor(type).filter((p) => p.table !== undefined).map((p) => ({ name: p.code, type: p.type, definition: p.url })),
      operations: operations.flatMap((o) => o.levels.map((level) => ({ name: o.name, definition: o.definition, level, ...(o.types ? { types: o.types } : {}) }))),
      documentation: { Subscription: SUBSCRIPTION_DOCUMENTATION },
      websocketUrl: subscriptions.websocketUrl,
    }),
  );
  const api = new FhirApi(fhirRoutes, operations);
  const directoryStore = access.bind(servicePolicy(policies, 'bedside-auth', AUTH_DIRECTORY_SCOPES));
  const auth = await createAuthServer({ config, documents: storage.documents, logger, directory: createPatientDirectory(api, services, directoryStore), storageDescription: storage.description });
  // The FHIR API's own verifier: its "not revoked" answers may be reused for REVOCATION_CHECK_MS.
  const authenticator = config.enforcement
    ? createBearerAuthenticator({
        verifier: createAccessTokenVerifier({ documents: storage.documents, issuer: auth.issuer, audience: config.fhirBaseUrl, revocationCacheMs: config.revocationCheckMs }),
        revocationCheckMs: config.revocationCheckMs,
        policies,
        fhirBaseUrl: config.fhirBaseUrl,
        auditClaims: accessTokenClaimNames(config.claimMappings),
      })
    : noAuthentication;
  if (!config.enforcement) logger.warn('BEDSIDE_UNSAFE_DISABLE_AUTH is set: the FHIR API is open to anyone (test and benchmark use only)');
  const audit = createAuditLog(storage.documents, logger);
  const fhirHandler = createFhirHttpHandler({ api, services, access, authenticator, logger, mountPath: FHIR_MOUNT, audit });

  // Security headers (security/headers.ts): nosniff and HSTS on everything, helmet on the pages.
  const https = new URL(config.baseUrl).protocol === 'https:';
  const secureBaseline = baselineHeaders({ https });
  const web = express();
  web.disable('x-powered-by');
  web.set('trust proxy', config.trustProxy);
  web.use(pageSecurityHeaders({ https }));
  web.use(auth.router);
  const launcherStore = access.bind(servicePolicy(policies, 'bedside-launcher', LAUNCHER_SCOPES));
  web.use(launcherRouter({ config, logger, fhir: { api, services, store: launcherStore }, documents: storage.documents, endpoints: auth.services.endpoints, root: ROOT }));
  web.use(express.static(path.join(ROOT, 'launch'), { index: 'index.html' }));
  web.use((_req, res) => {
    res.status(404).type('text/plain').send('Not found');
  });

  const listener = (req: IncomingMessage, res: ServerResponse): void => {
    const url = req.url ?? '/';
    secureBaseline(res);
    if (url === FHIR_MOUNT || url.startsWith(FHIR_MOUNT + '/') || url.startsWith(FHIR_MOUNT + '?')) {
      fhirHandler(req, res);
    } else if (auth.handlesDirectly(url)) {
      auth.handleDirect(req, res);
    } else if (url === '/health') {
      const body = '{"status":"ok"}';
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(body.length), 'cache-control': 'no-store' }).end(body);
    } else {
      web(req, res);
    }
  };

  return {
    listener,
    fhir: { api, services, access },
    auth,
    bulk,
    subscriptions,
    async close() {
      await subscriptions.close();
      await bulk.close();
      await auth.close();
    },
  };
}
