/**
 * Bytes that are not UTF-8 are refused, never silently replaced by U+FFFD: request bodies, query
 * strings, paths and text headers, on the FHIR API (400 OperationOutcome) and on the
 * authorization server, its pages and the launcher API (400 `invalid_request`). Nothing is stored.
 * https://www.rfc-editor.org/rfc/rfc3629
 */
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../support/server.js';
import { backendClient } from '../../support/tokens.js';

let server: TestServer;
let base: string;
let auth: Record<string, string>;

/** The invalid sequences of the issue: a lone continuation, an overlong form, an encoded surrogate, a byte that never occurs. */
const INVALID: Array<[string, number[]]> = [
  ['lone continuation C3 28', [0xc3, 0x28]],
  ['overlong C0 AF', [0xc0, 0xaf]],
  ['encoded surrogate ED A0 80', [0xed, 0xa0, 0x80]],
  ['FF', [0xff]],
];
const percent = (bytes: number[]) => bytes.map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join('');
const bodyInit = (body: Buffer | string) => (typeof body === 'string' ? body : new Uint8Array(body));
const withBytes = (before: string, bytes: number[], after: string) => Buffer.concat([Buffer.from(before), Buffer.from(bytes), Buffer.from(after)]);

async function fhir(method: string, path: string, body?: Buffer | string, headers: Record<string, string> = {}) {
  const response = await fetch(`${base}/${path}`, {
    method,
    headers: { 'content-type': 'application/fhir+json', ...auth, ...headers },
    ...(body === undefined ? {} : { body: bodyInit(body) }),
  });
  return { status: response.status, type: response.headers.get('content-type'), body: (await response.json()) as Record<string, any> };
}

/** Patients whose family name starts with `prefix`, counted (so a stored U+FFFD would show). */
async function countFamily(prefix: string): Promise<number> {
  const res = await fhir('GET', `Patient?family=${encodeURIComponent(prefix)}&_total=accurate&_count=0`);
  expect(res.status).toBe(200);
  return res.body.total as number;
}

function expectOutcome(res: { status: number; type: string | null; body: Record<string, any> }, pattern: RegExp) {
  expect(res.status).toBe(400);
  expect(res.type).toBe('application/fhir+json; charset=utf-8');
  expect(res.body.resourceType).toBe('OperationOutcome');
  expect(res.body.issue[0]).toMatchObject({ severity: 'error', code: 'invalid' });
  expect(res.body.issue[0].diagnostics).toMatch(pattern);
}

/** A request written byte for byte on a socket, so header values can carry any bytes. */
function rawRequest(url: string, method: string, headers: Record<string, Buffer | string>, body = ''): Promise<{ status: number; body: any }> {
  const target = new URL(url);
  const head = [
    Buffer.from(
      `${method} ${target.pathname}${target.search} HTTP/1.1\r\nhost: ${target.host}\r\nconnection: close\r\ncontent-length: ${Buffer.byteLength(body)}\r\n`,
    ),
  ];
  for (const [name, value] of Object.entries(headers)) head.push(Buffer.from(`${name}: `), Buffer.from(value), Buffer.from('\r\n'));
  return new Promise((resolve, reject) => {
    const socket = connect(Number(target.port), target.hostname, () => socket.end(Buffer.concat([...head, Buffer.from('\r\n'), Buffer.from(body)])));
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', reject);
    socket.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const end = text.indexOf('\r\n\r\n');
      resolve({ status: Number(text.split(' ')[1]), body: JSON.parse(text.slice(end + 4)) });
    });
  });
}

beforeAll(async () => {
  server = await startTestServer();
  base = server.fhirUrl;
  auth = { authorization: `Bearer ${await (await backendClient(server.baseUrl)).token()}` };
});
afterAll(async () => {
  await server.stop();
});

describe('FHIR API: request bodies', () => {
  for (const [name, bytes] of INVALID) {
    it(`refuses a resource with ${name} in a string (POST and PUT): 400, nothing stored`, async () => {
      const created = await fhir('POST', 'Patient', withBytes('{"resourceType":"Patient","name":[{"family":"Utf8Post', bytes, '"}]}'));
      expectOutcome(created, /The request body is not valid UTF-8 \(byte 0x[0-9A-F]{2} at offset 53\)/);
      const updated = await fhir('PUT', 'Patient/utf8-put', withBytes('{"resourceType":"Patient","id":"utf8-put","name":[{"family":"Utf8Put', bytes, '"}]}'));
      expectOutcome(updated, /not valid UTF-8/);
      expect(await countFamily('Utf8Post')).toBe(0);
      expect((await fhir('GET', 'Patient/utf8-put')).status).toBe(404);
    });
  }

  it('refuses a transaction Bundle holding invalid UTF-8 and writes none of its entries', async () => {
    const bundle = withBytes(
      '{"resourceType":"Bundle","type":"transaction","entry":[{"resource":{"resourceType":"Patient","name":[{"family":"Utf8TxFine"}]},"request":{"method":"POST","url":"Patient"}},' +
        '{"resource":{"resourceType":"Patient","name":[{"family":"Utf8Tx',
      [0xed, 0xa0, 0x80],
      '"}]},"request":{"method":"POST","url":"Patient"}}]}',
    );
    expectOutcome(await fhir('POST', '', bundle), /not valid UTF-8/);
    expect(await countFamily('Utf8Tx')).toBe(0);
  });

  it('refuses a POST _search form body with invalid bytes or invalid percent-encoding', async () => {
    const form = { 'content-type': 'application/x-www-form-urlencoded' };
    expectOutcome(await fhir('POST', 'Patient/_search', withBytes('family=', [0xff], ''), form), /The request body is not valid UTF-8/);
    expectOutcome(await fhir('POST', 'Patient/_search', 'family=%C0%AF', form), /The form body is not valid percent-encoded UTF-8 \(at "%C0%AF"\)/);
  });

  it('keeps valid UTF-8 exactly as sent: accents, astral characters, a real U+FFFD and a byte order mark', async () => {
    const family = 'Zoë 😀 \uFFFD Ünïcode';
    const created = await fhir(
      'POST',
      'Patient',
      Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(JSON.stringify({ resourceType: 'Patient', name: [{ family }] }))]),
    );
    expect(created.status).toBe(201);
    expect((await fhir('GET', `Patient/${created.body.id}`)).body.name[0].family).toBe(family);
  });
});

describe('FHIR API: query strings, paths and headers', () => {
  let lookalike: string;
  beforeAll(async () => {
    // A name that really holds U+FFFD: what a lossy decoder would turn %FF into.
    const created = await fhir('POST', 'Patient', JSON.stringify({ resourceType: 'Patient', name: [{ family: 'Repl\uFFFDcement' }] }));
    lookalike = created.body.id;
  });

  for (const [name, bytes] of INVALID) {
    it(`refuses ${name} percent-encoded in a search value, in a parameter name and in a path`, async () => {
      expectOutcome(
        await fhir('GET', `Patient?family=Repl${percent(bytes)}cement`),
        new RegExp(`The query string is not valid percent-encoded UTF-8 \\(at "${percent(bytes)}`),
      );
      expectOutcome(await fhir('GET', `Patient?fam${percent(bytes)}ily=x`), /query string is not valid/);
      expectOutcome(await fhir('GET', `Patient/${percent(bytes)}`), /The URL path is not valid percent-encoded UTF-8/);
      expectOutcome(await fhir('DELETE', `Patient?family=${percent(bytes)}`), /query string is not valid/);
    });
  }

  it('still finds the record by its real U+FFFD, sent as valid UTF-8', async () => {
    const found = await fhir('GET', 'Patient?family=Repl%EF%BF%BDcement');
    expect(found.status).toBe(200);
    expect(found.body.entry.map((e: any) => e.resource.id)).toEqual([lookalike]);
  });

  it('refuses malformed escapes (a lone %, a bad hex digit) instead of reading them literally', async () => {
    expectOutcome(await fhir('GET', 'Patient?family=100%'), /at "%"/);
    expectOutcome(await fhir('GET', 'Patient?family=%zz'), /at "%zz"/);
  });

  it('reads If-None-Exist as UTF-8 and refuses it when it is not', async () => {
    const body = JSON.stringify({ resourceType: 'Patient', name: [{ family: 'Zoëconditional' }] });
    const headers = { ...auth, 'content-type': 'application/fhir+json' };
    const first = await rawRequest(`${base}/Patient`, 'POST', { ...headers, 'if-none-exist': Buffer.from('family=Zoëconditional') }, body);
    expect(first.status).toBe(201);
    const again = await rawRequest(`${base}/Patient`, 'POST', { ...headers, 'if-none-exist': Buffer.from('family=Zoëconditional') }, body);
    expect(again.status).toBe(200);
    expect(again.body.id).toBe(first.body.id);
    const bad = await rawRequest(`${base}/Patient`, 'POST', { ...headers, 'if-none-exist': withBytes('family=Zo', [0xc3, 0x28], 'conditional') }, body);
    expect(bad.status).toBe(400);
    expect(bad.body.issue[0].diagnostics).toMatch(/The If-None-Exist header is not valid UTF-8/);
    const percentBad = await rawRequest(`${base}/Patient`, 'POST', { ...headers, 'if-none-exist': 'family=Zo%FFconditional' }, body);
    expect(percentBad.status).toBe(400);
    expect(percentBad.body.issue[0].diagnostics).toMatch(/The conditional query is not valid percent-encoded UTF-8 \(at "%FF"\)/);
    expect(await countFamily('Zoëconditional')).toBe(1);
  });
});

describe('FHIR API: Bundle entries', () => {
  it('refuses a transaction whose entry URL holds invalid percent-encoding, writing nothing', async () => {
    const res = await fhir(
      'POST',
      '',
      JSON.stringify({
        resourceType: 'Bundle',
        type: 'transaction',
        entry: [
          { resource: { resourceType: 'Patient', name: [{ family: 'Utf8EntryA' }] }, request: { method: 'POST', url: 'Patient' } },
          { resource: { resourceType: 'Patient', name: [{ family: 'Utf8EntryB' }] }, request: { method: 'PUT', url: 'Patient?family=Utf8%C0%AF' } },
        ],
      }),
    );
    expectOutcome(res, /Bundle\.entry\[1\]\.request\.url is not valid percent-encoded UTF-8/);
    expect(await countFamily('Utf8Entry')).toBe(0);
  });

  it('fails only the bad entries of a batch: an entry URL, a conditional header and a Binary patch that are not UTF-8', async () => {
    const res = await fhir(
      'POST',
      '',
      JSON.stringify({
        resourceType: 'Bundle',
        type: 'batch',
        entry: [
          { request: { method: 'GET', url: 'Patient?family=%FF' } },
          {
            resource: { resourceType: 'Patient', name: [{ family: 'Utf8BatchA' }] },
            request: { method: 'POST', url: 'Patient', ifNoneExist: 'family=%ED%A0%80' },
          },
          {
            resource: { resourceType: 'Binary', contentType: 'application/json-patch+json', data: Buffer.from([0x5b, 0xff, 0x5d]).toString('base64') },
            request: { method: 'PATCH', url: `Patient/${'utf8-missing'}` },
          },
          { resource: { resourceType: 'Patient', name: [{ family: 'Utf8BatchOk' }] }, request: { method: 'POST', url: 'Patient' } },
        ],
      }),
    );
    expect(res.status).toBe(200);
    const statuses = res.body.entry.map((e: any) => e.response.status);
    expect(statuses).toEqual(['400 Bad Request', '400 Bad Request', '404 Not Found', '201 Created']);
    expect(res.body.entry[0].response.outcome.issue[0].diagnostics).toMatch(/request\.url is not valid percent-encoded UTF-8/);
    expect(res.body.entry[1].response.outcome.issue[0].diagnostics).toMatch(/The conditional query is not valid percent-encoded UTF-8/);
    expect(await countFamily('Utf8BatchA')).toBe(0);
    expect(await countFamily('Utf8BatchOk')).toBe(1);
  });

  it('refuses a Binary JSON Patch whose data is not UTF-8', async () => {
    const created = await fhir('POST', 'Patient', JSON.stringify({ resourceType: 'Patient', name: [{ family: 'Utf8Patch' }] }));
    const patch = withBytes('[{"op":"replace","path":"/name/0/family","value":"Utf8Patch', [0xc0, 0xaf], '"}]');
    const res = await fhir(
      'POST',
      '',
      JSON.stringify({
        resourceType: 'Bundle',
        type: 'batch',
        entry: [
          {
            resource: { resourceType: 'Binary', contentType: 'application/json-patch+json', data: patch.toString('base64') },
            request: { method: 'PATCH', url: `Patient/${created.body.id}` },
          },
        ],
      }),
    );
    expect(res.body.entry[0].response.status).toBe('400 Bad Request');
    expect(res.body.entry[0].response.outcome.issue[0].diagnostics).toMatch(/JSON Patch in this entry's Binary is not valid UTF-8/);
    expect((await fhir('GET', `Patient/${created.body.id}`)).body.meta.versionId).toBe('1');
  });
});

describe('FHIR API: $export parameters', () => {
  it.each(INVALID)('refuses a _typeFilter query whose inner percent-encoding is not UTF-8 (%s), and starts no export', async (_name, bytes) => {
    // The _typeFilter value is itself a query: `Observation?code=%FF` once the outer layer is decoded.
    const typeFilter = encodeURIComponent(`Observation?code=${percent(bytes)}`);
    const res = await fhir('GET', `$export?_type=Observation&_typeFilter=${typeFilter}`, undefined, { prefer: 'respond-async' });
    expectOutcome(res, /_typeFilter .*not valid percent-encoded UTF-8/);
  });
});

describe('authorization server, pages and launcher API', () => {
  async function send(method: string, path: string, body?: Buffer | string, headers: Record<string, string> = {}) {
    const response = await fetch(`${server.baseUrl}${path}`, { method, headers, ...(body === undefined ? {} : { body: bodyInit(body) }) });
    return { status: response.status, type: response.headers.get('content-type'), text: await response.text() };
  }
  const form = { 'content-type': 'application/x-www-form-urlencoded' };
  const expectInvalidRequest = (res: { status: number; type: string | null; text: string }, pattern: RegExp) => {
    expect(res.status).toBe(400);
    expect(res.type).toBe('application/json; charset=utf-8');
    const body = JSON.parse(res.text) as { error: string; error_description: string };
    expect(body.error).toBe('invalid_request');
    expect(body.error_description).toMatch(pattern);
  };

  for (const [name, bytes] of INVALID) {
    it(`token, introspection and revocation refuse ${name} in a form body, raw or percent-encoded`, async () => {
      for (const path of ['/oauth/token', '/oauth/introspect', '/oauth/revoke']) {
        expectInvalidRequest(
          await send('POST', path, withBytes('grant_type=client_credentials&client_id=', bytes, ''), form),
          /The request body is not valid UTF-8/,
        );
        expectInvalidRequest(
          await send('POST', path, `grant_type=client_credentials&client_id=${percent(bytes)}`, form),
          /The form body is not valid percent-encoded UTF-8/,
        );
      }
    });
  }

  it('registration refuses a client whose metadata is not UTF-8, and registers nothing', async () => {
    const before = (await (await fetch(`${server.baseUrl}/launcher/api/clients`)).json()) as unknown[];
    const res = await send(
      'POST',
      '/oauth/register',
      withBytes('{"client_name":"Utf8 ', [0xed, 0xa0, 0x80], '","redirect_uris":["https://app.example/cb"],"token_endpoint_auth_method":"none"}'),
      { 'content-type': 'application/json' },
    );
    expectInvalidRequest(res, /not valid UTF-8/);
    const after = (await (await fetch(`${server.baseUrl}/launcher/api/clients`)).json()) as unknown[];
    expect(after).toHaveLength(before.length);
    // The same metadata in valid UTF-8 registers, with its name exactly as sent.
    const fine = await send(
      'POST',
      '/oauth/register',
      JSON.stringify({ client_name: 'Utf8 Zoë', redirect_uris: ['https://app.example/cb'], token_endpoint_auth_method: 'none' }),
      { 'content-type': 'application/json' },
    );
    expect(fine.status).toBe(201);
    expect(JSON.parse(fine.text).client_name).toBe('Utf8 Zoë');
  });

  it('the authorization endpoint refuses a query that is not percent-encoded UTF-8: JSON for clients, the error page for browsers', async () => {
    expectInvalidRequest(
      await send('GET', '/oauth/authorize?response_type=code&client_id=%FF'),
      /The query string is not valid percent-encoded UTF-8 \(at "%FF"\)/,
    );
    const page = await send('GET', '/oauth/authorize?response_type=code&state=%C0%AF', undefined, { accept: 'text/html,application/xhtml+xml' });
    expect(page.status).toBe(400);
    expect(page.type).toBe('text/html; charset=utf-8');
    expect(page.text).toContain('<strong>invalid_request</strong>');
    expect(page.text).toContain('not valid percent-encoded UTF-8');
  });

  it('the sign-in and consent forms refuse a body that is not UTF-8 before it reaches the page', async () => {
    const page = await send('POST', '/oauth/interaction/any-uid/login', withBytes('username=', [0xff], '&password=x'), { ...form, accept: 'text/html' });
    expect(page.status).toBe(400);
    expect(page.text).toContain('<strong>invalid_request</strong>');
    expect(page.text).toContain('not valid UTF-8');
  });

  it('the launcher API refuses a launch whose JSON is not UTF-8, and a directory query that is not percent-encoded UTF-8', async () => {
    const launch = withBytes(`{"launch_uri":"${server.baseUrl}/sample-app/launch","patient":"p1","intent":"`, [0xc3, 0x28], '"}');
    expectInvalidRequest(await send('POST', '/launcher/api/launch', launch, { 'content-type': 'application/json' }), /not valid UTF-8/);
    expectInvalidRequest(await send('GET', '/launcher/api/patients?q=%ED%A0%80'), /query string is not valid/);
  });

  it('still serves valid requests through the check: a backend token with a JSON-registered client', async () => {
    const token = await (await backendClient(server.baseUrl, 'system/Patient.rs')).token();
    expect(token.split('.')).toHaveLength(3);
  });
});
