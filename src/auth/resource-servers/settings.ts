/**
 * Resource servers other than the FHIR API: APIs of the organisation that accept Bedside's
 * access tokens. Each is named by its audience URL (the RFC 8707 `resource` a client asks for,
 * and the `aud` of the tokens) and lists the scopes it understands. Configured with
 * RESOURCE_SERVERS (read-only at run time) or registered by operators (admin page, command).
 *
 * https://www.rfc-editor.org/rfc/rfc8707
 */
import { parseScope, isScopeError } from '../../smart/scopes.js';
import { jsonArraySetting } from '../../json-setting.js';

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

/**
 * Checks one resource server; returns the normalized setting or the problems. Scopes may not be
 * SMART or OpenID scopes (those belong to the FHIR API and the provider).
 */
export function validateResourceServer(input: unknown, rules: ResourceServerRules): { ok: true; value: ResourceServerSetting } | { ok: false; problems: string[] } {
  const problems: string[] = [];
  if (typeof input !== 'object' || input === null || Array.isArray(input)) return { ok: false, problems: ['must be an object'] };
  const e = input as Record<string, unknown>;
  const url = typeof e.identifier === 'string' ? URL.parse(e.identifier) : null;
  let identifier = '';
  if (!url || !['https:', 'http:'].includes(url.protocol) || url.hash || url.username) {
    problems.push('identifier must be the absolute https URL of the API (its audience), without a fragment');
  } else if (url.protocol === 'http:' && !rules.isLoopbackHost(url.hostname)) {
    problems.push('identifier must be https (plain http only on loopback)');
  } else {
    identifier = url.href;
    if (identifier.replace(/\/+$/, '') === rules.fhirBaseUrl || identifier.startsWith(`${rules.issuer}/`) || identifier === rules.issuer) {
      problems.push('identifier must not be the FHIR API or the authorization server itself');
    }
  }
  const name = typeof e.name === 'string' && e.name.trim() ? e.name.trim().slice(0, 100) : identifier;
  const scopes: Record<string, string> = {};
  if (typeof e.scopes !== 'object' || e.scopes === null || Array.isArray(e.scopes) || Object.keys(e.scopes).length === 0) {
    problems.push('scopes must be an object of scope → description, with at least one scope');
  } else {
    for (const [scope, description] of Object.entries(e.scopes as Record<string, unknown>)) {
      if (!SCOPE_TOKEN.test(scope)) problems.push(`scope "${scope}" contains characters a scope may not contain`);
      else if (!isScopeError(parseScope(scope))) problems.push(`scope "${scope}" is a SMART or OpenID scope; name API scopes differently (e.g. "orders.read")`);
      else scopes[scope] = typeof description === 'string' ? description.slice(0, 200) : scope;
    }
  }
  const ttl = e.accessTokenTtlSeconds;
  if (ttl !== undefined && (typeof ttl !== 'number' || !Number.isInteger(ttl) || ttl < 60 || ttl > 3600)) {
    problems.push('accessTokenTtlSeconds must be an integer from 60 to 3600');
  }
  if (problems.length) return { ok: false, problems };
  return { ok: true, value: { identifier, name, scopes, ...(typeof ttl === 'number' ? { accessTokenTtlSeconds: ttl } : {}) } };
}

/** Parses RESOURCE_SERVERS (a JSON array); every problem is pushed to `problems`. */
export function parseResourceServers(raw: string | undefined, problems: string[], rules: ResourceServerRules): ResourceServerSetting[] {
  if (raw === undefined) return [];
  const parsed = jsonArraySetting('RESOURCE_SERVERS', raw, '{"identifier": "https://api.example.org/", "name": "...", "scopes": {"orders.read": "Read orders"}}', problems);
  if (!parsed) return [];
  const out: ResourceServerSetting[] = [];
  parsed.forEach((entry, i) => {
    const result = validateResourceServer(entry, rules);
    if (!result.ok) problems.push(...result.problems.map((p) => `RESOURCE_SERVERS[${i}]: ${p}`));
    else if (out.some((r) => r.identifier === result.value.identifier)) problems.push(`RESOURCE_SERVERS[${i}]: ${result.value.identifier} is listed twice`);
    else out.push(result.value);
  });
  return out;
}
