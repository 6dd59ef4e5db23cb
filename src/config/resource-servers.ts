/**
 * Resource servers other than the FHIR API: APIs of the organisation that accept Bedside's
 * access tokens. Each is named by its audience URL (the RFC 8707 `resource` a client asks for,
 * and the `aud` of the tokens) and lists the scopes it understands. Configured with
 * RESOURCE_SERVERS (read-only at run time) or registered by operators (admin page, command), both
 * checked by the same schema.
 *
 * https://www.rfc-editor.org/rfc/rfc8707
 */
import { z } from 'zod';
import { isScopeError, parseScope } from '../smart/scopes.js';
import { parseArraySetting, sentence } from './json-array.js';

export interface ResourceServerSetting {
  /** The audience URL: what clients pass as `resource` and what tokens carry as `aud`. */
  identifier: string;
  name: string;
  /** Scope → description shown on the consent page. */
  scopes: Record<string, string>;
  /** Access token lifetime for this API (s); the server's ACCESS_TOKEN_TTL when absent. */
  accessTokenTtlSeconds?: number;
}

const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]{1,100}$/;

export interface ResourceServerRules {
  fhirBaseUrl: string;
  issuer: string;
  isLoopbackHost(hostname: string): boolean;
}

const IDENTIFIER_MESSAGE = 'identifier must be the absolute https URL of the API (its audience), without a fragment';
const SCOPES_MESSAGE = 'scopes must be an object of scope → description, with at least one scope';

/** The audience URL, normalized (`https://api.example.org` → `https://api.example.org/`). */
function identifierField(rules: ResourceServerRules) {
  return z.string({ error: IDENTIFIER_MESSAGE }).transform((value, ctx) => {
    const url = URL.parse(value);
    if (!url || !['https:', 'http:'].includes(url.protocol) || url.hash || url.username) {
      ctx.addIssue({ code: 'custom', message: IDENTIFIER_MESSAGE });
    } else if (url.protocol === 'http:' && !rules.isLoopbackHost(url.hostname)) {
      ctx.addIssue({ code: 'custom', message: 'identifier must be https (plain http only on loopback)' });
    } else if (url.href.replace(/\/+$/, '') === rules.fhirBaseUrl || url.href.startsWith(`${rules.issuer}/`) || url.href === rules.issuer) {
      ctx.addIssue({ code: 'custom', message: 'identifier must not be the FHIR API or the authorization server itself' });
    }
    return url?.href ?? value;
  });
}

/** Scope → description; API scopes may not be SMART or OpenID scopes (those belong to the FHIR API and the provider). */
const scopesField = z
  .record(z.string(), z.unknown(), { error: SCOPES_MESSAGE })
  .refine((scopes) => Object.keys(scopes).length > 0, { error: SCOPES_MESSAGE })
  .superRefine((scopes, ctx) => {
    for (const scope of Object.keys(scopes)) {
      if (!SCOPE_TOKEN.test(scope)) ctx.addIssue({ code: 'custom', message: `scope "${scope}" contains characters a scope may not contain` });
      else if (!isScopeError(parseScope(scope)))
        ctx.addIssue({ code: 'custom', message: `scope "${scope}" is a SMART or OpenID scope; name API scopes differently (e.g. "orders.read")` });
    }
  })
  .transform((scopes) =>
    Object.fromEntries(Object.entries(scopes).map(([scope, description]) => [scope, typeof description === 'string' ? description.slice(0, 200) : scope])),
  );

function resourceServerSchema(rules: ResourceServerRules) {
  return z
    .object(
      {
        identifier: identifierField(rules),
        name: z.unknown().optional(),
        scopes: scopesField,
        accessTokenTtlSeconds: z
          .number({ error: 'accessTokenTtlSeconds must be an integer from 60 to 3600' })
          .int({ error: 'accessTokenTtlSeconds must be an integer from 60 to 3600' })
          .min(60, { error: 'accessTokenTtlSeconds must be an integer from 60 to 3600' })
          .max(3600, { error: 'accessTokenTtlSeconds must be an integer from 60 to 3600' })
          .optional(),
      },
      { error: 'must be an object' },
    )
    .transform(
      (e): ResourceServerSetting => ({
        identifier: e.identifier,
        name: typeof e.name === 'string' && e.name.trim() ? e.name.trim().slice(0, 100) : e.identifier,
        scopes: e.scopes,
        ...(e.accessTokenTtlSeconds !== undefined ? { accessTokenTtlSeconds: e.accessTokenTtlSeconds } : {}),
      }),
    );
}

/** Checks one resource server (an operator's registration); returns the normalized setting or the problems. */
export function validateResourceServer(
  input: unknown,
  rules: ResourceServerRules,
): { ok: true; value: ResourceServerSetting } | { ok: false; problems: string[] } {
  const result = resourceServerSchema(rules).safeParse(input);
  return result.success ? { ok: true, value: result.data } : { ok: false, problems: [...new Set(result.error.issues.map((i) => i.message))] };
}

/** Parses RESOURCE_SERVERS (a JSON array); every problem is pushed to `problems`. */
export function parseResourceServers(raw: string | undefined, problems: string[], rules: ResourceServerRules): ResourceServerSetting[] {
  const servers = parseArraySetting(
    {
      name: 'RESOURCE_SERVERS',
      shape: '{"identifier": "https://api.example.org/", "name": "...", "scopes": {"orders.read": "Read orders"}}',
      element: resourceServerSchema(rules),
      wording: sentence,
      unique: {
        key: (entry) => {
          const identifier = (entry as { identifier?: unknown } | null)?.identifier;
          return typeof identifier === 'string' ? URL.parse(identifier)?.href : undefined;
        },
        path: ['identifier'],
        message: (identifier) => `${identifier} is listed twice`,
      },
    },
    raw,
    problems,
  );
  return servers.filter((s): s is ResourceServerSetting => s !== undefined);
}
