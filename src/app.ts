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
import { createAuthServer, refuseMalformedRequest, smartFhirRoutes, smartSecurity, type AuthServer } from './auth/index.js';
import { accessTokenClaimNames } from './config/claims.js';
import { signedInUser } from './auth/accounts/account-store.js';
import type { LauncherCaller } from './auth/launch/access.js';
import { createPatientDirectory } from './directory/patient-directory.js';
import type { BulkExport } from './bulk/index.js';
import type { Config } from './config.js';
import { launcherRouter, type LauncherStores } from './launcher/index.js';
import type { FhirServices } from './fhir/context.js';
import type { FhirApi } from './fhir/api.js';
import type { PolicyCompiler, ResourceAccess } from './access/resource-access.js';
import { createFhirCore, FHIR_MOUNT, servicePolicy } from './fhir-core.js';

export { FHIR_MOUNT } from './fhir-core.js';
import { createFhirHttpHandler } from './http/fhir-adapter.js';
import type { Packages } from './packages/service.js';
import type { Terminology } from './terminology/index.js';
import { strictInput } from './http/strict-input.js';
import type { Logger } from './log.js';
import { baselineHeaders, pageSecurityHeaders } from './security/headers.js';
import type { Storage } from './storage/open.js';
import type { Subscriptions } from './subscriptions/index.js';

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
  const core = await createFhirCore({ config, storage, logger, smart: { routes: smartFhirRoutes(config), security: smartSecurity(config) } });
  const { api, services, access, policies, revocations, revocation, packages } = core;
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
  const launcherStores = launcherStoresFor(access, policies);
  // The launcher reads what is installed; it gets nothing that installs or reads through the raw store.
  const installedPackages = { installed: () => packages.installed(), capabilities: () => packages.capabilities() };
  web.use(
    launcherRouter({
      config,
      logger,
      fhir: { api, services },
      packages: installedPackages,
      caller: auth.launcherCaller,
      storesFor: launcherStores,
      clients: (limit) => auth.registeredClients(limit),
      endpoints: auth.endpoints,
      root: ROOT,
    }),
  );
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
    if (url === FHIR_MOUNT || url.startsWith(`${FHIR_MOUNT}/`) || url.startsWith(`${FHIR_MOUNT}?`)) {
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
    bulk: core.bulk,
    packages,
    terminology: core.terminology,
    subscriptions: core.subscriptions,
    async close() {
      await core.close();
      await auth.close();
    },
  };
}

/** The launcher's directory reads what its caller may see (launcher/index.ts). */
function launcherStoresFor(access: ResourceAccess, policies: PolicyCompiler): (caller: LauncherCaller) => LauncherStores {
  const sandboxStore = access.bind(servicePolicy(policies, 'bedside-launcher', LAUNCHER_SANDBOX_SCOPES));
  const staffStore = access.bind(servicePolicy(policies, 'bedside-launcher-staff', LAUNCHER_STAFF_SCOPES));
  return (caller) => {
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
}
