/**
 * Operator-configured claims (CLAIM_MAPPINGS): extra claims Bedside adds to id_tokens, userinfo
 * answers and access tokens, taken from the account, from what the upstream identity provider
 * said at the last federated sign-in, or from the user's fhirUser resource by a FHIRPath
 * expression. Configuration, not code: parsed and validated here at start-up (the authorization
 * server's claim mapper evaluates them).
 *
 * https://openid.net/specs/openid-connect-core-1_0.html#AdditionalClaims
 */
import fhirpath from 'fhirpath';
import r4 from 'fhirpath/fhir-context/r4';
import { z } from 'zod';
import { parseArraySetting } from './json-array.js';

/** Where a mapped claim may appear. Introspection answers and audit records follow `access_token`. */
export const CLAIM_TARGETS = ['id_token', 'userinfo', 'access_token'] as const;
export type ClaimTarget = (typeof CLAIM_TARGETS)[number];

export const ACCOUNT_FIELDS = ['id', 'username', 'email', 'name', 'fhirUser'] as const;
export type AccountField = (typeof ACCOUNT_FIELDS)[number];

export type ClaimSource = { kind: 'account'; field: AccountField } | { kind: 'upstream'; claim: string } | { kind: 'fhirUser'; fhirpath: string };

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
  'iss',
  'sub',
  'aud',
  'exp',
  'iat',
  'nbf',
  'jti',
  'typ',
  'cnf',
  'act',
  'may_act',
  'azp',
  'nonce',
  'auth_time',
  'acr',
  'amr',
  'sid',
  'at_hash',
  'c_hash',
  's_hash',
  'client_id',
  'scope',
  'grant_id',
  'active',
  'token_type',
  'username',
  'fhirUser',
  'patient',
  'encounter',
  'need_patient_banner',
  'smart_style_url',
  'intent',
  'fhirContext',
  'name',
  'given_name',
  'family_name',
  'preferred_username',
  'email',
  'email_verified',
  'updated_at',
]);

/** The OpenID scopes a claim for id_token or userinfo may be released with. */
const IDENTITY_SCOPES = ['openid', 'profile', 'email', 'fhirUser'];
const CLAIM_NAME = /^[A-Za-z][A-Za-z0-9_.:-]{0,63}$/;
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/;
const SOURCES = ['account', 'upstream', 'fhirpath'] as const;

function compiles(expression: string): boolean {
  try {
    fhirpath.compile(expression, r4);
    return true;
  } catch {
    return false;
  }
}

const CLAIM_MESSAGE = 'must be a claim name (letters, digits, _ . : -)';
const IN_MESSAGE = `must be a non-empty array of ${CLAIM_TARGETS.join(', ')}`;
const FHIRPATH_MESSAGE = 'is not a valid FHIRPath expression';
const AUDIENCES_MESSAGE = 'must be an array of resource server URLs';

/** One element of CLAIM_MAPPINGS; every mistake in it is reported. */
const mapping = z
  .object(
    {
      claim: z
        .string({ error: CLAIM_MESSAGE })
        .regex(CLAIM_NAME, { error: CLAIM_MESSAGE })
        .refine((claim) => !RESERVED_CLAIMS.has(claim), {
          error: (issue) => `"${String(issue.input)}" is a protocol or standard claim that Bedside sets itself; choose another name`,
        }),
      account: z.enum(ACCOUNT_FIELDS, { error: `must be one of ${ACCOUNT_FIELDS.join(', ')}` }).optional(),
      upstream: z
        .string({ error: 'must be the name of a claim the identity provider sends' })
        .regex(CLAIM_NAME, { error: 'must be the name of a claim the identity provider sends' })
        .optional(),
      fhirpath: z
        .string({ error: FHIRPATH_MESSAGE })
        .refine((expression) => expression.trim() !== '' && compiles(expression), { error: FHIRPATH_MESSAGE })
        .optional(),
      in: z.array(z.enum(CLAIM_TARGETS, { error: IN_MESSAGE }), { error: IN_MESSAGE }).min(1, { error: IN_MESSAGE }),
      scope: z.string({ error: 'must be one scope' }).regex(SCOPE_TOKEN, { error: 'must be one scope' }).optional(),
      audiences: z
        .array(
          z.string({ error: AUDIENCES_MESSAGE }).refine((a) => URL.canParse(a), { error: AUDIENCES_MESSAGE }),
          { error: AUDIENCES_MESSAGE },
        )
        .optional(),
      multiple: z.boolean({ error: 'must be true or false' }).optional(),
    },
    { error: 'must be an object' },
  )
  // Checked whatever else is wrong with the element (zod skips plain refinements after a type error).
  .check(
    z.refine((e) => SOURCES.filter((k) => e[k] !== undefined).length === 1, {
      error: `needs exactly one source: "account" (${ACCOUNT_FIELDS.join(', ')}), "upstream" (a claim of the identity provider) or "fhirpath" (an expression on the fhirUser resource)`,
      when: (payload) => typeof payload.value === 'object' && payload.value !== null && !Array.isArray(payload.value),
    }),
  )
  .superRefine((e, ctx) => {
    const identityTargets = e.in.some((t) => t === 'id_token' || t === 'userinfo');
    if (e.scope !== undefined && identityTargets && !IDENTITY_SCOPES.includes(e.scope)) {
      ctx.addIssue({ code: 'custom', path: ['scope'], message: `must be one of ${IDENTITY_SCOPES.join(', ')} when the claim goes into id_token or userinfo` });
    }
  })
  .transform(
    (e): ClaimMapping => ({
      claim: e.claim,
      source: e.account
        ? { kind: 'account', field: e.account }
        : e.upstream
          ? { kind: 'upstream', claim: e.upstream }
          : { kind: 'fhirUser', fhirpath: e.fhirpath! },
      in: new Set(e.in),
      ...(e.scope !== undefined ? { scope: e.scope } : {}),
      ...(e.audiences ? { audiences: e.audiences } : {}),
      multiple: e.multiple === true,
    }),
  );

/** Parses CLAIM_MAPPINGS (a JSON array); every problem is pushed to `problems`. */
export function parseClaimMappings(raw: string | undefined, problems: string[]): ClaimMapping[] {
  const mappings = parseArraySetting(
    {
      name: 'CLAIM_MAPPINGS',
      shape: '{"claim": "...", "account" | "upstream" | "fhirpath": "...", "in": ["id_token", "userinfo", "access_token"]}',
      element: mapping,
      unique: {
        key: (entry) => {
          const claim = (entry as { claim?: unknown } | null)?.claim;
          return typeof claim === 'string' && CLAIM_NAME.test(claim) && !RESERVED_CLAIMS.has(claim) ? claim : undefined;
        },
        path: ['claim'],
        message: (claim) => `"${claim}" is mapped twice`,
      },
    },
    raw,
    problems,
  );
  return mappings.filter((m): m is ClaimMapping => m !== undefined);
}

/** The mapped claim names that go into access tokens (for audit records and introspection). */
export function accessTokenClaimNames(mappings: readonly ClaimMapping[]): string[] {
  return mappings.filter((m) => m.in.has('access_token')).map((m) => m.claim);
}
