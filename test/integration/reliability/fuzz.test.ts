/**
 * Hostile input, property-based (fast-check), over real HTTP: random FHIR bodies, search
 * parameters, headers and OAuth parameters never give a 5xx and never hang.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../support/server.js';
import { backendClient } from '../../support/tokens.js';

let server: TestServer;
let token: string;
const RUNS = Number(process.env.FUZZ_RUNS ?? 300);
const failures: string[] = [];
let cases = 0;

beforeAll(async () => {
  server = await startTestServer({ seed: true });
  token = await (await backendClient(server.baseUrl, 'system/*.cruds')).token();
}, 120_000);
afterAll(async () => {
  console.log(`fuzz: ${cases} cases, ${failures.length} failures`);
  await server?.stop();
});

/** Sends a request; a 5xx, a hang (5 s) or a dropped connection is a failure. */
async function send(method: string, url: string, init: { headers?: Record<string, string>; body?: string } = {}): Promise<number> {
  cases++;
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), 5000);
  try {
    const response = await fetch(url, { method, headers: init.headers, ...(init.body !== undefined ? { body: init.body } : {}), signal: controller.signal });
    await response.arrayBuffer();
    if (response.status >= 500) failures.push(`${method} ${url.slice(0, 200)} → ${response.status}`);
    return response.status;
  } catch (error) {
    failures.push(`${method} ${url.slice(0, 200)} → ${(error as Error).name}: ${(error as Error).message}`);
    return 0;
  } finally {
    clearTimeout(timer);
  }
}

const TYPES = ['Patient', 'Observation', 'Encounter', 'Condition', 'Bundle', 'Foo', '', '$export', '_history', 'metadata'];
const PARAMS = ['name', 'family', 'code', 'date', 'value-quantity', 'subject', 'patient', '_id', '_lastUpdated', '_sort', '_count', '_include', '_revinclude', '_has:Observation:patient:code', 'subject:Patient.name', 'code-value-quantity', '_summary', '_elements', '_total', '_cursor', 'identifier', '_tag', 'birthdate', 'general-practitioner.name', '_type', '_format'];
const MODIFIERS = ['', ':exact', ':contains', ':missing', ':not', ':text', ':of-type', ':above', ':below', ':Patient', ':identifier', ':iterate', ':bogus'];
const nasty = fc.oneof(
  fc.string(),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.constantFrom("'; DROP TABLE resources; --", '.*', '(a+)+$', '%', '_', '\\', '$', '|', ',', 'eq', 'ge2020', 'ap1e400', '1e-400', 'NaN', 'Infinity', '-0', '9'.repeat(400), 'x'.repeat(3000), 'http://loinc.org|', '|', '$lt', '{"$gt":""}', '[object Object]', 'null', 'gt2020-13-45', '2020-02-30T25:61:61+99:99', '\u0000', '\uFFFF'),
);

describe('FHIR API fuzzing', () => {
  it('search parameters never break the server', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...TYPES), fc.array(fc.tuple(fc.constantFrom(...PARAMS), fc.constantFrom(...MODIFIERS), nasty), { maxLength: 5 }), async (type, params) => {
        const query = params.map(([name, modifier, value]) => `${encodeURIComponent(name + modifier)}=${encodeURIComponent(value)}`).join('&');
        const status = await send('GET', `${server.fhirUrl}/${type}?${query}`, { headers: { authorization: `Bearer ${token}` } });
        return status !== 0 && status < 500;
      }),
      { numRuns: RUNS },
    );
  }, 120_000);

  it('resource bodies never break the server, and a rejected write changes nothing', async () => {
    const value = fc.letrec((tie) => ({
      json: fc.oneof({ depthSize: 'small' }, fc.string(), fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.array(tie('json'), { maxLength: 4 }), fc.dictionary(fc.constantFrom('resourceType', 'id', 'meta', 'name', 'status', 'code', 'subject', 'valueQuantity', 'extension', 'contained', 'text', 'entry', 'birthDate', '_birthDate', 'foo'), tie('json'), { maxKeys: 5 })),
    })).json;
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('Patient', 'Observation', 'Bundle'),
        fc.oneof(value, fc.record({ resourceType: fc.constantFrom('Patient', 'Observation', 'Bundle', 'Foo'), id: fc.oneof(fc.constant('fuzz-target'), fc.string()) }, { requiredKeys: ['resourceType'] }).chain((base) => fc.dictionary(fc.string({ maxLength: 12 }), value, { maxKeys: 4 }).map((extra) => ({ ...extra, ...base })))),
        fc.constantFrom('POST', 'PUT', 'PATCH'),
        async (type, body, method) => {
          const url = method === 'POST' ? `${server.fhirUrl}/${type}` : `${server.fhirUrl}/${type}/fuzz-target`;
          const headers = { authorization: `Bearer ${token}`, 'content-type': method === 'PATCH' ? 'application/json-patch+json' : 'application/fhir+json' };
          const status = await send(method, url, { headers, body: JSON.stringify(body) });
          return status !== 0 && status < 500;
        },
      ),
      { numRuns: RUNS },
    );
  }, 120_000);

  it('headers never break the server', async () => {
    const header = fc.constantFrom('if-match', 'if-none-match', 'if-none-exist', 'if-modified-since', 'prefer', 'accept', 'content-type', 'authorization', 'x-request-id');
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(header, fc.oneof(nasty.filter((v) => /^[\x20-\x7e]*$/.test(v)), fc.constantFrom('W/"1"', '"abc', 'return=minimal', 'handling=strict', 'respond-async', 'application/xml', 'Bearer', 'Bearer x.y.z', 'Basic dXNlcjpwYXNz', 'identifier=x|y', 'Wed, 21 Oct 2015 07:28:00 GMT'))), { maxLength: 4 }), fc.constantFrom('GET', 'PUT', 'POST', 'DELETE'), async (headers, method) => {
        const map: Record<string, string> = { authorization: `Bearer ${token}`, 'content-type': 'application/fhir+json' };
        for (const [name, value] of headers) map[name] = value.slice(0, 500);
        const status = await send(method, `${server.fhirUrl}/Patient/patient-001`, { headers: map, ...(method === 'PUT' || method === 'POST' ? { body: JSON.stringify({ resourceType: 'Patient', id: 'patient-001' }) } : {}) });
        return status !== 0 && status < 500;
      }),
      { numRuns: RUNS },
    );
  }, 120_000);

  it('malformed percent-encoding in paths and queries is a 400, not a crash', async () => {
    for (const raw of ['Patient?name=%E0%A4%A', 'Patient?name=%', 'Patient/%ZZ', '%E0%A4%A/_history', 'Patient?%=1', 'Patient?name=%C0%80', 'Patient?_count=%00']) {
      const status = await send('GET', `${server.fhirUrl}/${raw}`, { headers: { authorization: `Bearer ${token}` } });
      expect(status, raw).toBeGreaterThanOrEqual(200);
      expect(status, raw).toBeLessThan(500);
    }
  });
});

describe('OAuth endpoint fuzzing', () => {
  const oauthParam = fc.constantFrom('grant_type', 'code', 'redirect_uri', 'client_id', 'client_secret', 'code_verifier', 'refresh_token', 'scope', 'client_assertion', 'client_assertion_type', 'token', 'token_type_hint', 'response_type', 'state', 'aud', 'launch', 'code_challenge', 'code_challenge_method', 'prompt', 'nonce', 'resource', 'assertion');
  const oauthValue = fc.oneof(nasty, fc.constantFrom('authorization_code', 'client_credentials', 'refresh_token', 'password', 'urn:ietf:params:oauth:grant-type:jwt-bearer', 'bedside-sample-app', 'code', 'S256', 'plain', 'patient/*.rs', 'openid', 'none'));
  for (const [method, path] of [['POST', '/oauth/token'], ['POST', '/oauth/introspect'], ['POST', '/oauth/revoke'], ['GET', '/oauth/authorize'], ['POST', '/oauth/authorize'], ['POST', '/oauth/register']] as const) {
    it(`${method} ${path} never answers 5xx`, async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(fc.tuple(oauthParam, oauthValue), { maxLength: 6 }), async (pairs) => {
          const params = new URLSearchParams(pairs.map(([k, v]) => [k, v]));
          const status = path === '/oauth/register'
            ? await send(method, `${server.baseUrl}${path}`, { headers: { 'content-type': 'application/json' }, body: JSON.stringify(Object.fromEntries(pairs)) })
            : method === 'GET'
              ? await send(method, `${server.baseUrl}${path}?${params}`)
              : await send(method, `${server.baseUrl}${path}`, { headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: params.toString() });
          return status !== 0 && status < 500;
        }),
        { numRuns: Math.ceil(RUNS / 3) },
      );
    }, 120_000);
  }
});

describe('fuzzing outcome', () => {
  it('found no failure', () => {
    expect(failures.slice(0, 20)).toEqual([]);
  });
});
