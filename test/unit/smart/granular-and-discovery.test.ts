import { describe, expect, it } from 'vitest';
import { granularOptions } from '../../../src/smart/granular.js';
import { parseScope, type ResourceScope, type Scope } from '../../../src/smart/scopes.js';
import { buildSmartConfiguration, buildSmartSecurity, SMART_CAPABILITIES } from '../../../src/smart/smart-configuration.js';
import { describeScope } from '../../../src/smart/describe.js';

const rs = (s: string) => parseScope(s) as ResourceScope;

describe('granular category options', () => {
  it.each([
    ['patient/Observation.rs', 5],
    ['user/Observation.rs', 5],
    ['patient/Condition.rs', 3],
    ['patient/Condition.r', 3],
    ['patient/Observation.read', 0],
    ['patient/Observation.c', 0],
    ['patient/Observation.rs?category=x', 0],
    ['patient/Patient.rs', 0],
    ['patient/*.rs', 0],
  ])('%s offers %d', (scope, count) => {
    expect(granularOptions(rs(scope))).toHaveLength(count);
  });

  it('offers sub-scopes with the same letters, each one valid and narrower', () => {
    const options = granularOptions(rs('patient/Observation.rs'));
    expect(options[0]).toEqual({
      scope: 'patient/Observation.rs?category=http://terminology.hl7.org/CodeSystem/observation-category|laboratory',
      label: 'Laboratory results',
    });
    for (const o of options) expect(parseScope(o.scope)).toMatchObject({ kind: 'resource', version: 2 });
  });
});

describe('discovery documents', () => {
  const endpoints = {
    issuer: 'https://ehr.example/oauth',
    jwksUri: 'https://ehr.example/oauth/jwks',
    authorization: 'https://ehr.example/oauth/authorize',
    token: 'https://ehr.example/oauth/token',
    introspection: 'https://ehr.example/oauth/introspect',
    revocation: 'https://ehr.example/oauth/revoke',
    registration: 'https://ehr.example/oauth/register',
    management: 'https://ehr.example/oauth/account/apps',
  };

  it('smart-configuration and CapabilityStatement security carry the same URLs', () => {
    const smart = buildSmartConfiguration({
      endpoints,
      capabilities: SMART_CAPABILITIES,
      scopesSupported: ['openid'],
      grantTypesSupported: ['authorization_code'],
      tokenEndpointAuthMethods: ['none'],
      tokenEndpointAuthSigningAlgs: ['RS384', 'ES384'],
    });
    const security = buildSmartSecurity(endpoints);
    const uris = Object.fromEntries(security.extension![0]!.extension!.map((e) => [e.url, e.valueUri]));
    expect(uris).toEqual({
      authorize: smart.authorization_endpoint,
      token: smart.token_endpoint,
      introspect: smart.introspection_endpoint,
      revoke: smart.revocation_endpoint,
      register: smart.registration_endpoint,
      manage: smart.management_endpoint,
    });
    expect(smart.code_challenge_methods_supported).toEqual(['S256']);
  });

  it('describes scopes in plain words', () => {
    expect(describeScope(parseScope('patient/Observation.rs') as Scope)).toBe('Read and search Observation resources of the selected patient');
    expect(describeScope(parseScope('user/*.cud') as Scope)).toBe('Create, update and delete all kinds of data that you can see');
  });
});
