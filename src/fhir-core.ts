/**
 * The FHIR core: the access layer over the raw store, FHIR packages and terminology, and the
 * FHIR API with its operations (`$export`, subscriptions, terminology), without the
 * authorization server, the pages or any listener. The server (app.ts) adds those; the loader
 * and the tools build only this, and end by themselves once they close it and the store.
 */
import { createResourceAccess, type PolicyCompiler, type ResourceAccess } from './access/resource-access.js';
import type { AccessPolicy } from './access/policy.js';
import { createRevocationCheck, type RevocationCheck } from './access/revocation.js';
import { revocationRules } from './access/token-verification.js';
import { unrestrictedPolicy } from './access/unrestricted.js';
import { issuerRecords } from './auth/issuer-records.js';
import { createBulkExport, type BulkExport } from './bulk/index.js';
import type { Config } from './config.js';
import { CORE_OPERATIONS, FhirApi, type Operation, type Route } from './fhir/api.js';
import { buildCapabilityStatement, type CapabilityOptions } from './fhir/capability-statement.js';
import type { FhirServices } from './fhir/context.js';
import { ProfileValidator } from './fhir/validator/profiles/index.js';
import type { Logger } from './log.js';
import { Packages } from './packages/service.js';
import { RevocationNotices } from './security/revocation-notices.js';
import { sharedSecret } from './security/shared-secrets.js';
import { parseScopes, type ResourceScope } from './smart/scopes.js';
import type { Storage } from './storage/open.js';
import { createSubscriptions, SUBSCRIPTION_DOCUMENTATION, type Subscriptions } from './subscriptions/index.js';
import { Terminology, terminologyOperations } from './terminology/index.js';
import { VERSION } from './version.js';

export const FHIR_MOUNT = '/fhir';

/** What the installed FHIR packages' conformance resources are read with (packages/service.ts). */
const CONFORMANCE_SCOPES = ['StructureDefinition', 'SearchParameter', 'ValueSet', 'CodeSystem', 'ImplementationGuide', 'CapabilityStatement']
  .map((t) => `system/${t}.rs`)
  .join(' ');
/** What the subscriptions feature reads and updates of Subscriptions on its own. */
const SUBSCRIPTION_SCOPES = 'system/Subscription.rus';

/** The policy of one of Bedside's own in-process readers, named for audit records. */
export function servicePolicy(policies: PolicyCompiler, name: string, scope: string): AccessPolicy {
  const scopes = parseScopes(scope).scopes.filter((s): s is ResourceScope => s.kind === 'resource');
  return policies.compile({ scopes, clientId: name, subject: name, scopeStrings: scope.split(' ') });
}

export interface FhirCoreDependencies {
  config: Config;
  storage: Storage;
  logger: Logger;
  /** What the authorization server adds to the FHIR API: its discovery routes and the CapabilityStatement's security section. */
  smart?: { routes: Route[]; security: CapabilityOptions['security'] };
}

export interface FhirCore {
  api: FhirApi;
  services: FhirServices;
  /** Binds stores to policies: the only way request-serving code reaches data. */
  access: ResourceAccess;
  policies: PolicyCompiler;
  /** Revocations made on this node, told to the FHIR API's decisions at once. */
  revocations: RevocationNotices;
  revocation: RevocationCheck;
  /** FHIR packages: the server installs them at start-up and watches for others' (bedside.ts). */
  packages: Packages;
  terminology: Terminology;
  /** Bulk Data `$export`; the server starts its runner (bedside.ts), tools do not. */
  bulk: BulkExport;
  /** Subscriptions; the server starts their delivery (bedside.ts). */
  subscriptions: Subscriptions;
  /** Stops background work (not the storage). */
  close(): Promise<void>;
}

/** Builds the FHIR core over `storage`. */
export async function createFhirCore({ config, storage, logger, smart }: FhirCoreDependencies): Promise<FhirCore> {
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
  // Export jobs and subscriptions act as their owner while the owner's authorization stands; with
  // enforcement off (test-only switch) there is no owner to check.
  const owners = {
    resume: config.enforcement ? policies.resume : () => unrestrictedPolicy,
    ownerRevoked: config.enforcement ? (owner: Parameters<RevocationCheck['whyRevoked']>[0]) => revocation.whyRevoked(owner) : async () => undefined,
  };
  const subscriptions = createSubscriptions({
    config,
    documents: storage.documents,
    logger,
    access,
    changes,
    subscriptions: access.bind(servicePolicy(policies, 'bedside-subscriptions', SUBSCRIPTION_SCOPES)),
    ...owners,
    revocations,
    indexer: (resource) => packages.index(resource),
    searchRegistry: () => packages.searchRegistry(),
    websocketPath: `${FHIR_MOUNT}/websocket`,
  });
  const services = fhirServices(config, logger, packages, terminology, subscriptions);
  const bulk = createBulkExport({ config, documents: storage.documents, logger, access, ...owners, searchRegistry: () => packages.searchRegistry() });
  const operations = [...CORE_OPERATIONS, ...terminologyOperations(terminology), ...bulk.operations, ...subscriptions.operations];
  const metadata = capabilityRoute({ config, packages, subscriptions, operations, security: smart?.security });
  const api = new FhirApi([metadata, ...(smart?.routes ?? []), ...bulk.routes], operations);
  return {
    api,
    services,
    access,
    policies,
    revocations,
    revocation,
    packages,
    terminology,
    bulk,
    subscriptions,
    async close() {
      await subscriptions.close();
      await packages.close();
      await bulk.close();
    },
  };
}

/** What every FHIR interaction gets besides its request and its policy-bound store. */
function fhirServices(config: Config, logger: Logger, packages: Packages, terminology: Terminology, subscriptions: Subscriptions): FhirServices {
  return {
    config,
    logger,
    indexer: (resource) => packages.index(resource),
    writeRules: subscriptions.writeRules,
    searchRegistry: () => packages.searchRegistry(),
    conformance: packages.conformance,
    codeSets: terminology.codeSetResolver(),
    bindingCheck: (reader) => terminology.bindingCheck(reader),
    // R4 core profiles and extension definitions are built in; the installed packages'
    // StructureDefinitions and the terminology's binding check are what the options add.
    profiles: new ProfileValidator({ structureDefinition: (url) => packages.conformance.structureDefinition(url), validateCode: terminology.bindingCheck() }),
  };
}

interface CapabilitySources {
  config: Config;
  packages: Packages;
  subscriptions: Subscriptions;
  operations: Operation[];
  security: CapabilityOptions['security'] | undefined;
}

/** `GET /metadata`: the CapabilityStatement, built on first use and again after the installed packages change. */
function capabilityRoute({ config, packages, subscriptions, operations, security }: CapabilitySources): Route {
  let capability: Promise<string> | undefined;
  packages.onChange(() => (capability = undefined));
  const build = async (): Promise<string> => {
    const registry = packages.searchRegistry();
    const installed = packages.installed();
    return JSON.stringify(
      buildCapabilityStatement({
        config,
        version: VERSION,
        ...(security ? { security } : {}),
        searchParams: (type) =>
          registry
            .paramsFor(type)
            .filter((p) => p.table !== undefined)
            .map((p) => ({ name: p.code, type: p.type, definition: p.url })),
        operations: operations.flatMap((o) =>
          o.levels.map((level) => ({ name: o.name, definition: o.definition, level, ...(o.types ? { types: o.types } : {}) })),
        ),
        documentation: { Subscription: SUBSCRIPTION_DOCUMENTATION },
        websocketUrl: subscriptions.websocketUrl,
        ...(installed.length ? { packages: await packages.capabilities() } : {}),
      }),
    );
  };
  const json = (): Promise<string> =>
    (capability ??= build().catch((error: unknown) => {
      capability = undefined;
      throw error;
    }));
  return {
    method: 'GET',
    path: '/metadata',
    public: true,
    anyAccept: true,
    handler: async () => ({ status: 200, headers: { 'cache-control': 'public, max-age=300' }, body: { json: await json() } }),
  };
}
