/**
 * The operator's settings for this feature are refused at start-up when wrong, each with a
 * message naming what to fix (no server needed).
 */
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../../src/config.js';

function problems(env: Record<string, string>): string[] {
  try {
    loadConfig({ BASE_URL: 'https://bedside.example.org', LOG_LEVEL: 'silent', ...env });
    return [];
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
}

const provider = { id: 'corp', name: 'Corp', issuer: 'https://idp.example.org', clientId: 'bedside', clientSecret: 's' };

describe('FEDERATION_PROVIDERS and LOCAL_LOGIN', () => {
  it('accepts a minimal provider with the documented defaults', () => {
    const config = loadConfig({ BASE_URL: 'https://bedside.example.org', FEDERATION_PROVIDERS: JSON.stringify([provider]) });
    expect(config.federation).toEqual([
      {
        ...provider,
        scope: 'openid profile email',
        match: { claim: 'preferred_username', account: 'username' },
        firstLogin: 'link',
        usernameClaim: 'preferred_username',
        keepClaims: [],
        acceptUnverifiedEmail: false,
      },
    ]);
    expect(config.localLogin).toBe(true);
  });

  const bad: Array<[string, unknown, RegExp]> = [
    ['not JSON', '{', /not valid JSON/],
    ['not an array', '{}', /must be a JSON array/],
    ['bad id', [{ ...provider, id: 'Corp IdP' }], /\.id must be a short lowercase name/],
    ['duplicate id', [provider, provider], /used twice/],
    ['http issuer', [{ ...provider, issuer: 'http://idp.example.org' }], /must be https/],
    [
      'a loopback issuer',
      [{ ...provider, issuer: 'http://127.0.0.1:8081/realms/staff' }],
      /FEDERATION_PROVIDERS\[0\]\.issuer will not be fetched: its host 127\.0\.0\.1 is not a public address \(loopback\); this server fetches only public addresses unless ALLOW_PRIVATE_NETWORK_FETCH=true/,
    ],
    [
      'a private issuer',
      [{ ...provider, issuer: 'https://10.20.30.40/realms/staff' }],
      /issuer will not be fetched: its host 10\.20\.30\.40 is not a public address \(private\)/,
    ],
    ['a localhost issuer', [{ ...provider, issuer: 'http://keycloak.localhost:8081/realms/staff' }], /issuer will not be fetched: .* \(loopback\)/],
    ['no secret', [{ ...provider, clientSecret: '' }], /clientSecret is required/],
    ['no openid', [{ ...provider, scope: 'profile' }], /must include openid/],
    ['bad rule', [{ ...provider, firstLogin: 'always' }], /firstLogin must be one of/],
    ['bad match', [{ ...provider, match: { claim: 'x', account: 'phone' } }], /match\.account/],
    ['bad fhirUser type', [{ ...provider, fhirUser: { resourceType: 'Device', identifierSystem: 'urn:x', claim: 'sub' } }], /fhirUser\.resourceType/],
    ['no identifier system', [{ ...provider, fhirUser: { resourceType: 'Practitioner' } }], /identifierSystem/],
  ];
  for (const [what, value, message] of bad) {
    it(`refuses ${what}`, () => {
      expect(problems({ FEDERATION_PROVIDERS: typeof value === 'string' ? value : JSON.stringify(value) }).join('\n')).toMatch(message);
    });
  }

  it('accepts an issuer on a loopback or private address with ALLOW_PRIVATE_NETWORK_FETCH', () => {
    const local = { ...provider, issuer: 'http://127.0.0.1:8081/realms/staff' };
    const config = loadConfig({ BASE_URL: 'https://bedside.example.org', FEDERATION_PROVIDERS: JSON.stringify([local]), ALLOW_PRIVATE_NETWORK_FETCH: 'true' });
    expect(config.federation.map((p) => p.issuer)).toEqual([local.issuer]);
  });

  it('refuses LOCAL_LOGIN=false without a provider', () => {
    expect(problems({ LOCAL_LOGIN: 'false' }).join('\n')).toMatch(/needs at least one identity provider/);
  });
});

describe('CLAIM_MAPPINGS', () => {
  const bad: Array<[string, unknown, RegExp]> = [
    ['a reserved claim', [{ claim: 'sub', account: 'username', in: ['id_token'] }], /protocol or standard claim/],
    ['a standard claim', [{ claim: 'email', account: 'email', in: ['userinfo'] }], /protocol or standard claim/],
    ['two sources', [{ claim: 'x', account: 'username', upstream: 'y', in: ['userinfo'] }], /exactly one source/],
    ['no source', [{ claim: 'x', in: ['userinfo'] }], /exactly one source/],
    ['an unknown account field', [{ claim: 'x', account: 'password', in: ['userinfo'] }], /account must be one of/],
    ['bad FHIRPath', [{ claim: 'x', fhirpath: 'identifier.where(', in: ['userinfo'] }], /not a valid FHIRPath/],
    ['no targets', [{ claim: 'x', account: 'username', in: [] }], /in must be a non-empty array/],
    ['an unknown target', [{ claim: 'x', account: 'username', in: ['cookie'] }], /in must be a non-empty array/],
    ['a non-OpenID scope for id_token', [{ claim: 'x', account: 'username', in: ['id_token'], scope: 'orders.read' }], /scope must be one of openid/],
    [
      'twice the same claim',
      [
        { claim: 'x', account: 'username', in: ['userinfo'] },
        { claim: 'x', account: 'id', in: ['userinfo'] },
      ],
      /mapped twice/,
    ],
  ];
  for (const [what, value, message] of bad) {
    it(`refuses ${what}`, () => {
      expect(problems({ CLAIM_MAPPINGS: JSON.stringify(value) }).join('\n')).toMatch(message);
    });
  }

  it('accepts an access-token claim gated by an API scope', () => {
    expect(problems({ CLAIM_MAPPINGS: JSON.stringify([{ claim: 'x', account: 'username', in: ['access_token'], scope: 'orders.read' }]) })).toEqual([]);
  });
});

describe('RESOURCE_SERVERS', () => {
  const bad: Array<[string, unknown, RegExp]> = [
    ['a relative identifier', [{ identifier: '/api', scopes: { 'a.read': 'A' } }], /absolute https URL/],
    ['plain http off loopback', [{ identifier: 'http://api.example.org/', scopes: { 'a.read': 'A' } }], /must be https/],
    ['the FHIR API', [{ identifier: 'https://bedside.example.org/fhir', scopes: { 'a.read': 'A' } }], /must not be the FHIR API/],
    ['no scopes', [{ identifier: 'https://api.example.org/', scopes: {} }], /at least one scope/],
    ['a SMART scope', [{ identifier: 'https://api.example.org/', scopes: { 'system/*.rs': 'all' } }], /SMART or OpenID scope/],
    ['an OpenID scope', [{ identifier: 'https://api.example.org/', scopes: { openid: 'x' } }], /SMART or OpenID scope/],
    ['a bad lifetime', [{ identifier: 'https://api.example.org/', scopes: { 'a.read': 'A' }, accessTokenTtlSeconds: 7200 }], /60 to 3600/],
    [
      'the same API twice',
      [
        { identifier: 'https://api.example.org/', scopes: { 'a.read': 'A' } },
        { identifier: 'https://api.example.org', scopes: { 'a.read': 'A' } },
      ],
      /listed twice/,
    ],
  ];
  for (const [what, value, message] of bad) {
    it(`refuses ${what}`, () => {
      expect(problems({ RESOURCE_SERVERS: JSON.stringify(value) }).join('\n')).toMatch(message);
    });
  }
});
