/**
 * SMART App Launch scope grammar, v1 and v2, as one parser and one serializer shared by the
 * authorization server (what may be asked for and granted), the resource server (what a token
 * allows) and the launcher (what to offer). Pure functions and tables; no I/O.
 *
 * https://hl7.org/fhir/smart-app-launch/STU2.2/scopes-and-launch-context.html
 */

/** Whose data a resource scope reaches. */
export type ScopeContext = 'patient' | 'user' | 'system';

/** SMART v2 permission letters, in their canonical order. */
export type Permission = 'c' | 'r' | 'u' | 'd' | 's';
export const PERMISSION_ORDER: readonly Permission[] = ['c', 'r', 'u', 'd', 's'];

/** SMART v1 access modes and the v2 letters each stands for (STU2.2 §Scopes for requesting FHIR resources, v1 mapping). */
export const V1_ACCESS: Readonly<Record<'read' | 'write' | '*', readonly Permission[]>> = {
  read: ['r', 's'],
  write: ['c', 'u', 'd'],
  '*': ['c', 'r', 'u', 'd', 's'],
};

/** One `name=value` restriction of a granular scope (`patient/Observation.rs?category=...`). */
export interface ScopeFilter {
  /** Search parameter name, possibly with a modifier (`code:in`). */
  name: string;
  /** The value as written in the scope (percent-encoding kept). */
  value: string;
}

/** `patient/Observation.rs`, `user/*.read`, `system/Condition.rs?category=...`. */
export interface ResourceScope {
  kind: 'resource';
  context: ScopeContext;
  /** A resource type, or `*`. */
  resourceType: string;
  /** The letters this scope grants (v1 access modes expanded). */
  permissions: ReadonlySet<Permission>;
  /** Grammar the scope was written in: "v1 asked, v1 returned". */
  version: 1 | 2;
  /** The v1 access mode as written (v1 scopes only). */
  v1Access?: 'read' | 'write' | '*';
  /** Granular restrictions (v2 only), all of which a resource must satisfy. */
  filters: readonly ScopeFilter[];
  raw: string;
}

/** `launch`, `launch/patient`, `launch/encounter`. */
export interface LaunchScope {
  kind: 'launch';
  /** Undefined for the EHR-launch `launch` scope. */
  context?: 'patient' | 'encounter';
  raw: string;
}

/** OpenID Connect identity scopes. */
export interface IdentityScope {
  kind: 'identity';
  name: 'openid' | 'fhirUser' | 'profile' | 'email';
  raw: string;
}

/** Refresh-token scopes. */
export interface AccessDurationScope {
  kind: 'duration';
  name: 'offline_access' | 'online_access';
  raw: string;
}

/**
 * Bedside's own permissions (not SMART), for backend services: `introspection` lets a bearer
 * call the introspection endpoint; `launcher` lets a bearer mint EHR launches
 * (`POST /launcher/api/launch`) and read the launcher's directory when LAUNCHER_SANDBOX is off.
 */
export interface ServerPermissionScope {
  kind: 'server';
  name: 'introspection' | 'launcher';
  raw: string;
}

export type Scope = ResourceScope | LaunchScope | IdentityScope | AccessDurationScope | ServerPermissionScope;

/** Why a scope was refused; `code` is stable for tests and UIs. */
export interface ScopeError {
  scope: string;
  code: 'syntax' | 'unknown-scope' | 'unknown-resource-type' | 'permission-order' | 'empty-permissions' | 'bad-filter' | 'v1-filter';
  message: string;
}

export interface ParseOptions {
  /** Whether a name is a resource type; scopes naming anything else are refused. Default: any capitalized word. */
  isResourceType?: (type: string) => boolean;
}

/** Scopes with no structure, by spelling. */
const FIXED: Readonly<Record<string, Scope>> = Object.freeze({
  openid: { kind: 'identity', name: 'openid', raw: 'openid' },
  fhirUser: { kind: 'identity', name: 'fhirUser', raw: 'fhirUser' },
  profile: { kind: 'identity', name: 'profile', raw: 'profile' },
  email: { kind: 'identity', name: 'email', raw: 'email' },
  launch: { kind: 'launch', raw: 'launch' },
  'launch/patient': { kind: 'launch', context: 'patient', raw: 'launch/patient' },
  'launch/encounter': { kind: 'launch', context: 'encounter', raw: 'launch/encounter' },
  offline_access: { kind: 'duration', name: 'offline_access', raw: 'offline_access' },
  online_access: { kind: 'duration', name: 'online_access', raw: 'online_access' },
  introspection: { kind: 'server', name: 'introspection', raw: 'introspection' },
  launcher: { kind: 'server', name: 'launcher', raw: 'launcher' },
});

/** RFC 6749 §3.3 scope-token characters. */
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/;
const RESOURCE_SCOPE = /^(patient|user|system)\/(\*|[A-Za-z]+)\.([^?]+)(?:\?(.*))?$/s;
const FILTER_NAME = /^[A-Za-z_][A-Za-z0-9_-]*(?::[A-Za-z_-]+)?$/;
/**
 * Filter parameters that step into other resources: a granular scope tests the resource's own
 * elements only, or it would let the token learn about resources its scopes do not reach
 * (chains are refused by FILTER_NAME, which allows no dot).
 */
const HOP_PARAMETERS = /^_(has|list|filter|query)(:|$)/;
const defaultIsResourceType = (type: string): boolean => /^[A-Z][A-Za-z]+$/.test(type);

/** Parses one scope token. Anything that is not exactly one of SMART's forms is an error, never a guess. */
export function parseScope(raw: string, options: ParseOptions = {}): Scope | ScopeError {
  if (!SCOPE_TOKEN.test(raw)) return error(raw, 'syntax', 'contains characters that a scope may not contain');
  const fixed = FIXED[raw];
  if (fixed) return fixed;
  const m = RESOURCE_SCOPE.exec(raw);
  if (!m) return error(raw, 'unknown-scope', 'is not a SMART scope');
  const [, context, resourceType, access, query] = m as unknown as [string, ScopeContext, string, string, string | undefined];
  const isResourceType = options.isResourceType ?? defaultIsResourceType;
  if (resourceType !== '*' && !isResourceType(resourceType)) {
    return error(raw, 'unknown-resource-type', `names "${resourceType}", which is not a FHIR resource type`);
  }
  if (access === 'read' || access === 'write' || access === '*') {
    if (query !== undefined) return error(raw, 'v1-filter', 'uses a ?filter, which only SMART v2 scopes (.cruds) allow');
    return { kind: 'resource', context, resourceType, permissions: new Set(V1_ACCESS[access]), version: 1, v1Access: access, filters: [], raw };
  }
  const permissions = parsePermissions(access);
  if (typeof permissions === 'string')
    return error(raw, permissions === 'order' ? 'permission-order' : access ? 'syntax' : 'empty-permissions', PERMISSION_MESSAGES[permissions]);
  let filters: ScopeFilter[] = [];
  if (query !== undefined) {
    const parsed = parseFilters(query);
    if (typeof parsed === 'string') return error(raw, 'bad-filter', parsed);
    filters = parsed;
  }
  return { kind: 'resource', context, resourceType, permissions, version: 2, filters, raw };
}

const PERMISSION_MESSAGES = {
  order: 'has permission letters out of order or repeated: write them in the order c r u d s',
  letters: 'has an access part that is neither read, write, * nor SMART v2 letters (c r u d s)',
};

function parsePermissions(access: string): Set<Permission> | 'order' | 'letters' {
  if (!/^[cruds]+$/.test(access)) return 'letters';
  let last = -1;
  const set = new Set<Permission>();
  for (const letter of access as Iterable<Permission>) {
    const index = PERMISSION_ORDER.indexOf(letter);
    if (index <= last) return 'order';
    last = index;
    set.add(letter);
  }
  return set;
}

function parseFilters(query: string): ScopeFilter[] | string {
  if (query === '') return 'has an empty ?filter';
  const filters: ScopeFilter[] = [];
  for (const part of query.split('&')) {
    const eq = part.indexOf('=');
    const name = eq < 0 ? part : part.slice(0, eq);
    const value = eq < 0 ? '' : part.slice(eq + 1);
    if (HOP_PARAMETERS.test(name) || (name.includes('.') && FILTER_NAME.test(name.replace(/\./g, '')))) {
      return `has a ?filter on "${name}", which steps into other resources: a granular scope may only test the resource's own elements`;
    }
    if (!FILTER_NAME.test(name)) return `has a ?filter with an invalid parameter name "${name}"`;
    if (value === '') return `has a ?filter without a value for "${name}"`;
    try {
      decodeURIComponent(value);
    } catch {
      return `has a ?filter value for "${name}" that is not valid percent-encoding`;
    }
    filters.push({ name, value });
  }
  return filters;
}

function error(scope: string, code: ScopeError['code'], what: string): ScopeError {
  return { scope, code, message: `scope "${scope}" ${what}` };
}

export function isScopeError(value: Scope | ScopeError): value is ScopeError {
  return 'code' in value && !('kind' in value);
}

/** The result of parsing a space-separated scope string. */
export interface ParsedScopes {
  scopes: Scope[];
  errors: ScopeError[];
}

/** Splits on single spaces (RFC 6749 §3.3), drops duplicates, parses each token. */
export function parseScopes(scopeString: string | undefined, options: ParseOptions = {}): ParsedScopes {
  const scopes: Scope[] = [];
  const errors: ScopeError[] = [];
  if (!scopeString) return { scopes, errors };
  for (const token of new Set(scopeString.split(' '))) {
    if (token === '') {
      errors.push(error(scopeString, 'syntax', 'has consecutive, leading or trailing spaces'));
      continue;
    }
    const parsed = parseScope(token, options);
    if (isScopeError(parsed)) errors.push(parsed);
    else scopes.push(parsed);
  }
  return { scopes, errors };
}

/** Writes a scope in its canonical form (the form it was parsed from when that was canonical). */
export function formatScope(scope: Scope): string {
  if (scope.kind !== 'resource') return scope.raw;
  const access = scope.version === 1 ? scope.v1Access! : PERMISSION_ORDER.filter((p) => scope.permissions.has(p)).join('');
  const query = scope.filters.length ? `?${scope.filters.map((f) => `${f.name}=${f.value}`).join('&')}` : '';
  return `${scope.context}/${scope.resourceType}.${access}${query}`;
}

/** SMART v1 → v2: `read` is `rs`, `write` is `cud`, `*` is `cruds`. */
export function toV2(scope: ResourceScope): ResourceScope {
  if (scope.version === 2) return scope;
  const v2: ResourceScope = {
    kind: 'resource',
    context: scope.context,
    resourceType: scope.resourceType,
    permissions: scope.permissions,
    version: 2,
    filters: [],
    raw: '',
  };
  return { ...v2, raw: formatScope(v2) };
}

/** SMART v2 → v1 when an exact v1 spelling exists (`rs`, `cud`, `cruds`, without filters); otherwise undefined. */
export function toV1(scope: ResourceScope): ResourceScope | undefined {
  if (scope.version === 1) return scope;
  if (scope.filters.length) return undefined;
  const letters = PERMISSION_ORDER.filter((p) => scope.permissions.has(p)).join('');
  const access = (Object.keys(V1_ACCESS) as Array<keyof typeof V1_ACCESS>).find((a) => V1_ACCESS[a].join('') === letters);
  if (!access) return undefined;
  const v1: ResourceScope = { ...scope, version: 1, v1Access: access, raw: '' };
  return { ...v1, raw: formatScope(v1) };
}

/**
 * Whether `cap` allows everything `scope` asks for: same context, same type (or `*`), a subset
 * of the letters, and at least the cap's filters (a granular scope is narrower than its parent).
 * Non-resource scopes are covered only by themselves.
 */
export function covers(cap: Scope, scope: Scope): boolean {
  if (cap.kind !== 'resource' || scope.kind !== 'resource') return cap.raw === scope.raw;
  if (cap.context !== scope.context) return false;
  if (cap.resourceType !== '*' && cap.resourceType !== scope.resourceType) return false;
  for (const p of scope.permissions) if (!cap.permissions.has(p)) return false;
  return cap.filters.every((f) => scope.filters.some((g) => g.name === f.name && g.value === f.value));
}

/** Whether some scope of `caps` covers `scope`. */
export function coveredByAny(caps: readonly Scope[], scope: Scope): boolean {
  return caps.some((cap) => covers(cap, scope));
}

/** Drops scopes another scope of the list already covers (keeps the first of equal ones). */
export function withoutRedundant(scopes: readonly Scope[]): Scope[] {
  return scopes.filter((scope, i) => !scopes.some((other, j) => j !== i && covers(other, scope) && (!covers(scope, other) || j < i)));
}
