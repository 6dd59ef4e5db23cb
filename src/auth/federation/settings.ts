/**
 * Upstream OpenID providers (FEDERATION_PROVIDERS): corporate identity providers users may sign
 * in with. Parsed and validated at start-up; see docs/oidc.md for a copy-ready example.
 *
 * https://openid.net/specs/openid-connect-core-1_0.html#CodeFlowAuth (Bedside is the RP here)
 */
import { jsonArraySetting } from '../../json-setting.js';

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

/** Parses FEDERATION_PROVIDERS (a JSON array); every problem is pushed to `problems`. */
export function parseFederationProviders(raw: string | undefined, problems: string[], options: FederationParseOptions): FederationProvider[] {
  if (raw === undefined) return [];
  const parsed = jsonArraySetting('FEDERATION_PROVIDERS', raw, '{"id", "name", "issuer", "clientId", "clientSecret", ...}', problems);
  if (!parsed) return [];
  const providers: FederationProvider[] = [];
  const ids = new Set<string>();
  parsed.forEach((entry: unknown, i) => {
    const where = `FEDERATION_PROVIDERS[${i}]`;
    const before = problems.length;
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
      problems.push(`${where} must be an object`);
      return;
    }
    const e = entry as Record<string, unknown>;
    const str = (name: string): string | undefined => (typeof e[name] === 'string' && (e[name] as string).trim() ? (e[name] as string).trim() : undefined);
    const id = str('id');
    if (!id || !ID.test(id)) problems.push(`${where}.id must be a short lowercase name (a-z, 0-9, -), used in the callback URL`);
    else if (ids.has(id)) problems.push(`${where}.id "${id}" is used twice`);
    if (id) ids.add(id);
    const issuer = str('issuer');
    const issuerUrl = issuer ? URL.parse(issuer) : null;
    if (!issuerUrl || !['https:', 'http:'].includes(issuerUrl.protocol) || issuerUrl.hash || issuerUrl.search) {
      problems.push(`${where}.issuer must be the https URL of the identity provider's issuer`);
    } else if (issuerUrl.protocol === 'http:' && !options.isLoopbackHost(issuerUrl.hostname)) {
      problems.push(`${where}.issuer must be https (plain http only on loopback)`);
    } else if (options.fetchRefusal?.(issuer!)) {
      problems.push(`${where}.issuer will not be fetched: ${options.fetchRefusal(issuer!)}`);
    }
    const clientId = str('clientId');
    if (!clientId) problems.push(`${where}.clientId is required (the client Bedside is registered as at the identity provider)`);
    const clientSecret = str('clientSecret');
    if (!clientSecret) problems.push(`${where}.clientSecret is required`);
    const scope = str('scope') ?? 'openid profile email';
    if (!scope.split(' ').includes('openid')) problems.push(`${where}.scope must include openid`);

    const match = (e.match ?? {}) as Record<string, unknown>;
    const matchClaim = typeof match.claim === 'string' ? match.claim : 'preferred_username';
    const matchAccount = match.account ?? 'username';
    if (!CLAIM.test(matchClaim)) problems.push(`${where}.match.claim must be a claim name`);
    if (matchAccount !== 'username' && matchAccount !== 'email') problems.push(`${where}.match.account must be "username" or "email"`);

    const firstLogin = e.firstLogin ?? 'link';
    if (!(FIRST_LOGIN_RULES as readonly unknown[]).includes(firstLogin)) problems.push(`${where}.firstLogin must be one of ${FIRST_LOGIN_RULES.join(', ')}`);
    const usernameClaim = str('usernameClaim') ?? matchClaim;
    if (!CLAIM.test(usernameClaim)) problems.push(`${where}.usernameClaim must be a claim name`);

    let fhirUser: FederationProvider['fhirUser'];
    if (e.fhirUser !== undefined) {
      const f = e.fhirUser as Record<string, unknown>;
      const resourceType = f?.resourceType ?? 'Practitioner';
      if (!(FHIR_USER_TYPES as readonly unknown[]).includes(resourceType)) problems.push(`${where}.fhirUser.resourceType must be one of ${FHIR_USER_TYPES.join(', ')}`);
      if (typeof f?.identifierSystem !== 'string' || !f.identifierSystem || f.identifierSystem.includes('|')) problems.push(`${where}.fhirUser.identifierSystem must be the identifier system (a URI) to look the claim up in`);
      const claim = typeof f?.claim === 'string' ? f.claim : 'preferred_username';
      if (!CLAIM.test(claim)) problems.push(`${where}.fhirUser.claim must be a claim name`);
      fhirUser = { resourceType: resourceType as (typeof FHIR_USER_TYPES)[number], identifierSystem: String(f?.identifierSystem), claim };
    }
    const keepClaims = e.keepClaims ?? [];
    if (!Array.isArray(keepClaims) || !keepClaims.every((c) => typeof c === 'string' && CLAIM.test(c))) problems.push(`${where}.keepClaims must be an array of claim names`);
    if (e.acceptUnverifiedEmail !== undefined && typeof e.acceptUnverifiedEmail !== 'boolean') problems.push(`${where}.acceptUnverifiedEmail must be true or false`);
    if (problems.length > before) return;
    providers.push({
      id: id!,
      name: str('name') ?? id!,
      // Exactly as configured: discovery checks the issuer character for character.
      issuer: issuer!,
      clientId: clientId!,
      clientSecret: clientSecret!,
      scope,
      match: { claim: matchClaim, account: matchAccount as 'username' | 'email' },
      firstLogin: firstLogin as FirstLoginRule,
      usernameClaim,
      ...(fhirUser ? { fhirUser } : {}),
      keepClaims: keepClaims as string[],
      acceptUnverifiedEmail: e.acceptUnverifiedEmail === true,
    });
  });
  return providers;
}
