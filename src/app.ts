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
import { createAuthServer, issuerRecords, smartFhirRoutes, smartSecurity, type AuthServer } from './auth/index.js';
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
import { createFhirHttpHandler } from './fhir/http-adapter.js';
import { extractIndex, getSearchRegistry } from './fhir/search/index.js';
import type { Logger } from './log.js';
import { baselineHeaders, pageSecurityHeaders } from './security/headers.js';
import { RevocationNotices } from './security/revocation-notices.js';
import type { Storage } from './storage/open.js';
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
  /** Stops background work started by the app (not the storage). */
  close(): Promise<void>;
}

export async function createApp({ config, storage, logger }: AppDependencies): Promise<App> {
  const services: FhirServices = {
    config,
    logger,
    indexer: (resource) => extractIndex(resource, { baseUrl: config.fhirBaseUrl }),
    // R4 core profiles and extension definitions are built in; the installed packages'
    // StructureDefinitions (`structureDefinition`) and the terminology's binding check
    // (`validateCode`) are what the options add.
    profiles: new ProfileValidator(),
  };
  // The raw store goes into the access layer here and nowhere else that serves requests.
  const { access, policies } = createResourceAccess(storage.resources, {
    fhirBaseUrl: config.fhirBaseUrl,
    referenceWindowMs: config.revocationCheckMs,
    practitionerPatients: config.practitionerPatients,
  });
  // Revocations made on this node reach the FHIR API's decisions at once; other nodes' within REVOCATION_CHECK_MS.
  const revocations = new RevocationNotices();
  const revocation = createRevocationCheck(revocationRules(issuerRecords(storage.documents)), { windowMs: config.revocationCheckMs, notices: revocations });

  // Export jobs run as their owner, while the owner's authorization stands; with enforcement off
  // (test-only switch) there is no owner to check.
  const bulk = createBulkExport({
    config,
    documents: storage.documents,
    logger,
    access,
    resume: config.enforcement ? policies.resume : () => unrestrictedPolicy,
    ownerRevoked: config.enforcement ? (owner) => revocation.whyRevoked(owner) : async () => undefined,
  });
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
  const operations = [...CORE_OPERATIONS, ...bulk.operations];
  const registry = getSearchRegistry();
  const capabilityJson = JSON.stringify(
    buildCapabilityStatement({
      config,
      version: VERSION,
      security: smartSecurity(config),
      searchParams: (type) => registry.paramsFor(type).filter((p) => p.table !== undefined).map((p) => ({ name: p.code, type: p.type, definition: p.url })),
      operations: operations.flatMap((o) => o.levels.map((level) => ({ name: o.name, definition: o.definition, level, ...(o.types ? { types: o.types } : {}) }))),
    }),
  );
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
  web.use(launcherRouter({ config, logger, fhir: { api, services }, caller: auth.launcherCaller, storesFor: launcherStores, clients: (limit) => auth.registeredClients(limit), endpoints: auth.endpoints, root: ROOT }));
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
    async close() {
      await bulk.close();
      await auth.close();
    },
  };
}
