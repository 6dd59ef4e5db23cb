/**
 * SMART and OpenID discovery: every required and recommended field, only working capabilities,
 * the same URLs in the CapabilityStatement, absolute URLs, CORS.
 * https://hl7.org/fhir/smart-app-launch/STU2.2/conformance.html
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './support/server.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => server?.stop());

describe('/.well-known/smart-configuration', () => {
  it('names the issuer and every endpoint as absolute URLs, with CORS and JSON', async () => {
    const response = await fetch(`${server.fhirBase}/.well-known/smart-configuration`, { headers: { origin: 'https://app.example' } });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(response.headers.get('access-control-allow-origin')).toBe('*');
    const body = (await response.json()) as Record<string, unknown>;
    const issuer = server.issuer;
    expect(body).toMatchObject({
      issuer,
      jwks_uri: `${issuer}/jwks`,
      authorization_endpoint: `${issuer}/authorize`,
      token_endpoint: `${issuer}/token`,
      introspection_endpoint: `${issuer}/introspect`,
      revocation_endpoint: `${issuer}/revoke`,
      registration_endpoint: `${issuer}/register`,
      management_endpoint: `${issuer}/account/apps`,
      response_types_supported: ['code'],
      code_challenge_methods_supported: ['S256'],
      grant_types_supported: ['authorization_code', 'refresh_token', 'client_credentials'],
    });
    expect(body.token_endpoint_auth_methods_supported).toEqual(expect.arrayContaining(['private_key_jwt', 'client_secret_basic', 'none']));
    expect(body.token_endpoint_auth_signing_alg_values_supported).toEqual(['RS384', 'ES384']);
    expect(body.scopes_supported).toEqual(
      expect.arrayContaining([
        'openid',
        'fhirUser',
        'launch',
        'launch/patient',
        'offline_access',
        'online_access',
        'patient/*.rs',
        'user/*.read',
        'system/*.rs',
      ]),
    );
    expect(body.capabilities).toEqual([
      'launch-ehr',
      'launch-standalone',
      'authorize-post',
      'client-public',
      'client-confidential-symmetric',
      'client-confidential-asymmetric',
      'sso-openid-connect',
      'context-banner',
      'context-style',
      'context-ehr-patient',
      'context-ehr-encounter',
      'context-standalone-patient',
      'context-standalone-encounter',
      'permission-offline',
      'permission-online',
      'permission-patient',
      'permission-user',
      'permission-v1',
      'permission-v2',
    ]);
    for (const [key, value] of Object.entries(body))
      if (key.endsWith('_endpoint') || key === 'jwks_uri') expect(String(value)).toMatch(/^http:\/\/127\.0\.0\.1:\d+\//);
  });

  it('answers the CORS preflight', async () => {
    const response = await fetch(`${server.fhirBase}/.well-known/smart-configuration`, {
      method: 'OPTIONS',
      headers: { origin: 'https://app.example', 'access-control-request-method': 'GET' },
    });
    expect(response.status).toBe(204);
    expect(response.headers.get('access-control-allow-origin')).toBe('*');
  });

  it('the CapabilityStatement carries exactly the same URLs in the oauth-uris extension', async () => {
    const smart = (await (await fetch(`${server.fhirBase}/.well-known/smart-configuration`)).json()) as Record<string, string>;
    const metadata = (await (await fetch(`${server.fhirBase}/metadata`)).json()) as {
      rest: Array<{
        security: {
          service: Array<{ coding: Array<{ code: string }> }>;
          extension: Array<{ url: string; extension: Array<{ url: string; valueUri: string }> }>;
        };
      }>;
    };
    const security = metadata.rest[0]!.security;
    expect(security.service[0]!.coding[0]!.code).toBe('SMART-on-FHIR');
    const oauth = security.extension.find((e) => e.url === 'http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris')!;
    expect(Object.fromEntries(oauth.extension.map((e) => [e.url, e.valueUri]))).toEqual({
      authorize: smart.authorization_endpoint,
      token: smart.token_endpoint,
      introspect: smart.introspection_endpoint,
      revoke: smart.revocation_endpoint,
      register: smart.registration_endpoint,
      manage: smart.management_endpoint,
    });
  });
});

describe('OpenID Connect discovery at the issuer', () => {
  it('is served with CORS and agrees with smart-configuration', async () => {
    const smart = (await (await fetch(`${server.fhirBase}/.well-known/smart-configuration`)).json()) as Record<string, string>;
    const response = await fetch(`${server.issuer}/.well-known/openid-configuration`, { headers: { origin: 'https://app.example' } });
    expect(response.status).toBe(200);
    // oidc-provider reflects any origin on discovery (open CORS).
    expect(response.headers.get('access-control-allow-origin')).toBe('https://app.example');
    const oidc = (await response.json()) as Record<string, unknown>;
    expect(oidc).toMatchObject({
      issuer: smart.issuer,
      authorization_endpoint: smart.authorization_endpoint,
      token_endpoint: smart.token_endpoint,
      jwks_uri: smart.jwks_uri,
      registration_endpoint: smart.registration_endpoint,
      introspection_endpoint: smart.introspection_endpoint,
      revocation_endpoint: smart.revocation_endpoint,
      code_challenge_methods_supported: ['S256'],
      id_token_signing_alg_values_supported: ['RS256'],
      token_endpoint_auth_signing_alg_values_supported: ['RS384', 'ES384'],
    });
    expect(oidc.claims_supported).toEqual(expect.arrayContaining(['sub', 'fhirUser']));
  });

  it('publishes the store-kept keys: RS256 for id_tokens, ES256 for access tokens, public parts only', async () => {
    const jwks = (await (await fetch(`${server.issuer}/jwks`)).json()) as { keys: Array<Record<string, string>> };
    expect(jwks.keys.map((k) => k.alg).sort()).toEqual(['ES256', 'RS256']);
    for (const key of jwks.keys) {
      expect(key.kid).toBeTruthy();
      expect(key.d).toBeUndefined();
    }
  });
});

describe('discovery documents are JSON whatever the Accept header', () => {
  /** What browsers send, a bare text/html as a black-box test sends, XML, and nonsense. */
  const BROWSER = 'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8';
  const ACCEPTS = ['text/html', BROWSER, 'application/xml', 'image/png', 'nonsense'];
  const documents = () =>
    [
      [`${server.fhirBase}/.well-known/smart-configuration`, /^application\/json; charset=utf-8$/, 'token_endpoint'],
      [`${server.issuer}/.well-known/openid-configuration`, /^application\/json; charset=utf-8$/, 'token_endpoint'],
      [`${server.issuer}/.well-known/oauth-authorization-server`, /^application\/json; charset=utf-8$/, 'token_endpoint'],
      [`${server.issuer}/jwks`, /^application\/(jwk-set\+)?json; charset=utf-8$/, 'keys'],
      [`${server.issuer}/smart-style.json`, /^application\/json; charset=utf-8$/, 'color_background'],
    ] as const;

  it.each(ACCEPTS)('serves every discovery document as JSON to Accept: %s', async (accept) => {
    for (const [url, type, field] of documents()) {
      const response = await fetch(url, { headers: { accept } });
      expect(response.status, url).toBe(200);
      expect(response.headers.get('content-type'), url).toMatch(type);
      expect(await response.json(), url).toHaveProperty(field);
    }
  });

  // The CapabilityStatement is a FHIR resource: XML when the Accept prefers it, JSON when it names
  // neither format, never 406.
  it.each([
    ['text/html', 'json'],
    ['image/png', 'json'],
    ['nonsense', 'json'],
    [BROWSER, 'xml'],
    ['application/xml', 'xml'],
  ] as const)('serves /metadata to Accept: %s as %s', async (accept, format) => {
    const response = await fetch(`${server.fhirBase}/metadata`, { headers: { accept } });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe(`application/fhir+${format}; charset=utf-8`);
    const text = await response.text();
    if (format === 'json') expect(JSON.parse(text)).toMatchObject({ resourceType: 'CapabilityStatement' });
    else expect(text).toMatch(/<CapabilityStatement xmlns="http:\/\/hl7\.org\/fhir">/);
  });

  it('still answers 406 for FHIR data the client will not accept, and for an unsupported _format everywhere', async () => {
    const data = await fetch(`${server.fhirBase}/Patient`, { headers: { accept: 'text/html' } });
    expect(data.status).toBe(406);
    expect(((await data.json()) as { issue: Array<{ code: string }> }).issue[0]!.code).toBe('not-supported');
    expect((await fetch(`${server.fhirBase}/metadata?_format=image/png`, { headers: { accept: 'text/html' } })).status).toBe(406);
    expect((await fetch(`${server.fhirBase}/.well-known/smart-configuration?_format=image/png`)).status).toBe(406);
  });
});

describe('smart_style_url', () => {
  it('is a JSON style document served with CORS', async () => {
    const response = await fetch(`${server.issuer}/smart-style.json`);
    expect(response.status).toBe(200);
    expect(response.headers.get('access-control-allow-origin')).toBe('*');
    expect(await response.json()).toMatchObject({ color_background: expect.any(String), font_family_body: expect.any(String) });
  });
});
