/**
 * How request-serving code reaches FHIR data: only through a store bound to a principal's
 * access policy. The raw store goes in once, at start-up (app.ts); what comes out are
 * - `ResourceAccess.bind(policy)`: the store as that policy may see it (access/guarded-store.ts),
 *   for policies the access layer made (a token's, a stored export job's, a signed-in user's);
 * - `PolicyCompiler.compile(facts)`: a policy from what a verified token (or a job recorded from
 *   one) says;
 * - `PolicyCompiler.selection(user)`: the policy of a signed-in user choosing a patient context
 *   (the user policy, access/user-policy.ts);
 * - `ChangeFeed` (access/change-feed.ts): the store's change feed, whose content comes out only
 *   for standing searches run under a policy.
 * The unrestricted policy (access/unrestricted.ts) is for trusted tools only, and
 * test/unit/access/construction.test.ts fails when request-serving code imports it or the raw
 * store.
 */
import type { Resource } from 'fhir/r4';
import { extractIndex } from '../search/extract.js';
import type { SearchRegistry } from '../search/registry.js';
import type { ResourceStore } from '../storage/resource-store.js';
import { createChangeFeed, type ChangeFeed } from './change-feed.js';
import { cursorSeal } from './cursor-seal.js';
import { guardStore, type GuardedStore } from './guarded-store.js';
import { isMinted } from './minted.js';
import { parseScopes } from '../smart/scopes.js';
import type { ResourceScope } from '../smart/scopes.js';
import type { PractitionerPatients } from '../config.js';
import type { AccessPolicy, Principal } from './policy.js';
import { createLinkResolver, createReferenceResolver } from './reference-resolver.js';
import type { PatientGrant } from './rules.js';
import { compileTokenPolicy, type PolicyServices, type TokenFacts } from './token-policy.js';

/** A signed-in user, as the user policy sees them (the sign-in pages, the launcher for operators). */
export interface SignedInUser {
  /** The account id (the OpenID `sub`). */
  subject: string;
  /** Relative reference, e.g. `Practitioner/123`. */
  fhirUser?: string;
  /** What an operator granted an account whose fhirUser gives no reach. */
  patientGrant?: PatientGrant;
}

/**
 * What a user choosing a patient context may look at: the patients they may select and those
 * patients' encounters (read and search), through `user/` scopes and the user policy.
 */
const SELECTION_SCOPES = ['user/Patient.rs', 'user/Encounter.rs'];
/** The client the selection policy is recorded under. */
const SELECTION_CLIENT = 'bedside-patient-selection';

export interface ResourceAccess {
  /** The store as `policy` may see it. Throws for a policy the access layer did not make. */
  bind(policy: AccessPolicy): GuardedStore;
}

export interface PolicyCompiler {
  /** The policy of a verified token. */
  compile(facts: TokenFacts): AccessPolicy;
  /** The policy of a principal recorded earlier (an export job's owner), from its scopes as granted. */
  resume(principal: Principal): AccessPolicy;
  /**
   * The policy of a signed-in user choosing a patient context: read and search of exactly the
   * Patients the user policy lets them select, and those patients' Encounters.
   */
  selection(user: SignedInUser): AccessPolicy;
}

export interface ResourceAccessOptions {
  fhirBaseUrl: string;
  /**
   * How long what a patient's records reference may be remembered (the revocation window,
   * REVOCATION_CHECK_MS): a patient token's reach follows the data at most this late.
   */
  referenceWindowMs: number;
  /** PRACTITIONER_PATIENTS: which patients practitioner users see (access/rules.ts USER_REACH; default all). */
  practitionerPatients?: PractitionerPatients;
  /** The search parameters the change feed matches criteria with (R4 plus installed packages'); R4's when absent. */
  searchRegistry?: () => SearchRegistry;
  /**
   * The key that seals paging cursors (32 bytes), the same on every node of one store; a random
   * one when absent (cursors then work on this node only).
   */
  cursorKey?: Buffer;
}

export function createResourceAccess(
  store: ResourceStore,
  options: ResourceAccessOptions,
): { access: ResourceAccess; policies: PolicyCompiler; changes: ChangeFeed } {
  const bound = new WeakMap<AccessPolicy, GuardedStore>();
  const cursors = cursorSeal(options.cursorKey);
  const services: PolicyServices = {
    fhirBaseUrl: options.fhirBaseUrl,
    extract: (resource: Resource, params) => extractIndex(resource, { baseUrl: options.fhirBaseUrl, params }),
    referencedFromCompartments: createReferenceResolver(store, options.fhirBaseUrl, options.referenceWindowMs),
    practitionerPatients: options.practitionerPatients ?? 'all',
    linkedPatients: createLinkResolver(store, options.fhirBaseUrl, options.referenceWindowMs),
  };
  const selectionScopes = parseScopes(SELECTION_SCOPES.join(' ')).scopes.filter((s): s is ResourceScope => s.kind === 'resource');
  const access: ResourceAccess = {
    bind(policy) {
      if (!isMinted(policy)) throw new Error('Stores are bound only to policies made by the access layer');
      let guarded = bound.get(policy);
      if (!guarded) bound.set(policy, (guarded = guardStore(store, policy, cursors)));
      return guarded;
    },
  };
  return {
    access,
    changes: createChangeFeed(store, access, (resource, params) =>
      extractIndex(resource, { baseUrl: options.fhirBaseUrl, params, ...(options.searchRegistry ? { registry: options.searchRegistry() } : {}) }),
    ),
    policies: {
      compile: (facts) => compileTokenPolicy(facts, services),
      resume: (principal) =>
        compileTokenPolicy(
          {
            scopes: parseScopes((principal.scopes ?? []).join(' ')).scopes.filter((s): s is ResourceScope => s.kind === 'resource'),
            clientId: principal.clientId ?? '',
            subject: principal.subject ?? '',
            scopeStrings: principal.scopes ?? [],
            ...(principal.fhirUser ? { fhirUser: principal.fhirUser } : {}),
            ...(principal.patient ? { patient: principal.patient } : {}),
            ...(principal.grantId ? { grantId: principal.grantId } : {}),
            ...(principal.tokenId ? { tokenId: principal.tokenId } : {}),
            ...(principal.claims ? { claims: principal.claims } : {}),
          },
          services,
        ),
      selection: (user) =>
        compileTokenPolicy(
          {
            scopes: selectionScopes,
            clientId: SELECTION_CLIENT,
            subject: user.subject,
            scopeStrings: SELECTION_SCOPES,
            ...(user.fhirUser ? { fhirUser: user.fhirUser } : {}),
            ...(user.patientGrant ? { patientGrant: user.patientGrant } : {}),
          },
          services,
        ),
    },
  };
}
