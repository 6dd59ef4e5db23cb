/**
 * The settings that hold JSON (CLAIM_MAPPINGS, FEDERATION_PROVIDERS, RESOURCE_SERVERS,
 * JWT_BEARER_ISSUERS) and the scalar variables, read by schemas: every mistake of every element
 * and every variable is listed at once, each naming where it is, and a wrong value never stops
 * the others from being checked.
 */
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../../src/config.js';
import { validateResourceServer } from '../../../src/config/resource-servers.js';
import { isLoopbackHost } from '../../../src/config.js';

function problems(env: Record<string, string>): string[] {
  try {
    loadConfig({ BASE_URL: 'https://bedside.example.org', ...env });
    return [];
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
}

describe('JSON settings', () => {
  it('lists every mistake of one claim mapping, and of the next ones', () => {
    const found = problems({
      CLAIM_MAPPINGS: JSON.stringify([
        { claim: 5, fhirpath: 'identifier.where(', in: 'id_token', audiences: ['not a url'], multiple: 'yes' },
        'x',
        { claim: 'dept', account: 'username', upstream: 'dept', in: ['userinfo'] },
      ]),
    });
    expect(found).toEqual([
      'CLAIM_MAPPINGS[0].claim must be a claim name (letters, digits, _ . : -)',
      'CLAIM_MAPPINGS[0].fhirpath is not a valid FHIRPath expression',
      'CLAIM_MAPPINGS[0].in must be a non-empty array of id_token, userinfo, access_token',
      'CLAIM_MAPPINGS[0].audiences must be an array of resource server URLs',
      'CLAIM_MAPPINGS[0].multiple must be true or false',
      'CLAIM_MAPPINGS[1] must be an object',
      'CLAIM_MAPPINGS[2] needs exactly one source: "account" (id, username, email, name, fhirUser), "upstream" (a claim of the identity provider) or "fhirpath" (an expression on the fhirUser resource)',
    ]);
  });

  it('lists every mistake of an identity provider, with its nested fields', () => {
    const found = problems({
      FEDERATION_PROVIDERS: JSON.stringify([
        {
          id: 'corp',
          issuer: 'ftp://idp',
          clientId: 'b',
          clientSecret: ' ',
          match: { claim: 'a b', account: 'phone' },
          fhirUser: { resourceType: 'Device', identifierSystem: 'a|b' },
          keepClaims: ['ok', 7],
        },
      ]),
    });
    expect(found).toEqual([
      "FEDERATION_PROVIDERS[0].issuer must be the https URL of the identity provider's issuer",
      'FEDERATION_PROVIDERS[0].clientSecret is required',
      'FEDERATION_PROVIDERS[0].match.claim must be a claim name',
      'FEDERATION_PROVIDERS[0].match.account must be "username" or "email"',
      'FEDERATION_PROVIDERS[0].fhirUser.resourceType must be one of Practitioner, PractitionerRole, Patient, RelatedPerson, Person',
      'FEDERATION_PROVIDERS[0].fhirUser.identifierSystem must be the identifier system (a URI) to look the claim up in',
      'FEDERATION_PROVIDERS[0].keepClaims must be an array of claim names',
    ]);
  });

  it('reports a malformed JWT bearer issuer once, whatever number of elements are wrong', () => {
    const found = problems({ JWT_BEARER_ISSUERS: JSON.stringify([{ issuer: 1 }, { issuer: 'https://idp.example' }]) });
    expect(found).toEqual([
      'JWT_BEARER_ISSUERS must be a JSON array of {"issuer": "...", "jwks": {"keys": [...]}} or {"issuer": "...", "jwksUri": "https://..."}',
    ]);
  });

  it('checks an operator-registered resource server with the same schema as RESOURCE_SERVERS', () => {
    const rules = { fhirBaseUrl: 'https://bedside.example.org/fhir', issuer: 'https://bedside.example.org/oauth', isLoopbackHost };
    expect(
      validateResourceServer(
        { identifier: 'https://orders.example.org', name: ' Orders ', scopes: { 'orders.read': 'Read orders', 'orders.write': 5 } },
        rules,
      ),
    ).toEqual({
      ok: true,
      value: { identifier: 'https://orders.example.org/', name: 'Orders', scopes: { 'orders.read': 'Read orders', 'orders.write': 'orders.write' } },
    });
    expect(validateResourceServer({ identifier: 'http://orders.example.org', scopes: { 'patient/*.rs': 'x' }, accessTokenTtlSeconds: 30 }, rules)).toEqual({
      ok: false,
      problems: [
        'identifier must be https (plain http only on loopback)',
        'scope "patient/*.rs" is a SMART or OpenID scope; name API scopes differently (e.g. "orders.read")',
        'accessTokenTtlSeconds must be an integer from 60 to 3600',
      ],
    });
    expect(validateResourceServer(['x'], rules)).toEqual({ ok: false, problems: ['must be an object'] });
  });
});

describe('variables', () => {
  it('reports each wrong variable once, and still checks the rules across variables', () => {
    expect(
      problems({
        PORT: '-1',
        BODY_LIMIT: '1tb',
        EXPORT_FILE_SIZE: '512',
        DEFAULT_PAGE_SIZE: '900',
        MAX_PAGE_SIZE: '100',
        LAUNCHER_SANDBOX: 'sometimes',
        MONGODB_URI: 'mysql://db',
      }),
    ).toEqual([
      'PORT must be an integer from 0 to 65535 (got "-1")',
      'MONGODB_URI must start with mongodb:// or mongodb+srv://',
      'BODY_LIMIT must be a size such as 512kb, 16mb or 1048576 (got "1tb")',
      'LAUNCHER_SANDBOX must be true or false (got "sometimes")',
      'EXPORT_FILE_SIZE must be at least 1kb (got "512")',
      'DEFAULT_PAGE_SIZE must not exceed MAX_PAGE_SIZE',
    ]);
  });

  it('reads sizes, flags and lists in any case, and blank as unset', () => {
    const config = loadConfig({ BODY_LIMIT: '2 MB', TRUST_PROXY: ' On ', LOG_LEVEL: 'WARN', DATA_DIR: '  ', EXPORT_FILE_SIZE: '1kb' }, '/srv');
    expect(config).toMatchObject({
      bodyLimitBytes: 2 * 1024 ** 2,
      trustProxy: true,
      logLevel: 'warn',
      storage: { dataDir: '/srv/data' },
      export: { maxFileBytes: 1024 },
    });
  });
});
