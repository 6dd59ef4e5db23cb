/**
 * Upstream OpenID providers (FEDERATION_PROVIDERS): corporate identity providers users may sign
 * in with. Parsed and validated at start-up; see docs/oidc.md for a copy-ready example. The
 * authorization server signs users in through them (auth/accounts/federation/).
 *
 * https://openid.net/specs/openid-connect-core-1_0.html#CodeFlowAuth (Bedside is the RP here)
 */
import { z } from 'zod';
import { parseArraySetting } from './json-array.js';

/** What happens when someone signs in through the provider for the first time. */
export const FIRST_LOGIN_RULES = ['link', 'provision', 'link-or-provision'] as const;
export type FirstLoginRule = (typeof FIRST_LOGIN_RULES)[number];

export const FHIR_USER_TYPES = ['Practitioner', 'PractitionerRole', 'Patient', 'RelatedPerson', 'Person'] as const;

export interface FederationProvider {
  /** Short name in URLs: the callback is `${issuer}/federation/<id>/callback`. */
  id: string;
  /** Shown on the sign-in button ("Sign in with <name>"). */
  name: string;
  /** The upstream issuer; its discovery document is read at first use. */
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** Scopes asked upstream. */
  scope: string;
  /** How a first sign-in finds an existing Bedside account: this upstream claim equals that account field. */
  match: { claim: string; account: 'username' | 'email' };
  /**
   * `link`: only to an existing account that matches (others are refused);
   * `provision`: always a new account (refused when the username is taken);
   * `link-or-provision`: link when one matches, otherwise create one.
   */
  firstLogin: FirstLoginRule;
  /** Upstream claim that becomes the username of a provisioned account. */
  usernameClaim: string;
  /** Resolves the account's fhirUser: the resource of this type whose identifier (system|value) is the claim's value. */
  fhirUser?: { resourceType: (typeof FHIR_USER_TYPES)[number]; identifierSystem: string; claim: string };
  /** Upstream claims remembered on the account (for CLAIM_MAPPINGS `"upstream": ...`). */
  keepClaims: string[];
  /** Match by email even when the provider does not say `email_verified: true` (default false). */
  acceptUnverifiedEmail: boolean;
}

const ID = /^[a-z0-9][a-z0-9-]{0,31}$/;
const CLAIM = /^[A-Za-z][A-Za-z0-9_.:-]{0,63}$/;

export interface FederationParseOptions {
  /** Plain http is accepted for loopback issuers only (tests, a local IdP). */
  isLoopbackHost(hostname: string): boolean;
  /** Why the server would never fetch a URL (the outbound-fetch policy), if it would not. */
  fetchRefusal?(url: string): string | undefined;
}

/** A string field, trimmed; blank counts as absent (then its default applies). */
const text = (error: string) => z.preprocess((v) => (typeof v === 'string' && v.trim() ? v.trim() : undefined), z.string({ error }));
const optionalText = (error: string) => z.preprocess((v) => (typeof v === 'string' && v.trim() ? v.trim() : undefined), z.string({ error }).optional());
const claimName = (fallback: string) => z.string({ error: 'must be a claim name' }).regex(CLAIM, { error: 'must be a claim name' }).default(fallback);

/** The issuer: exactly as configured (discovery compares it character for character), https unless loopback, fetchable. */
function issuerField(options: FederationParseOptions) {
  return text("must be the https URL of the identity provider's issuer").superRefine((issuer, ctx) => {
    const url = URL.parse(issuer);
    if (!url || !['https:', 'http:'].includes(url.protocol) || url.hash || url.search) {
      ctx.addIssue({ code: 'custom', message: "must be the https URL of the identity provider's issuer" });
    } else if (url.protocol === 'http:' && !options.isLoopbackHost(url.hostname)) {
      ctx.addIssue({ code: 'custom', message: 'must be https (plain http only on loopback)' });
    } else {
      const refusal = options.fetchRefusal?.(issuer);
      if (refusal) ctx.addIssue({ code: 'custom', message: `will not be fetched: ${refusal}` });
    }
  });
}

const fhirUserMapping = z.object(
  {
    resourceType: z.enum(FHIR_USER_TYPES, { error: `must be one of ${FHIR_USER_TYPES.join(', ')}` }).default('Practitioner'),
    identifierSystem: z
      .string({ error: 'must be the identifier system (a URI) to look the claim up in' })
      .refine((s) => s !== '' && !s.includes('|'), { error: 'must be the identifier system (a URI) to look the claim up in' }),
    claim: claimName('preferred_username'),
  },
  { error: 'must be an object' },
);

/** One element of FEDERATION_PROVIDERS; every mistake in it is reported. */
function providerSchema(options: FederationParseOptions) {
  return z
    .object(
      {
        id: text('must be a short lowercase name (a-z, 0-9, -), used in the callback URL').pipe(
          z.string().regex(ID, { error: 'must be a short lowercase name (a-z, 0-9, -), used in the callback URL' }),
        ),
        name: optionalText('must be a name'),
        issuer: issuerField(options),
        clientId: text('is required (the client Bedside is registered as at the identity provider)'),
        clientSecret: text('is required'),
        scope: optionalText('must include openid').pipe(
          z
            .string()
            .default('openid profile email')
            .refine((s) => s.split(' ').includes('openid'), { error: 'must include openid' }),
        ),
        match: z
          .object(
            {
              claim: claimName('preferred_username'),
              account: z.enum(['username', 'email'], { error: 'must be "username" or "email"' }).default('username'),
            },
            { error: 'must be an object' },
          )
          .default({ claim: 'preferred_username', account: 'username' }),
        firstLogin: z.enum(FIRST_LOGIN_RULES, { error: `must be one of ${FIRST_LOGIN_RULES.join(', ')}` }).default('link'),
        usernameClaim: optionalText('must be a claim name').pipe(z.string().regex(CLAIM, { error: 'must be a claim name' }).optional()),
        fhirUser: fhirUserMapping.optional(),
        keepClaims: z
          .array(z.string({ error: 'must be an array of claim names' }).regex(CLAIM, { error: 'must be an array of claim names' }), {
            error: 'must be an array of claim names',
          })
          .default([]),
        acceptUnverifiedEmail: z.boolean({ error: 'must be true or false' }).default(false),
      },
      { error: 'must be an object' },
    )
    .transform(
      (e): FederationProvider => ({
        id: e.id,
        name: e.name ?? e.id,
        issuer: e.issuer,
        clientId: e.clientId,
        clientSecret: e.clientSecret,
        scope: e.scope,
        match: e.match,
        firstLogin: e.firstLogin,
        usernameClaim: e.usernameClaim ?? e.match.claim,
        ...(e.fhirUser ? { fhirUser: e.fhirUser } : {}),
        keepClaims: e.keepClaims,
        acceptUnverifiedEmail: e.acceptUnverifiedEmail,
      }),
    );
}

/** Parses FEDERATION_PROVIDERS (a JSON array); every problem is pushed to `problems`. */
export function parseFederationProviders(raw: string | undefined, problems: string[], options: FederationParseOptions): FederationProvider[] {
  const providers = parseArraySetting(
    {
      name: 'FEDERATION_PROVIDERS',
      shape: '{"id", "name", "issuer", "clientId", "clientSecret", ...}',
      element: providerSchema(options),
      unique: {
        key: (entry) => {
          const id = (entry as { id?: unknown } | null)?.id;
          return typeof id === 'string' && ID.test(id.trim()) ? id.trim() : undefined;
        },
        path: ['id'],
        message: (id) => `"${id}" is used twice`,
      },
    },
    raw,
    problems,
  );
  return providers.filter((p): p is FederationProvider => p !== undefined);
}
