/**
 * Configuration: defaults from docs/contract.md and the README's configuration table, and a clear message for each mistake (all of them
 * reported at once).
 */
import { describe, expect, it } from 'vitest';
import { ConfigError, isLoopbackHost, loadConfig } from '../../../src/config.js';

describe('loadConfig', () => {
  it('has the contract defaults', () => {
    const config = loadConfig({}, '/srv/bedside');
    expect(config).toMatchObject({
      port: 8080,
      host: '127.0.0.1',
      baseUrl: 'http://localhost:8080',
      fhirBaseUrl: 'http://localhost:8080/fhir',
      storage: { kind: 'embedded', dataDir: '/srv/bedside/data' },
      seed: true,
      registrationToken: undefined,
      enforcement: true,
      practitionerPatients: 'all',
      validateProfiles: 'declared',
    });
    expect(loadConfig({ PRACTITIONER_PATIENTS: 'linked' }).practitionerPatients).toBe('linked');
    expect(loadConfig({ PRACTITIONER_PATIENTS: 'Linked' }).practitionerPatients).toBe('linked');
    expect(loadConfig({ VALIDATE_PROFILES: 'OFF' }).validateProfiles).toBe('off');
  });

  it('follows PORT in the default BASE_URL, strips a trailing slash, and reads MONGODB_URI', () => {
    expect(loadConfig({ PORT: '9000' }).baseUrl).toBe('http://localhost:9000');
    expect(loadConfig({ BASE_URL: 'https://ehr.example.org/bedside/' }).fhirBaseUrl).toBe('https://ehr.example.org/bedside/fhir');
    expect(loadConfig({ MONGODB_URI: 'mongodb://db:27017/clinic?replicaSet=rs0' }).storage).toEqual({
      kind: 'mongodb',
      uri: 'mongodb://db:27017/clinic?replicaSet=rs0',
      database: 'clinic',
    });
    expect(loadConfig({ MONGODB_URI: 'mongodb://db:27017' }).storage).toMatchObject({ database: 'bedside' });
    expect(loadConfig({ BEDSIDE_SEED: 'false' }).seed).toBe(false);
    expect(loadConfig({ REGISTRATION_TOKEN: 's3cret' }).registrationToken).toBe('s3cret');
  });

  it.each([
    [{ PORT: 'eighty' }, 'PORT must be an integer'],
    [{ PORT: '70000' }, 'PORT must be an integer from 0 to 65535'],
    [{ BASE_URL: 'not a url' }, 'BASE_URL is not a valid URL'],
    [{ BASE_URL: 'ftp://x.example' }, 'BASE_URL must be an http or https URL'],
    [{ BASE_URL: 'http://ehr.example.org' }, 'OAuth needs https'],
    [{ MONGODB_URI: 'postgres://x' }, 'MONGODB_URI must start with mongodb://'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL must be one of'],
    [{ LOG_FORMAT: 'xml' }, 'LOG_FORMAT must be one of auto, json, pretty (got "xml")'],
    [{ BEDSIDE_SEED: 'maybe' }, 'BEDSIDE_SEED must be true or false'],
    [{ BODY_LIMIT: 'lots' }, 'BODY_LIMIT must be a size'],
    [{ TLS_CERT: 'cert.pem' }, 'TLS_CERT and TLS_KEY must be set together'],
    [{ ACCESS_TOKEN_TTL: '86400' }, 'ACCESS_TOKEN_TTL must be an integer from 60 to 3600'],
    [{ JWT_BEARER_ISSUERS: '{' }, 'JWT_BEARER_ISSUERS is not valid JSON'],
    [
      { JWT_BEARER_ISSUERS: '[{"issuer": "https://idp.example", "jwksUri": "http://169.254.169.254/latest/meta-data"}]' },
      'JWT_BEARER_ISSUERS[0].jwksUri will not be fetched: its host 169.254.169.254 is not a public address (link-local); this server fetches only public addresses unless ALLOW_PRIVATE_NETWORK_FETCH=true',
    ],
    [
      { JWT_BEARER_ISSUERS: '[{"issuer": "https://idp.example", "jwksUri": "http://[::1]:8081/jwks"}]' },
      'JWT_BEARER_ISSUERS[0].jwksUri will not be fetched: its host [::1] is not a public address (loopback)',
    ],
    [{ PRACTITIONER_PATIENTS: 'some' }, 'PRACTITIONER_PATIENTS must be all or linked (got "some")'],
    [{ VALIDATE_PROFILES: 'all' }, 'VALIDATE_PROFILES must be one of declared, off (got "all")'],
  ])('refuses %o with a clear message', (env, message) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(message);
  });

  it('accepts a JWT bearer issuer on a private address with ALLOW_PRIVATE_NETWORK_FETCH', () => {
    const issuers = '[{"issuer": "https://idp.example", "jwksUri": "http://10.0.0.7/jwks"}]';
    expect(loadConfig({ JWT_BEARER_ISSUERS: issuers, ALLOW_PRIVATE_NETWORK_FETCH: 'true' }).jwtBearerIssuers).toEqual([
      { issuer: 'https://idp.example', jwksUri: 'http://10.0.0.7/jwks' },
    ]);
    expect(loadConfig({ JWT_BEARER_ISSUERS: '[{"issuer": "https://idp.example", "jwksUri": "https://idp.example/jwks"}]' }).allowPrivateNetworkFetch).toBe(
      false,
    );
  });

  it('reports every mistake at once', () => {
    try {
      loadConfig({ PORT: 'x', LOG_LEVEL: 'y', BEDSIDE_SEED: 'z' });
      expect.unreachable();
    } catch (error) {
      expect((error as ConfigError).problems).toHaveLength(3);
    }
  });

  it('accepts plain http for loopback hosts only, unless ALLOW_INSECURE_HTTP', () => {
    for (const host of ['localhost', '127.0.0.1', '127.1.2.3', '[::1]', 'app.localhost']) expect(isLoopbackHost(host)).toBe(true);
    for (const host of ['example.org', '10.0.0.1', '128.0.0.1', 'localhost.example.org']) expect(isLoopbackHost(host)).toBe(false);
    expect(loadConfig({ BASE_URL: 'http://10.0.0.5:8080', ALLOW_INSECURE_HTTP: 'true' }).baseUrl).toBe('http://10.0.0.5:8080');
    expect(loadConfig({ BASE_URL: 'https://ehr.example.org', TRUST_PROXY: 'true' }).trustProxy).toBe(true);
  });
});
