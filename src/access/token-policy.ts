/**
 * Compiles a verified access token (scopes, launch patient, fhirUser, client) into the
 * request's AccessPolicy. Pure rules plus injected helpers (index extraction for in-memory
 * checks, the non-compartment resources a patient's records reference, the patients linked to
 * a practitioner).
 *
 * Semantics (SMART App Launch 2.2, scopes-and-launch-context):
 * - `patient/` scopes reach the launch patient's compartment (the official R4 Patient
 *   CompartmentDefinition) plus the non-compartment resources (Practitioner, Organization,
 *   Location, Medication ...) that resources in that compartment reference, for the types the
 *   scope names. Without a patient in the token they reach nothing, and requests that only they
 *   could allow are refused. When the user policy gives the token's user a set of patients (a
 *   patient user, a practitioner under PRACTITIONER_PATIENTS=linked), they reach the launch
 *   patient only while it is in that set.
 * - `user/` scopes reach what the user may see (access/user-policy.ts, rules.ts USER_REACH: a
 *   practitioner everything or the linked patients, a patient user their own compartment; for a
 *   set of patients, their compartments and what those reference), intersected with the scopes.
 * - `system/` scopes reach every resource of the types they name (the registered scope of the
 *   client already capped them when the token was issued).
 * - Granular scopes (`patient/Observation.rs?category=vital-signs`) add their search criteria.
 * - Letters map to interactions by rules.ts LETTER_FOR; several scopes add up (union).
 */
import type { Resource } from 'fhir/r4';
import { FhirError } from '../r4/errors.js';
import { parseRelativeReference } from '../r4/ids.js';
import { patientCompartmentParams } from '../search/compartments.js';
import { conditionParams, matches, type ResourceLookup } from '../search/evaluate.js';
import { parseSearch } from '../search/parse.js';
import type { ResourceScope } from '../smart/scopes.js';
import type { Condition, IndexEntry } from '../storage/search-index.js';
import { hasHops } from './hops.js';
import { mint } from './minted.js';
import { ownRecordsCondition } from './own-records.js';
import type { AccessPolicy, Interaction, Principal } from './policy.js';
import { LETTER_FOR, type PatientGrant } from './rules.js';
import { userReach, type Reach, type UserPolicyServices } from './user-policy.js';

/** What a verified token says. */
export interface TokenFacts {
  scopes: readonly ResourceScope[];
  clientId: string;
  subject: string;
  /** Relative reference, e.g. `Practitioner/123`. */
  fhirUser?: string;
  /** Launch context patient id. */
  patient?: string;
  /** The raw scope strings, for audit records. */
  scopeStrings: string[];
  /** The grant the token came from (user tokens). */
  grantId?: string;
  /** The token's `jti`. */
  tokenId?: string;
  /** Operator-configured claims of the token, for audit records. */
  claims?: Record<string, unknown>;
  /**
   * Patients an operator granted a user without a fhirUser rule. Only the sign-in pages'
   * selection policy has it (access tokens do not carry it, so a token's `user/` scopes reach
   * nothing for such a user).
   */
  patientGrant?: PatientGrant;
}

export interface PolicyServices extends UserPolicyServices {
  fhirBaseUrl: string;
  /** Index rows of `resource` for the given parameters only. */
  extract(resource: Resource, params: ReadonlySet<string>): IndexEntry[];
  /**
   * Ids of the resources of `type` (not a compartment type) that the compartments of these
   * patients reference. The answer follows the data: the implementation may remember it only
   * briefly (access/reference-resolver.ts), and the policy does not remember it at all.
   */
  referencedFromCompartments(patientIds: readonly string[], type: string, sources: ReferenceSources): Promise<string[]>;
}

/**
 * The records whose references count: per compartment type the token may read, the criteria
 * of its granular scopes (TRUE for a whole type), with a `key` naming them for caches. A record
 * the token may not read must not decide what it reaches, or reading a Practitioner would tell
 * whether a hidden record names it.
 */
export interface ReferenceSources {
  readonly types: ReadonlyMap<string, Condition>;
  readonly key: string;
}

/** How many allowed (type, interaction) pairs a policy remembers (R4 has about 150 types). */
const ALLOWED_MEMORY = 1024;
const TRUE: Condition = { op: 'true' };
const FALSE: Condition = { op: 'false' };

export function compileTokenPolicy(facts: TokenFacts, services: PolicyServices): AccessPolicy {
  const scopes = new TokenScopes(facts, services);
  /** (type, interaction) pairs assertAllowed has let through. */
  const allowedBefore = new Set<string>();
  const filters = new Map<string, Promise<Condition | undefined>>();

  const policy: AccessPolicy = {
    principal: principalOf(facts),
    restricted: true,

    assertAllowed(type, interaction) {
      // Every request asks this once; what was allowed stays allowed for the policy's lifetime.
      const key = `${interaction}\u0000${type ?? ''}`;
      if (allowedBefore.has(key)) return;
      scopes.refusal(type, interaction)?.throw();
      if (allowedBefore.size < ALLOWED_MEMORY) allowedBefore.add(key);
    },

    permits(type, interaction) {
      return allowedBefore.has(`${interaction}\u0000${type}`) || scopes.refusal(type, interaction) === undefined;
    },

    isFixed: (type) => scopes.isFixed(type),

    searchFilter(type, interaction) {
      // Fixed filters are kept for the policy's life; the others are computed each time from
      // the reference resolver, which keeps its answers no longer than the revocation window.
      if (!scopes.isFixed(type)) return scopes.filter(type, interaction);
      const key = `${type}\u0000${interaction}`;
      let filter = filters.get(key);
      if (!filter) filters.set(key, (filter = scopes.filter(type, interaction)));
      return filter;
    },

    async decideByType(type, interaction) {
      if (scopes.granting(type, interaction).length === 0) return 'none';
      const filter = await policy.searchFilter(type, interaction);
      if (filter === undefined) return 'all';
      return filter.op === 'false' ? 'none' : 'inspect';
    },

    async allowsResource(resource, interaction) {
      if (scopes.granting(resource.resourceType, interaction).length === 0) return false;
      const filter = await policy.searchFilter(resource.resourceType, interaction);
      if (filter === undefined) return true;
      return matchesInMemory(filter, resource, services);
    },

    allowedTypes(interaction) {
      const granting = scopes.granting(undefined, interaction);
      if (granting.some((s) => s.resourceType === '*')) return undefined;
      return [...new Set(granting.map((s) => s.resourceType))];
    },
  };
  return mint(policy);
}

/** Who the token speaks for, as audit records and revocation checks see it. */
function principalOf(facts: TokenFacts): Principal {
  return {
    subject: facts.subject,
    clientId: facts.clientId,
    ...(facts.fhirUser ? { fhirUser: facts.fhirUser } : {}),
    ...(facts.patient ? { patient: facts.patient } : {}),
    scopes: facts.scopeStrings,
    ...(facts.grantId ? { grantId: facts.grantId } : {}),
    ...(facts.tokenId ? { tokenId: facts.tokenId } : {}),
    ...(facts.claims ? { claims: facts.claims } : {}),
  };
}

/**
 * A token's scopes read against the data: which scopes grant an interaction, whose records each
 * one reaches, what its granular criteria add, and the search filter they add up to.
 */
class TokenScopes {
  readonly #scopes: readonly ResourceScope[];
  /** Whose records the token's user may see (the user policy). */
  readonly #reach: Reach;
  /** Granular criteria parsed, per scope and type. */
  readonly #criteria = new Map<string, Condition>();
  #sources: ReferenceSources | undefined;

  constructor(
    private readonly facts: TokenFacts,
    private readonly services: PolicyServices,
  ) {
    // SMART's `fhirUser` scope lets the app read the current user's own resource: that one
    // resource, read only, nothing reachable through it (no search, hence no include or chain).
    // https://hl7.org/fhir/smart-app-launch/STU2.2/scopes-and-launch-context.html#scopes-for-requesting-identity-data
    this.#scopes = [...facts.scopes, ...fhirUserScope(facts)];
    this.#reach = userReach(facts, services);
  }

  /** The scopes that grant `interaction` on `type` (type undefined: on some type). */
  granting(type: string | undefined, interaction: Interaction): ResourceScope[] {
    const letter = LETTER_FOR[interaction];
    return this.#scopes.filter((s) => s.permissions.has(letter) && (type === undefined || s.resourceType === '*' || s.resourceType === type));
  }

  /** Why `interaction` on `type` is refused outright, or undefined when some scope may allow it. */
  refusal(type: string | undefined, interaction: Interaction): { throw(): never } | undefined {
    const scopes = this.granting(type, interaction);
    const what = `${interaction}${type ? ` on ${type}` : ''}`;
    const refuse = (message: string) => ({
      throw: (): never => {
        throw insufficientScope(this.services.fhirBaseUrl, this.facts, type, interaction, message);
      },
    });
    if (scopes.length === 0) return refuse(`The token's scopes do not allow ${what}`);
    const usable = scopes.filter((s) => s.context !== 'patient' || this.facts.patient);
    if (usable.length === 0) return refuse(`The token has patient/ scopes for ${what} but no patient context (launch/patient), so they reach nothing`);
    const reaching = usable.filter((s) => s.context !== 'user' || this.#reach.kind !== 'none');
    if (reaching.length === 0) return refuse(`The token has user/ scopes for ${what} but its user has no fhirUser that can see FHIR data`);
    return undefined;
  }

  /** The search filter of `interaction` on `type`: the union of what each granting scope reaches (undefined: everything). */
  async filter(type: string, interaction: Interaction): Promise<Condition | undefined> {
    const alternatives: Condition[] = [];
    for (const scope of this.granting(type, interaction)) {
      const where = simplifyAnd(await this.region(scope, type, interaction), this.criteria(scope, type));
      if (where.op === 'true') return undefined;
      if (where.op !== 'false') alternatives.push(where);
    }
    if (alternatives.length === 0) return FALSE;
    return alternatives.length === 1 ? alternatives[0]! : { op: 'or', of: alternatives };
  }

  /** A type's filter is fixed unless some scope's reach of it follows the data. */
  isFixed(type: string): boolean {
    return !this.facts.scopes.some((s) => (s.resourceType === '*' || s.resourceType === type) && this.followsData(s, type));
  }

  /** Whose data one scope reaches, for `type`. */
  private async region(scope: ResourceScope, type: string, interaction: Interaction): Promise<Condition> {
    const reach = this.#reach;
    if (scope.context === 'system') return TRUE;
    if (scope.context === 'patient') {
      if (!this.facts.patient) return FALSE;
      // The launch patient only while the user may still select it (a patient user, a linked practitioner).
      if (reach.kind === 'patients' && !(await reach.patients()).includes(this.facts.patient)) return FALSE;
      return this.compartment([this.facts.patient], type, interaction);
    }
    if (reach.kind === 'all') return TRUE;
    if (reach.kind === 'patients') return this.compartment(await reach.patients(), type, interaction);
    return FALSE;
  }

  /** The records of `patientIds` alone (access/own-records.ts), or what the readable ones reference, for `type`. */
  private async compartment(patientIds: readonly string[], type: string, interaction: Interaction): Promise<Condition> {
    if (patientIds.length === 0) return FALSE;
    if (isCompartmentType(type)) return ownRecordsCondition(type, patientIds, interaction === 'read' || interaction === 'search' ? 'read' : 'write');
    const ids = await this.services.referencedFromCompartments(patientIds, type, this.referenceSources());
    return ids.length ? { op: 'id', ids } : FALSE;
  }

  /** What the token may read of each compartment type: only those records' references count. */
  private referenceSources(): ReferenceSources {
    if (this.#sources) return this.#sources;
    const types = new Map<string, Condition>();
    for (const type of ['Patient', ...patientCompartmentParams().keys()]) {
      const criteriaOf = this.granting(type, 'read').map((scope) => this.criteria(scope, type));
      if (criteriaOf.some((c) => c.op === 'true')) types.set(type, TRUE);
      else {
        const some = criteriaOf.filter((c) => c.op !== 'false');
        if (some.length) types.set(type, some.length === 1 ? some[0]! : { op: 'or', of: some });
      }
    }
    return (this.#sources = { types, key: JSON.stringify([...types].sort(([a], [b]) => a.localeCompare(b))) });
  }

  /** A granular scope's own criteria for `type` (TRUE when it has none). */
  private criteria(scope: ResourceScope, type: string): Condition {
    if (scope.filters.length === 0) return TRUE;
    const key = `${scope.raw}\u0000${type}`;
    let condition = this.#criteria.get(key);
    if (!condition) this.#criteria.set(key, (condition = this.parseCriteria(scope, type)));
    return condition;
  }

  private parseCriteria(scope: ResourceScope, type: string): Condition {
    try {
      const params = new URLSearchParams(scope.filters.map((f) => [f.name, decodeURIComponent(f.value)]));
      const condition = parseSearch(type, params, { baseUrl: this.services.fhirBaseUrl, strict: true, maxCount: 1, defaultCount: 1 }).where;
      // A criterion that steps into other resources (`_list=...`, a chain) would read them
      // outside any policy, and reads cannot check it in memory: it grants nothing (the scope
      // grammar refuses such filters when tokens are issued).
      return hasHops(condition) ? FALSE : condition;
    } catch {
      // A filter this server cannot evaluate grants nothing: never more than the scope says.
      return FALSE;
    }
  }

  /**
   * Whether what one scope reaches of `type` changes with the data: what a patient's records
   * reference (a non-compartment type under a patient/ scope or a user/ scope reaching a set of
   * patients), and anything decided by the patients linked to a practitioner.
   */
  private followsData(scope: ResourceScope, type: string): boolean {
    const reach = this.#reach;
    if (scope.context === 'system') return false;
    if (scope.context === 'user' && reach.kind !== 'patients') return false;
    if (reach.kind === 'patients' && reach.followsData) return true;
    return !isCompartmentType(type);
  }
}

function isCompartmentType(type: string): boolean {
  return type === 'Patient' || patientCompartmentParams().has(type);
}

/** The read-only scope the `fhirUser` scope amounts to, when the token has both it and a fhirUser. */
function fhirUserScope(facts: TokenFacts): ResourceScope[] {
  if (!facts.fhirUser || !facts.scopeStrings.includes('fhirUser')) return [];
  const user = parseRelativeReference(facts.fhirUser);
  if (!user) return [];
  return [
    {
      kind: 'resource',
      context: 'system',
      resourceType: user.type,
      permissions: new Set(['r']),
      version: 2,
      filters: [{ name: '_id', value: user.id }],
      raw: `fhirUser (${facts.fhirUser}.r)`,
    },
  ];
}

/** Evaluates a policy condition against one resource, extracting only the parameters it uses. */
function matchesInMemory(condition: Condition, resource: Resource, services: PolicyServices): boolean {
  const params = conditionParams(condition);
  const index = params.size ? services.extract(resource, params) : [];
  const lastUpdated = Date.parse(resource.meta?.lastUpdated ?? '');
  // Policy conditions have no chains; a granular scope with one cannot be checked here and denies.
  const noLookup: ResourceLookup = { get: () => undefined, ofType: () => [] };
  return matches(
    condition,
    { resourceType: resource.resourceType, id: resource.id ?? '', lastUpdated: Number.isNaN(lastUpdated) ? Date.now() : lastUpdated, index },
    noLookup,
  );
}

function simplifyAnd(a: Condition, b: Condition): Condition {
  if (a.op === 'false' || b.op === 'false') return FALSE;
  if (a.op === 'true') return b;
  if (b.op === 'true') return a;
  return { op: 'and', of: [a, b] };
}

/** 403 with RFC 6750's insufficient_scope and the scopes that would have allowed the request. */
function insufficientScope(realm: string, facts: TokenFacts, type: string | undefined, interaction: Interaction, message: string): FhirError {
  const contexts = new Set(facts.scopes.map((s) => s.context));
  if (contexts.size === 0) contexts.add(facts.patient ? 'patient' : 'user');
  const needed = [...contexts].map((c) => `${c}/${type ?? '*'}.${LETTER_FOR[interaction]}`).join(' ');
  const error = new FhirError(403, 'forbidden', message, {
    headers: {
      'www-authenticate': `Bearer realm="${realm}", error="insufficient_scope", error_description="${message.replace(/"/g, "'")}", scope="${needed}"`,
    },
  });
  return error;
}
