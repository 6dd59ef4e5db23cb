/**
 * Operator-configured claims (CLAIM_MAPPINGS): extra claims Bedside adds to id_tokens, userinfo
 * answers and access tokens, taken from the account, from what the upstream identity provider
 * said at the last federated sign-in, or from the user's fhirUser resource by a FHIRPath
 * expression. Configuration, not code: parsed and validated here at start-up.
 *
 * https://openid.net/specs/openid-connect-core-1_0.html#AdditionalClaims
 */
import fhirpath from 'fhirpath';
import r4 from 'fhirpath/fhir-context/r4';
import { jsonArraySetting } from '../../json-setting.js';

/** Where a mapped claim may appear. Introspection answers and audit records follow `access_token`. */
export const CLAIM_TARGETS = ['id_token', 'userinfo', 'access_token'] as const;
export type ClaimTarget = (typeof CLAIM_TARGETS)[number];

export const ACCOUNT_FIELDS = ['id', 'username', 'email', 'name', 'fhirUser'] as const;
export type AccountField = (typeof ACCOUNT_FIELDS)[number];

export type ClaimSource =
  | { kind: 'account'; field: AccountField }
  | { kind: 'upstream'; claim: string }
  | { kind: 'fhirUser'; fhirpath: string };

export interface ClaimMapping {
  /** The claim's name in the token or answer. */
  claim: string;
  source: ClaimSource;
  in: ReadonlySet<ClaimTarget>;
  /** Only when this scope was granted (id_token, userinfo) or is in the access token's scope. */
  scope?: string;
  /** Access tokens only for these audiences (resource servers); all when absent. */
  audiences?: readonly string[];
  /** An array of every value instead of the first one. */
  multiple: boolean;
}

/**
 * Names a mapping may not use: protocol claims (JWT, OAuth, OpenID, SMART, introspection) and the
 * standard claims Bedside already releases by scope.
 */
export const RESERVED_CLAIMS: ReadonlySet<string> = new Set([
  'iss', 'sub', 'aud', 'exp', 'iat', 'nbf', 'jti', 'typ', 'cnf', 'act', 'may_act', 'azp', 'nonce', 'auth_time', 'acr', 'amr', 'sid',
  'at_hash', 'c_hash', 's_hash', 'client_id', 'scope', 'grant_id', 'active', 'token_type', 'username',
  'fhirUser', 'patient', 'encounter', 'need_patient_banner', 'smart_style_url', 'intent', 'fhirContext',
  'name', 'given_name', 'family_name', 'preferred_username', 'email', 'email_verified', 'updated_at',
]);

/** The OpenID scopes a claim for id_token or userinfo may be released with. */
const IDENTITY_SCOPES = ['openid', 'profile', 'email', 'fhirUser'];
const CLAIM_NAME = /^[A-Za-z][A-Za-z0-9_.:-]{0,63}$/;
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/;

function compiles(expression: string): boolean {
  try {
    fhirpath.compile(expression, r4);
    return true;
  } catch {
    return false;
  }
}

/** Parses CLAIM_MAPPINGS (a JSON array); every problem is pushed to `problems`. */
export function parseClaimMappings(raw: string | undefined, problems: string[]): ClaimMapping[] {
  if (raw === undefined) return [];
  const parsed = jsonArraySetting('CLAIM_MAPPINGS', raw, '{"claim": "...", "account" | "upstream" | "fhirpath": "...", "in": ["id_token", "userinfo", "access_token"]}', problems);
  if (!parsed) return [];
  const mappings: ClaimMapping[] = [];
  const seen = new Set<string>();
  parsed.forEach((entry: unknown, i) => {
    const where = `CLAIM_MAPPINGS[${i}]`;
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
      problems.push(`${where} must be an object`);
      return;
    }
    const e = entry as Record<string, unknown>;
    const claim = e.claim;
    if (typeof claim !== 'string' || !CLAIM_NAME.test(claim)) {
      problems.push(`${where}.claim must be a claim name (letters, digits, _ . : -)`);
      return;
    }
    if (RESERVED_CLAIMS.has(claim)) {
      problems.push(`${where}.claim "${claim}" is a protocol or standard claim that Bedside sets itself; choose another name`);
      return;
    }
    if (seen.has(claim)) problems.push(`${where}.claim "${claim}" is mapped twice`);
    seen.add(claim);
    const sources = (['account', 'upstream', 'fhirpath'] as const).filter((k) => e[k] !== undefined);
    if (sources.length !== 1) {
      problems.push(`${where} needs exactly one source: "account" (${ACCOUNT_FIELDS.join(', ')}), "upstream" (a claim of the identity provider) or "fhirpath" (an expression on the fhirUser resource)`);
      return;
    }
    let source: ClaimSource;
    if (sources[0] === 'account') {
      if (!(ACCOUNT_FIELDS as readonly unknown[]).includes(e.account)) {
        problems.push(`${where}.account must be one of ${ACCOUNT_FIELDS.join(', ')}`);
        return;
      }
      source = { kind: 'account', field: e.account as AccountField };
    } else if (sources[0] === 'upstream') {
      if (typeof e.upstream !== 'string' || !CLAIM_NAME.test(e.upstream)) {
        problems.push(`${where}.upstream must be the name of a claim the identity provider sends`);
        return;
      }
      source = { kind: 'upstream', claim: e.upstream };
    } else {
      if (typeof e.fhirpath !== 'string' || !e.fhirpath.trim() || !compiles(e.fhirpath)) {
        problems.push(`${where}.fhirpath is not a valid FHIRPath expression`);
        return;
      }
      source = { kind: 'fhirUser', fhirpath: e.fhirpath };
    }
    const targets = e.in;
    if (!Array.isArray(targets) || targets.length === 0 || !targets.every((t) => (CLAIM_TARGETS as readonly unknown[]).includes(t))) {
      problems.push(`${where}.in must be a non-empty array of ${CLAIM_TARGETS.join(', ')}`);
      return;
    }
    if (e.scope !== undefined && (typeof e.scope !== 'string' || !SCOPE_TOKEN.test(e.scope))) {
      problems.push(`${where}.scope must be one scope`);
      return;
    }
    const identityTargets = (targets as string[]).some((t) => t === 'id_token' || t === 'userinfo');
    if (typeof e.scope === 'string' && identityTargets && !IDENTITY_SCOPES.includes(e.scope)) {
      problems.push(`${where}.scope must be one of ${IDENTITY_SCOPES.join(', ')} when the claim goes into id_token or userinfo`);
      return;
    }
    if (e.audiences !== undefined && (!Array.isArray(e.audiences) || !e.audiences.every((a) => typeof a === 'string' && URL.canParse(a)))) {
      problems.push(`${where}.audiences must be an array of resource server URLs`);
      return;
    }
    if (e.multiple !== undefined && typeof e.multiple !== 'boolean') {
      problems.push(`${where}.multiple must be true or false`);
      return;
    }
    mappings.push({
      claim,
      source,
      in: new Set(targets as ClaimTarget[]),
      ...(typeof e.scope === 'string' ? { scope: e.scope } : {}),
      ...(Array.isArray(e.audiences) ? { audiences: e.audiences as string[] } : {}),
      multiple: e.multiple === true,
    });
  });
  return mappings;
}

/** The mapped claim names that go into access tokens (for audit records and introspection). */
export function accessTokenClaimNames(mappings: readonly ClaimMapping[]): string[] {
  return mappings.filter((m) => m.in.has('access_token')).map((m) => m.claim);
}
