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
import { createBearerAuthenticator, tokenFacts } from './access/bearer-authenticator.js';
import { createResourceAccess, type PolicyCompiler, type ResourceAccess } from './access/resource-access.js';
import { createRevocationCheck } from './access/revocation.js';
import type { AccessPolicy } from './access/policy.js';
import { unrestrictedPolicy } from './access/unrestricted.js';
import { parseScopes, type ResourceScope } from './smart/scopes.js';
import { revocationRules } from './access/token-verification.js';
import { createAuthServer, issuerRecords, refuseMalformedRequest, smartFhirRoutes, smartSecurity, type AuthServer } from './auth/index.js';
import { accessTokenClaimNames } from './config/claims.js';
import { signedInUser } from './auth/accounts/account-store.js';
import type { LauncherCaller } from './auth/launch/access.js';
import { createPatientDirectory } from './directory/patient-directory.js';
import { createBulkExport, type BulkExport } from './bulk/index.js';
import type { Config } from './config.js';
import { CORE_OPERATIONS, FhirApi, type Route } from './fhir/api.js';
import { buildCapabilityStatement } from './fhir/capability-statement.js';
import { ProfileValidator } from './fhir/validator/profiles/index.js';
import { launcherRouter, type LauncherStores } from './launcher/index.js';
import type { FhirServices } from './fhir/context.js';
import { createFhirHttpHandler } from './http/fhir-adapter.js';
import { Packages } from './packages/service.js';
import { Terminology, terminologyOperations } from './terminology/index.js';
import { sharedSecret } from './security/shared-secrets.js';
import { strictInput } from './http/strict-input.js';
import type { Logger } from './log.js';
import { baselineHeaders, pageSecurityHeaders } from './security/headers.js';
import { RevocationNotices } from './security/revocation-notices.js';
import type { Storage } from './storage/open.js';
import { createSubscriptions, SUBSCRIPTION_DOCUMENTATION, type Subscriptions } from './subscriptions/index.js';
import { VERSION } from './version.js';

export const FHIR_MOUNT = '/fhir';

/**
 * What the authorization server looks up by reference or identifier, and never lists: users'
 * fhirUser resources (claim mappings, federation, the admin pages) and whether an EHR launch's
 * patient, encounter and practitioner exist. The patients a user may pick are read through that
 * user's own selection policy instead (PolicyCompiler.selection).
 */
const AUTH_LOOKUP_SCOPES = 'system/Patient.rs system/Encounter.rs system/Practitioner.rs system/PractitionerRole.rs system/RelatedPerson.rs system/Person.rs';
/** What the launcher lists in the sandbox, which trusts whoever reaches it (LAUNCHER_SANDBOX). */
const LAUNCHER_SANDBOX_SCOPES = 'system/Patient.rs system/Encounter.rs system/Practitioner.rs';
/** Practitioners the launcher lists to an operator outside the sandbox (staff, not patient data). */
const LAUNCHER_STAFF_SCOPES = 'system/Practitioner.rs';
/** What the installed FHIR packages' conformance resources are read with (packages/service.ts). */
const CONFORMANCE_SCOPES = ['StructureDefinition', 'SearchParameter', 'ValueSet', 'CodeSystem', 'ImplementationGuide', 'CapabilityStatement'].map((t) => `system/${t}.rs`).join(' ');
/** What the subscriptions feature reads and updates of Subscriptions on its own. */
const SUBSCRIPTION_SCOPES = 'system/Subscription.rus';

/** The policy of one of Bedside's own in-process readers, named for audit records. */
function servicePolicy(policies: PolicyCompiler, name: string, scope: string): AccessPolicy {
  const scopes = parseScopes(scope).scopes.filter((s): s is ResourceScope => s.kind === 'resource');
  return policies.compile({ scopes, clientId: name, subject: name, scopeStrings: scope.split(' ') });
}

/** The largest body any express page or provider endpoint accepts (forms: 64kb; the provider: 56kb). */
const WEB_BODY_LIMIT = 64 * 1024;
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
  /** FHIR packages: installed at start-up by the server (bedside.ts), watched on servers. */
  packages: Packages;
  /** The terminology service (its `bindingCheck()` is what profile validation calls). */
  terminology: Terminology;
  /** Subscriptions; the server starts their delivery (bedside.ts) and passes websocket upgrades here. */
  subscriptions: Subscriptions;
  /** Stops background work started by the app (not the storage). */
  close(): Promise<void>;
}

export async function createApp({ config, storage, logger }: AppDependencies): Promise<App> {
  // The raw store goes into the access layer here and nowhere else that serves requests.
  const { access, policies, changes } = createResourceAccess(storage.resources, {
    fhirBaseUrl: config.fhirBaseUrl,
    referenceWindowMs: config.revocationCheckMs,
    practitionerPatients: config.practitionerPatients,
    // The change feed matches subscription criteria with the parameters in force (packages' too).
    searchRegistry: () => packages.searchRegistry(),
    // Every node seals and opens paging cursors with the same key.
    cursorKey: await sharedSecret(storage.documents, 'cursors'),
  });
  // Revocations made on this node reach the FHIR API's decisions at once; other nodes' within REVOCATION_CHECK_MS.
  const revocations = new RevocationNotices();
  const revocation = createRevocationCheck(revocationRules(issuerRecords(storage.documents)), { windowMs: config.revocationCheckMs, notices: revocations });
  // FHIR packages: installed through the raw store (start-up, the CLI: no request), their
  // conformance resources read by everyone else through a store that may read only those.
  const packages = new Packages({
    resources: storage.resources,
    reader: access.bind(servicePolicy(policies, 'bedside-packages', CONFORMANCE_SCOPES)),
    documents: storage.documents,
    fhirBaseUrl: config.fhirBaseUrl,
    logger,
  });
  // The installed packages decide the search parameters: read them before anything is indexed.
  await packages.refresh();
  const terminology = new Terminology(packages.conformance);
  const indexer: FhirServices['indexer'] = (resource) => packages.index(resource);
  // Subscriptions notify as their owner, while the owner's authorization stands (as export jobs
  // run); a revocation on this node stops them at once.
  const subscriptions = createSubscriptions({
    config,
    documents: storage.documents,
    logger,
    access,
    changes,
    subscriptions: access.bind(servicePolicy(policies, 'bedside-subscriptions', SUBSCRIPTION_SCOPES)),
    resume: config.enforcement ? policies.resume : () => unrestrictedPolicy,
    ownerRevoked: config.enforcement ? (owner) => revocation.whyRevoked(owner) : async () => undefined,
    revocations,
    indexer,
    searchRegistry: () => packages.searchRegistry(),
    websocketPath: `${FHIR_MOUNT}/websocket`,
  });
  const services: FhirServices = {
    config,
    logger,
    indexer,
    writeRules: subscriptions.writeRules,
    searchRegistry: () => packages.searchRegistry(),
    conformance: packages.conformance,
    codeSets: terminology.codeSetResolver(),
    bindingCheck: (reader) => terminology.bindingCheck(reader),
    // R4 core profiles and extension definitions are built in; the installed packages'
    // StructureDefinitions and the terminology's binding check are what the options add.
    profiles: new ProfileValidator({ structureDefinition: (url) => packages.conformance.structureDefinition(url), validateCode: terminology.bindingCheck() }),
  };

  // Export jobs run as their owner, while the owner's authorization stands; with enforcement off
  // (test-only switch) there is no owner to check.
  const bulk = createBulkExport({
    config,
    documents: storage.documents,
    logger,
    access,
    resume: config.enforcement ? policies.resume : () => unrestrictedPolicy,
    ownerRevoked: config.enforcement ? (owner) => revocation.whyRevoked(owner) : async () => undefined,
    searchRegistry: () => packages.searchRegistry(),
  });
  const fhirRoutes: Route[] = [
    {
      method: 'GET',
      path: '/metadata',
      public: true,
      anyAccept: true,
      handler: async () => ({ status: 200, headers: { 'cache-control': 'public, max-age=300' }, body: { json: await capabilityJson() } }),
    },
    ...smartFhirRoutes(config),
    ...bulk.routes,
  ];
  const operations = [...CORE_OPERATIONS, ...terminologyOperations(terminology), ...bulk.operations, ...subscriptions.operations];
  // Built on first use and again after the installed packages change.
  let capability: Promise<string> | undefined;
  packages.onChange(() => (capability = undefined));
  const capabilityJson = (): Promise<string> =>
    (capability ??= (async () => {
      const registry = packages.searchRegistry();
      const installed = packages.installed();
      return JSON.stringify(
        buildCapabilityStatement({
          config,
          version: VERSION,
          security: smartSecurity(config),
          searchParams: (type) => registry.paramsFor(type).filter((p) => p.table !== undefined).map((p) => ({ name: p.code, type: p.type, definition: p.url })),
          operations: operations.flatMap((o) => o.levels.map((level) => ({ name: o.name, definition: o.definition, level, ...(o.types ? { types: o.types } : {}) }))),
          documentation: { Subscription: SUBSCRIPTION_DOCUMENTATION },
          websocketUrl: subscriptions.websocketUrl,
          ...(installed.length ? { packages: await packages.capabilities() } : {}),
        }),
      );
    })().catch((error: unknown) => {
      capability = undefined;
      throw error;
    }));
  const api = new FhirApi(fhirRoutes, operations);
  const directory = createPatientDirectory(api, services, {
    lookups: access.bind(servicePolicy(policies, 'bedside-auth', AUTH_LOOKUP_SCOPES)),
    forUser: (user) => access.bind(policies.selection(user)),
  });
  const auth = await createAuthServer({ config, documents: storage.documents, logger, directory, storageDescription: storage.description, revocations });
  const authenticator = config.enforcement
    ? createBearerAuthenticator({
        verifier: auth.verifier,
        revocation,
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
  const sandboxStore = access.bind(servicePolicy(policies, 'bedside-launcher', LAUNCHER_SANDBOX_SCOPES));
  const staffStore = access.bind(servicePolicy(policies, 'bedside-launcher-staff', LAUNCHER_STAFF_SCOPES));
  /** The launcher's directory reads what its caller may see (launcher/index.ts). */
  const launcherStores = (caller: LauncherCaller): LauncherStores => {
    switch (caller.kind) {
      case 'sandbox':
        return { patients: sandboxStore, practitioners: sandboxStore };
      case 'operator':
        return { patients: access.bind(policies.selection(signedInUser(caller.account))), practitioners: staffStore };
      case 'client': {
        const own = access.bind(policies.compile(tokenFacts(caller.token)));
        return { patients: own, practitioners: own };
      }
    }
  };
  // The launcher reads what is installed; it gets nothing that installs or reads through the raw store.
  const installedPackages = { installed: () => packages.installed(), capabilities: () => packages.capabilities() };
  web.use(launcherRouter({ config, logger, fhir: { api, services }, packages: installedPackages, caller: auth.launcherCaller, storesFor: launcherStores, clients: (limit) => auth.registeredClients(limit), endpoints: auth.endpoints, root: ROOT }));
  web.use(express.static(path.join(ROOT, 'launch'), { index: 'index.html' }));
  web.use((_req, res) => {
    res.status(404).type('text/plain').send('Not found');
  });

  // The FHIR handler decodes its input strictly itself; everything else parses with libraries
  // that would replace malformed UTF-8 silently, so it is checked before them.
  const webListener = strictInput({ maxBodyBytes: WEB_BODY_LIMIT, refuse: refuseMalformedRequest }, (req, res) => {
    if (auth.handlesDirectly(req.url ?? '/')) auth.handleDirect(req, res);
    else web(req, res);
  });
  const listener = (req: IncomingMessage, res: ServerResponse): void => {
    const url = req.url ?? '/';
    secureBaseline(res);
    if (url === FHIR_MOUNT || url.startsWith(FHIR_MOUNT + '/') || url.startsWith(FHIR_MOUNT + '?')) {
      fhirHandler(req, res);
    } else if (url === '/health') {
      const body = '{"status":"ok"}';
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(body.length), 'cache-control': 'no-store' }).end(body);
    } else {
      webListener(req, res);
    }
  };

  return {
    listener,
    fhir: { api, services, access },
    auth,
    bulk,
    packages,
    terminology,
    subscriptions,
    async close() {
      await subscriptions.close();
      await packages.close();
      await bulk.close();
      await auth.close();
    },
  };
}
