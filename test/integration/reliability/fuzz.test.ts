/**
 * Hostile input, property-based (fast-check), over real HTTP: random FHIR bodies, search
 * parameters, headers and OAuth parameters never give a 5xx and never hang. Every library call on
 * untrusted input has its own fuzzer: JSON Patch (fast-json-patch), FHIRPath (FHIRPath.js, on the
 * invariants and search parameters of written resources, and client-written FHIRPath Patch paths),
 * date and quantity parsing (UCUM), JWT parsing (jose and oidc-provider), and UTF-8 decoding.
 */
import fc from 'fast-check';
import { exportJWK, generateKeyPair } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../support/server.js';
import { backendClient } from '../../support/tokens.js';

let server: TestServer;
let token: string;
/** A confidential client allowed the JWT bearer grant, so assertions reach the grant's parser. */
let confidential: string;
const RUNS = Number(process.env.FUZZ_RUNS ?? 300);
const failures: string[] = [];
let cases = 0;

beforeAll(async () => {
  const issuerKey = await generateKeyPair('RS384', { extractable: true });
  server = await startTestServer({
    seed: true,
    jwtBearerIssuers: [{ issuer: 'https://idp.example', jwks: { keys: [{ ...(await exportJWK(issuerKey.publicKey)), kid: 'idp', alg: 'RS384' }] } }],
  });
  token = await (await backendClient(server.baseUrl, 'system/*.cruds')).token();
  const registered = await fetch(`${server.baseUrl}/oauth/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      token_endpoint_auth_method: 'client_secret_basic',
      grant_types: ['urn:ietf:params:oauth:grant-type:jwt-bearer', 'client_credentials'],
      response_types: [],
      redirect_uris: [],
      scope: 'user/*.rs system/*.rs',
    }),
  });
  const client = (await registered.json()) as { client_id: string; client_secret: string };
  confidential = `Basic ${Buffer.from(`${client.client_id}:${client.client_secret}`).toString('base64')}`;
}, 120_000);
afterAll(async () => {
  console.log(`fuzz: ${cases} cases, ${failures.length} failures`);
  await server?.stop();
});

/** Sends a request; a 5xx, a hang (5 s) or a dropped connection is a failure. */
async function send(method: string, url: string, init: { headers?: Record<string, string>; body?: string | Uint8Array<ArrayBuffer> } = {}): Promise<number> {
  return (await exchange(method, url, init)).status;
}

/** Like send, with the response body (empty text on a failure). */
async function exchange(
  method: string,
  url: string,
  init: { headers?: Record<string, string>; body?: string | Uint8Array<ArrayBuffer> } = {},
): Promise<{ status: number; text: string }> {
  cases++;
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), 5000);
  try {
    const response = await fetch(url, { method, headers: init.headers, ...(init.body !== undefined ? { body: init.body } : {}), signal: controller.signal });
    const text = await response.text();
    if (response.status >= 500) failures.push(`${method} ${url.slice(0, 200)} → ${response.status}`);
    return { status: response.status, text };
  } catch (error) {
    failures.push(`${method} ${url.slice(0, 200)} → ${(error as Error).name}: ${(error as Error).message}`);
    return { status: 0, text: '' };
  } finally {
    clearTimeout(timer);
  }
}

const TYPES = ['Patient', 'Observation', 'Encounter', 'Condition', 'Bundle', 'Foo', '', '$export', '_history', 'metadata'];
const PARAMS = [
  'name',
  'family',
  'code',
  'date',
  'value-quantity',
  'subject',
  'patient',
  '_id',
  '_lastUpdated',
  '_sort',
  '_count',
  '_include',
  '_revinclude',
  '_has:Observation:patient:code',
  'subject:Patient.name',
  'code-value-quantity',
  '_summary',
  '_elements',
  '_total',
  '_cursor',
  'identifier',
  '_tag',
  'birthdate',
  'general-practitioner.name',
  '_type',
  '_format',
];
const MODIFIERS = ['', ':exact', ':contains', ':missing', ':not', ':text', ':of-type', ':above', ':below', ':Patient', ':identifier', ':iterate', ':bogus'];
const nasty = fc.oneof(
  fc.string(),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.constantFrom(
    "'; DROP TABLE resources; --",
    '.*',
    '(a+)+$',
    '%',
    '_',
    '\\',
    '$',
    '|',
    ',',
    'eq',
    'ge2020',
    'ap1e400',
    '1e-400',
    'NaN',
    'Infinity',
    '-0',
    '9'.repeat(400),
    'x'.repeat(3000),
    'http://loinc.org|',
    '|',
    '$lt',
    '{"$gt":""}',
    '[object Object]',
    'null',
    'gt2020-13-45',
    '2020-02-30T25:61:61+99:99',
    '\u0000',
    '\uFFFF',
  ),
);

describe('FHIR API fuzzing', () => {
  it('search parameters never break the server', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...TYPES),
        fc.array(fc.tuple(fc.constantFrom(...PARAMS), fc.constantFrom(...MODIFIERS), nasty), { maxLength: 5 }),
        async (type, params) => {
          const query = params.map(([name, modifier, value]) => `${encodeURIComponent(name + modifier)}=${encodeURIComponent(value)}`).join('&');
          const status = await send('GET', `${server.fhirUrl}/${type}?${query}`, { headers: { authorization: `Bearer ${token}` } });
          return status !== 0 && status < 500;
        },
      ),
      { numRuns: RUNS },
    );
  }, 120_000);

  it('resource bodies never break the server, and a rejected write changes nothing', async () => {
    const value = fc.letrec((tie) => ({
      json: fc.oneof(
        { depthSize: 'small' },
        fc.string(),
        fc.integer(),
        fc.double(),
        fc.boolean(),
        fc.constant(null),
        fc.array(tie('json'), { maxLength: 4 }),
        fc.dictionary(
          fc.constantFrom(
            'resourceType',
            'id',
            'meta',
            'name',
            'status',
            'code',
            'subject',
            'valueQuantity',
            'extension',
            'contained',
            'text',
            'entry',
            'birthDate',
            '_birthDate',
            'foo',
          ),
          tie('json'),
          { maxKeys: 5 },
        ),
      ),
    })).json;
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('Patient', 'Observation', 'Bundle'),
        fc.oneof(
          value,
          fc
            .record(
              { resourceType: fc.constantFrom('Patient', 'Observation', 'Bundle', 'Foo'), id: fc.oneof(fc.constant('fuzz-target'), fc.string()) },
              { requiredKeys: ['resourceType'] },
            )
            .chain((base) => fc.dictionary(fc.string({ maxLength: 12 }), value, { maxKeys: 4 }).map((extra) => ({ ...extra, ...base }))),
        ),
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
    const header = fc.constantFrom(
      'if-match',
      'if-none-match',
      'if-none-exist',
      'if-modified-since',
      'prefer',
      'accept',
      'content-type',
      'authorization',
      'x-request-id',
    );
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.tuple(
            header,
            fc.oneof(
              nasty.filter((v) => /^[\x20-\x7e]*$/.test(v)),
              fc.constantFrom(
                'W/"1"',
                '"abc',
                'return=minimal',
                'handling=strict',
                'respond-async',
                'application/xml',
                'Bearer',
                'Bearer x.y.z',
                'Basic dXNlcjpwYXNz',
                'identifier=x|y',
                'Wed, 21 Oct 2015 07:28:00 GMT',
              ),
            ),
          ),
          { maxLength: 4 },
        ),
        fc.constantFrom('GET', 'PUT', 'POST', 'DELETE'),
        async (headers, method) => {
          const map: Record<string, string> = { authorization: `Bearer ${token}`, 'content-type': 'application/fhir+json' };
          for (const [name, value] of headers) map[name] = value.slice(0, 500);
          const status = await send(method, `${server.fhirUrl}/Patient/patient-001`, {
            headers: map,
            ...(method === 'PUT' || method === 'POST' ? { body: JSON.stringify({ resourceType: 'Patient', id: 'patient-001' }) } : {}),
          });
          return status !== 0 && status < 500;
        },
      ),
      { numRuns: RUNS },
    );
  }, 120_000);

  it('malformed percent-encoding in paths and queries is a 400, not a crash', async () => {
    for (const raw of [
      'Patient?name=%E0%A4%A',
      'Patient?name=%',
      'Patient/%ZZ',
      '%E0%A4%A/_history',
      'Patient?%=1',
      'Patient?name=%C0%80',
      'Patient?_count=%00',
    ]) {
      const status = await send('GET', `${server.fhirUrl}/${raw}`, { headers: { authorization: `Bearer ${token}` } });
      expect(status, raw).toBeGreaterThanOrEqual(200);
      expect(status, raw).toBeLessThan(500);
    }
  });
});

describe('OAuth endpoint fuzzing', () => {
  const oauthParam = fc.constantFrom(
    'grant_type',
    'code',
    'redirect_uri',
    'client_id',
    'client_secret',
    'code_verifier',
    'refresh_token',
    'scope',
    'client_assertion',
    'client_assertion_type',
    'token',
    'token_type_hint',
    'response_type',
    'state',
    'aud',
    'launch',
    'code_challenge',
    'code_challenge_method',
    'prompt',
    'nonce',
    'resource',
    'assertion',
  );
  const oauthValue = fc.oneof(
    nasty,
    fc.constantFrom(
      'authorization_code',
      'client_credentials',
      'refresh_token',
      'password',
      'urn:ietf:params:oauth:grant-type:jwt-bearer',
      'bedside-sample-app',
      'code',
      'S256',
      'plain',
      'patient/*.rs',
      'openid',
      'none',
    ),
  );
  for (const [method, path] of [
    ['POST', '/oauth/token'],
    ['POST', '/oauth/introspect'],
    ['POST', '/oauth/revoke'],
    ['GET', '/oauth/authorize'],
    ['POST', '/oauth/authorize'],
    ['POST', '/oauth/register'],
  ] as const) {
    it(`${method} ${path} never answers 5xx`, async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(fc.tuple(oauthParam, oauthValue), { maxLength: 6 }), async (pairs) => {
          const params = new URLSearchParams(pairs.map(([k, v]) => [k, v]));
          const status =
            path === '/oauth/register'
              ? await send(method, `${server.baseUrl}${path}`, {
                  headers: { 'content-type': 'application/json' },
                  body: JSON.stringify(Object.fromEntries(pairs)),
                })
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

describe('library calls on untrusted input', () => {
  const authorized = () => ({ authorization: `Bearer ${token}` });
  const ok = (status: number) => status !== 0 && status < 500;

  it('JSON Patch (fast-json-patch): any operation list, prototype paths included, is applied or refused with 400, never 5xx', async () => {
    await send('PUT', `${server.fhirUrl}/Patient/fuzz-patch`, {
      headers: { ...authorized(), 'content-type': 'application/fhir+json' },
      body: JSON.stringify({ resourceType: 'Patient', id: 'fuzz-patch', name: [{ family: 'Patch', given: ['A'] }], gender: 'female' }),
    });
    const segment = fc.constantFrom(
      '__proto__',
      'constructor',
      'prototype',
      'name',
      'given',
      'family',
      'gender',
      '0',
      '1',
      '-',
      '01',
      '99999999999999999999',
      '',
      '~0',
      '~1',
      '~2',
      'toString',
      'hasOwnProperty',
      'id',
      'meta',
    );
    const pointer = fc.oneof(
      fc.array(segment, { maxLength: 4 }).map((s) => s.map((x) => `/${x}`).join('')),
      fc.string({ maxLength: 12 }),
    );
    const operation = fc.record(
      {
        op: fc.constantFrom('add', 'remove', 'replace', 'move', 'copy', 'test', '_get', 'ADD', ''),
        path: fc.oneof(pointer, fc.integer()),
        from: pointer,
        value: fc.jsonValue({ maxDepth: 3 }),
      },
      { requiredKeys: ['op'] },
    );
    await fc.assert(
      fc.asyncProperty(fc.array(fc.oneof(operation, fc.jsonValue({ maxDepth: 2 })), { maxLength: 4 }), async (operations) => {
        const status = await send('PATCH', `${server.fhirUrl}/Patient/fuzz-patch`, {
          headers: { ...authorized(), 'content-type': 'application/json-patch+json' },
          body: JSON.stringify(operations),
        });
        return ok(status) && ({} as Record<string, unknown>).polluted === undefined;
      }),
      { numRuns: RUNS },
    );
    expect(Object.prototype).not.toHaveProperty('polluted');
  }, 120_000);

  it('FHIRPath Patch (FHIRPath.js on client-written paths): any Parameters patch is applied or refused with 4xx, never 5xx', async () => {
    const step = fc.constantFrom(
      'name',
      'given',
      'family',
      'gender',
      'birthDate',
      'extension',
      'telecom',
      'value',
      'url',
      '__proto__',
      'constructor',
      'prototype',
      'id',
      'meta',
      'text',
      'div',
    );
    const call = fc.constantFrom(
      '',
      '.first()',
      '.last()',
      '[0]',
      '[99999999999]',
      '[-1]',
      ".where(use = 'official')",
      '.descendants()',
      '.repeat(name)',
      '.resolve()',
      ".trace('x')",
      ".matches('(a+)+$')",
      '.ofType(HumanName)',
      '.as(string)',
      '.children()',
      '.select(given)',
      ' | Patient.name',
      '.aggregate($total)',
      '(',
      ')',
    );
    const path = fc.oneof(
      fc.array(fc.tuple(step, call), { minLength: 1, maxLength: 4 }).map((parts) => `Patient.${parts.map(([s, c]) => s + c).join('.')}`),
      fc.string({ maxLength: 30 }),
    );
    const operation = fc
      .tuple(
        fc.constantFrom('add', 'insert', 'delete', 'replace', 'move', 'x'),
        path,
        fc.option(fc.constantFrom('given', 'family', '__proto__', 'constructor', 'x', '')),
        fc.option(
          fc.oneof(
            fc.record({ valueString: fc.string({ maxLength: 10 }) }),
            fc.record({ valueInteger: fc.integer() }),
            fc.record({ valueHumanName: fc.constant({ family: 'F' }) }),
            fc.record({ valueCode: fc.constantFrom('male', 'other', '') }),
          ),
        ),
        fc.option(fc.integer({ min: -2, max: 5 })),
      )
      .map(([type, p, name, value, index]) => ({
        name: 'operation',
        part: [
          { name: 'type', valueCode: type },
          { name: 'path', valueString: p },
          ...(name !== null ? [{ name: 'name', valueString: name }] : []),
          ...(value !== null ? [{ name: 'value', ...value }] : []),
          ...(index !== null
            ? [
                { name: 'index', valueInteger: index },
                { name: 'source', valueInteger: index },
                { name: 'destination', valueInteger: index + 1 },
              ]
            : []),
        ],
      }));
    await send('PUT', `${server.fhirUrl}/Patient/fuzz-fhirpath-patch`, {
      headers: { ...authorized(), 'content-type': 'application/fhir+json' },
      body: JSON.stringify({
        resourceType: 'Patient',
        id: 'fuzz-fhirpath-patch',
        name: [{ use: 'official', family: 'Patch', given: ['A', 'B'] }],
        gender: 'female',
      }),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(operation, { maxLength: 3 }), async (operations) => {
        const status = await send('PATCH', `${server.fhirUrl}/Patient/fuzz-fhirpath-patch`, {
          headers: { ...authorized(), 'content-type': 'application/fhir+json' },
          body: JSON.stringify({ resourceType: 'Parameters', parameter: operations }),
        });
        return ok(status) && ({} as Record<string, unknown>).polluted === undefined && (Object.prototype as Record<string, unknown>).given === undefined;
      }),
      { numRuns: Math.ceil(RUNS / 2) },
    );
  }, 120_000);

  /** A FHIR date at a random precision, with out-of-range parts on purpose, and whether it is a real date. */
  const dateLike = fc
    .record({
      year: fc.integer({ min: 0, max: 9999 }),
      month: fc.integer({ min: 0, max: 14 }),
      day: fc.integer({ min: 0, max: 33 }),
      hour: fc.integer({ min: 0, max: 25 }),
      minute: fc.integer({ min: 0, max: 61 }),
      second: fc.integer({ min: 0, max: 61 }),
      fraction: fc.stringMatching(/^[0-9]{1,12}$/),
      zone: fc.constantFrom('', 'Z', '+14:00', '-05:30', '+15:00', '-00:60', '%2B01:00'),
      precision: fc.integer({ min: 1, max: 6 }),
    })
    .map((d) => {
      const p2 = (n: number) => String(n).padStart(2, '0');
      const parts = [
        String(d.year).padStart(4, '0'),
        `-${p2(d.month)}`,
        `-${p2(d.day)}`,
        `T${p2(d.hour)}:${p2(d.minute)}`,
        `:${p2(d.second)}`,
        `.${d.fraction}`,
      ].slice(0, d.precision);
      const timed = d.precision >= 4;
      const text = parts.join('') + (timed ? d.zone : '');
      const daysInMonth =
        new Date(Date.UTC(2000, d.month, 0)).getUTCDate() - (d.month === 2 && !(d.year % 4 === 0 && (d.year % 100 !== 0 || d.year % 400 === 0)) ? 1 : 0);
      const zoneOk = !['+15:00', '-00:60'].includes(d.zone);
      const real =
        (d.precision < 2 || (d.month >= 1 && d.month <= 12)) &&
        (d.precision < 3 || (d.day >= 1 && d.day <= daysInMonth)) &&
        (!timed || (d.hour <= 23 && d.minute <= 59 && zoneOk)) &&
        (d.precision < 5 || d.second <= 59);
      return { text, real };
    });

  it('date parsing: search dates, _since, _at and If-Modified-Since answer 200 for real dates and 400 for impossible ones, never rolled over', async () => {
    // Its own patient: the header fuzzer above may delete the sample ones.
    await send('PUT', `${server.fhirUrl}/Patient/fuzz-dates`, {
      headers: { ...authorized(), 'content-type': 'application/fhir+json' },
      body: JSON.stringify({ resourceType: 'Patient', id: 'fuzz-dates' }),
    });
    const where = fc.constantFrom(
      'Observation?date=',
      'Observation?date=ge',
      'Observation?date=ap',
      'Patient?birthdate=lt',
      'Encounter?_lastUpdated=sa',
      '_history?_since=',
      'Patient/_history?_at=',
      'Patient/fuzz-dates/$everything?_since=',
      'Condition?onset-date=eb',
    );
    await fc.assert(
      fc.asyncProperty(where, dateLike, async (prefix, date) => {
        const status = await send('GET', `${server.fhirUrl}/${prefix}${date.text}`, { headers: authorized() });
        return date.real ? status === 200 : status === 400;
      }),
      { numRuns: RUNS },
    );
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.date({ noInvalidDate: false }).map((d) => (Number.isNaN(d.getTime()) ? 'Invalid Date' : d.toUTCString())),
          fc.string(),
          dateLike.map((d) => d.text),
        ),
        async (since) => {
          const status = await send('GET', `${server.fhirUrl}/Patient/fuzz-dates`, { headers: { ...authorized(), 'if-modified-since': since } });
          return status === 200 || status === 304;
        },
      ),
      { numRuns: Math.ceil(RUNS / 3) },
    );
  }, 120_000);

  it('quantity parsing (UCUM): any number and unit in a search or a written Observation is a 2xx or a 400, never 5xx', async () => {
    const number = fc.oneof(
      fc.double({ noNaN: false }).map(String),
      fc.integer({ min: -400, max: 400 }).map((e) => `1e${e}`),
      fc.constantFrom('-0', '.5', '5.', '0x10', '1_000', '', '5.4e', '-', '+5', '9'.repeat(400)),
    );
    const unit = fc
      .array(
        fc.constantFrom(
          'mg',
          'g',
          'kg',
          'm',
          's',
          'L',
          'dL',
          '[IU]',
          'Cel',
          '[degF]',
          '10*3',
          '10*-9999',
          '/',
          '.',
          '(',
          ')',
          '^',
          '*',
          '-',
          '2',
          '99999',
          '{x}',
          '%',
          '[pi]',
          'mm[Hg]',
          "'",
          '[',
          ']',
          'u',
          'mol',
          '|',
          '$',
        ),
        { maxLength: 8 },
      )
      .map((parts) => parts.join(''));
    const system = fc.constantFrom('http://unitsofmeasure.org', '', 'http://example.org/units');
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('', 'ap', 'lt', 'ge', 'ne', 'eb'),
        number,
        system,
        unit,
        fc.constantFrom('value-quantity', 'component-value-quantity', 'combo-value-quantity'),
        async (prefix, value, sys, code, param) => {
          const query = `${param}=${encodeURIComponent(`${prefix}${value}|${sys}|${code}`)}`;
          const status = await send('GET', `${server.fhirUrl}/Observation?${query}`, { headers: authorized() });
          return status === 200 || status === 400;
        },
      ),
      { numRuns: RUNS },
    );
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.double(), fc.integer()), system, unit, async (value, sys, code) => {
        const observation = {
          resourceType: 'Observation',
          status: 'final',
          code: { text: 'fuzz' },
          valueQuantity: { value: Number.isFinite(value) ? value : 0, system: sys || undefined, code: code || undefined, unit: code || undefined },
        };
        const status = await send('POST', `${server.fhirUrl}/Observation`, {
          headers: { ...authorized(), 'content-type': 'application/fhir+json' },
          body: JSON.stringify(observation),
        });
        return status === 201 || status === 400;
      }),
      { numRuns: Math.ceil(RUNS / 3) },
    );
  }, 120_000);

  it('FHIRPath (invariants and search parameters of written resources): random values in constrained elements are a 201 or a 4xx, never 5xx', async () => {
    const primitive = fc.oneof(
      fc.string({ maxLength: 20 }),
      fc.integer(),
      fc.double(),
      fc.boolean(),
      fc.constant(null),
      dateLike.map((d) => d.text),
    );
    const quantity = fc.record(
      { value: primitive, comparator: fc.constantFrom('<', '>=', 'ad', 'x'), unit: primitive, system: primitive, code: primitive },
      { requiredKeys: [] },
    );
    const period = fc.record({ start: primitive, end: primitive }, { requiredKeys: [] });
    const div = fc.oneof(
      fc.string({ maxLength: 40 }),
      fc
        .array(
          fc.constantFrom(
            '<div xmlns="http://www.w3.org/1999/xhtml">',
            '</div>',
            '<p>',
            '</p>',
            '<script>',
            '<img src="x"/>',
            '<!--',
            '-->',
            'text',
            '<a href="javascript:x">',
            '&amp;',
            '&bogus;',
            '<![CDATA[',
            '<b',
            ' onclick="x"',
            '<?xml?>',
          ),
          { maxLength: 8 },
        )
        .map((p) => p.join('')),
    );
    const resource = fc.oneof(
      fc.record(
        {
          resourceType: fc.constant('Observation'),
          status: fc.constantFrom('final', 'x'),
          code: fc.constant({ text: 'fuzz' }),
          valueQuantity: quantity,
          effectivePeriod: period,
          referenceRange: fc.array(fc.record({ low: quantity, high: quantity, text: primitive }, { requiredKeys: [] }), { maxLength: 2 }),
          component: fc.array(fc.record({ code: fc.constant({ text: 'c' }), valueQuantity: quantity }), { maxLength: 2 }),
        },
        { requiredKeys: ['resourceType', 'status', 'code'] },
      ),
      fc.record(
        {
          resourceType: fc.constant('Patient'),
          text: fc.record({ status: fc.constantFrom('generated', 'x'), div }),
          contact: fc.array(fc.record({ name: fc.record({ family: primitive }, { requiredKeys: [] }), period }, { requiredKeys: [] }), { maxLength: 2 }),
          birthDate: primitive,
          extension: fc.array(fc.record({ url: primitive, valueString: primitive, valueQuantity: quantity }, { requiredKeys: [] }), { maxLength: 2 }),
        },
        { requiredKeys: ['resourceType'] },
      ),
      fc.record({
        resourceType: fc.constant('MedicationRequest'),
        status: fc.constant('active'),
        intent: fc.constant('order'),
        subject: fc.constant({ reference: 'Patient/fuzz-dates' }),
        medicationCodeableConcept: fc.constant({ text: 'm' }),
        dosageInstruction: fc.array(
          fc.record({
            timing: fc.record({
              repeat: fc.record(
                {
                  duration: primitive,
                  durationUnit: primitive,
                  period: primitive,
                  periodMax: primitive,
                  periodUnit: primitive,
                  frequency: primitive,
                  timeOfDay: fc.array(primitive, { maxLength: 2 }),
                  boundsPeriod: period,
                },
                { requiredKeys: [] },
              ),
            }),
          }),
          { maxLength: 2 },
        ),
      }),
    );
    await fc.assert(
      fc.asyncProperty(resource, async (body) => {
        const status = await send('POST', `${server.fhirUrl}/${body.resourceType}`, {
          headers: { ...authorized(), 'content-type': 'application/fhir+json' },
          body: JSON.stringify(body),
        });
        return status === 201 || (status >= 400 && status < 500);
      }),
      { numRuns: RUNS },
    );
  }, 120_000);

  const b64url = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');
  const jwtLike = fc.oneof(
    fc
      .tuple(
        fc.oneof(
          fc
            .record(
              {
                alg: fc.constantFrom('ES384', 'RS384', 'ES256', 'HS256', 'none', 'dir', 'RSA-OAEP', ''),
                kid: fc.oneof(fc.string(), fc.constantFrom('__proto__', 'idp')),
                typ: fc.constantFrom('at+jwt', 'JWT', 'x'),
                crit: fc.array(fc.constantFrom('b64', 'exp', '')),
                b64: fc.boolean(),
                jwk: fc.jsonValue({ maxDepth: 2 }),
                x5c: fc.array(fc.string()),
                enc: fc.constantFrom('A128GCM', 'x'),
              },
              { requiredKeys: [] },
            )
            .map(b64url),
          fc.jsonValue({ maxDepth: 2 }).map(b64url),
          fc.string(),
        ),
        fc.oneof(
          fc
            .record(
              {
                iss: fc.oneof(
                  fc.constantFrom('https://idp.example', ''),
                  fc.constant(null).map(() => server.issuer),
                ),
                sub: fc.oneof(fc.string(), fc.constant('dr.carter')),
                aud: fc.oneof(fc.string(), fc.array(fc.string())),
                exp: fc.oneof(fc.integer(), fc.string(), fc.double()),
                iat: fc.oneof(fc.integer(), fc.constant('now')),
                jti: fc.oneof(fc.string(), fc.integer()),
                scope: fc.string(),
                client_id: fc.string(),
              },
              { requiredKeys: [] },
            )
            .map(b64url),
          fc.jsonValue({ maxDepth: 2 }).map(b64url),
          fc.string(),
        ),
        fc.oneof(
          fc.base64String({ maxLength: 40 }).map((s) => s.replace(/=+$/, '')),
          fc.string(),
        ),
      )
      .map((parts) => parts.join('.')),
    fc.array(fc.string({ maxLength: 8 }), { minLength: 2, maxLength: 6 }).map((parts) => parts.join('.')),
  );

  it('JWT parsing (jose, oidc-provider): JWT-shaped garbage as a bearer token, a client assertion, a grant assertion, a token to introspect or revoke, or an id_token_hint is refused, never 5xx', async () => {
    const form = (params: Record<string, string>, headers: Record<string, string> = {}) => ({
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
      body: new URLSearchParams(params).toString(),
    });
    await fc.assert(
      fc.asyncProperty(jwtLike, async (jwt) => {
        const fhir = await exchange('GET', `${server.fhirUrl}/Patient`, { headers: { authorization: `Bearer ${jwt}` } });
        const userinfo = await send('GET', `${server.baseUrl}/oauth/userinfo`, { headers: { authorization: `Bearer ${jwt}` } });
        const clientAssertion = await send(
          'POST',
          `${server.baseUrl}/oauth/token`,
          form({ grant_type: 'client_credentials', client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: jwt }),
        );
        const grant = await send(
          'POST',
          `${server.baseUrl}/oauth/token`,
          form({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion: jwt, scope: 'user/*.rs' }, { authorization: confidential }),
        );
        const introspected = await exchange('POST', `${server.baseUrl}/oauth/introspect`, form({ token: jwt }, { authorization: confidential }));
        const revoked = await send('POST', `${server.baseUrl}/oauth/revoke`, form({ token: jwt }, { authorization: confidential }));
        const introspectionBearer = await send('POST', `${server.baseUrl}/oauth/introspect`, form({ token: 'x' }, { authorization: `Bearer ${jwt}` }));
        const logout = await send('GET', `${server.baseUrl}/oauth/logout?id_token_hint=${encodeURIComponent(jwt)}`);
        return (
          fhir.status === 401 &&
          [400, 401].includes(userinfo) &&
          [400, 401].includes(clientAssertion) &&
          [400, 401].includes(grant) &&
          introspected.status === 200 &&
          JSON.parse(introspected.text).active === false &&
          revoked === 200 &&
          [400, 401].includes(introspectionBearer) &&
          ok(logout)
        );
      }),
      { numRuns: Math.ceil(RUNS / 3) },
    );
  }, 120_000);

  it('UTF-8 decoding: random bytes in a body or a query are stored exactly when they are UTF-8 and refused with 400 when they are not', async () => {
    const strict = new TextDecoder('utf-8', { fatal: true });
    const bytes = fc.oneof(
      fc.uint8Array({ maxLength: 6 }),
      fc
        .constantFrom([0xc3, 0x28], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xff], [0xef, 0xbf, 0xbd], [0xf4, 0x90, 0x80, 0x80], [0xe2, 0x82])
        .map((b) => Uint8Array.from(b)),
    );
    const jsonSafe = (text: string) => !/["\\\u0000-\u001f]/.test(text);
    await fc.assert(
      fc.asyncProperty(bytes, async (raw) => {
        let text: string | undefined;
        try {
          text = strict.decode(raw);
        } catch {
          text = undefined;
        }
        const body = Buffer.concat([Buffer.from('{"resourceType":"Patient","name":[{"family":"Fz'), raw, Buffer.from('"}]}')]);
        const created = await exchange('POST', `${server.fhirUrl}/Patient`, {
          headers: { ...authorized(), 'content-type': 'application/fhir+json' },
          body: new Uint8Array(body),
        });
        const query = await exchange('GET', `${server.fhirUrl}/Patient?family=${[...raw].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('')}`, {
          headers: authorized(),
        });
        if (text === undefined) return created.status === 400 && /not valid UTF-8/.test(created.text) && query.status === 400;
        if (query.status !== 200) return false;
        if (!jsonSafe(text)) return created.status === 400 || created.status === 201;
        return created.status === 201 && JSON.parse(created.text).name[0].family === `Fz${text}`;
      }),
      { numRuns: RUNS },
    );
  }, 120_000);
});

describe('fuzzing outcome', () => {
  it('found no failure', () => {
    expect(failures.slice(0, 20)).toEqual([]);
  });
});
