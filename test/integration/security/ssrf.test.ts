/**
 * Server-side request forgery: every URL the server fetches on someone's behalf goes through one
 * outbound-fetch policy (src/security/outbound-fetch.ts). By default (ALLOW_PRIVATE_NETWORK_FETCH
 * off) only public addresses are connected to, whatever the path: a client's `jwks_uri` and
 * `sector_identifier_uri`, an identity provider's discovery (FEDERATION_PROVIDERS), a JWT bearer
 * issuer's JWKS (JWT_BEARER_ISSUERS). With the setting on, the same fetches reach the same
 * target. The target here is a real HTTP server on loopback that records every request it gets;
 * the strict server refuses it even under a DNS name (`localhost`), because the address connected
 * to is what is checked.
 *
 * Registration refuses metadata the server would never fetch (400 `invalid_client_metadata`
 * naming the setting), and every refused client authentication is logged with its reason.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { randomBytes } from 'node:crypto';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config.js';
import { createLogger } from '../../../src/log.js';
import { createOutboundFetch, OutboundFetchRefused } from '../../../src/security/outbound-fetch.js';
import { asPage, asRedirect, Browser } from '../auth/support/browser.js';
import { ASSERTION_TYPE, clientAssertion, clientKey, register, sampleAuthorization, tokenRequest, type ClientKey } from '../auth/support/clients.js';
import { startTestServer, type TestServer } from '../../support/server.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const SETTING = 'ALLOW_PRIVATE_NETWORK_FETCH=true';
const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
const TRUSTED_ISSUER = 'https://assertions.example';
const PROVISIONED = 'provisioned-backend';

/** The internal service: answers JWKS and a discovery document, records every request. */
let internal: http.Server;
let internalOrigin: string;
/** A TCP listener standing for an internal https service: records connections (it never finishes a TLS handshake). */
let tlsTarget: net.Server;
let tlsPort: number;
const hits: string[] = [];
const tlsConnections: Buffer[] = [];

let clientKeyPair: ClientKey;
let issuerKey: ClientKey;
let strict: TestServer;
let open: TestServer;
const logs = { strict: [] as Array<Record<string, unknown>>, open: [] as Array<Record<string, unknown>> };
let seedDir: string;

function sink(lines: Array<Record<string, unknown>>): Writable {
  return new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
}

/** The internal requests made while `work` ran. */
async function hitsDuring(work: () => Promise<unknown>): Promise<string[]> {
  const before = hits.length;
  await work();
  return hits.slice(before);
}

beforeAll(async () => {
  clientKeyPair = await clientKey('ES384');
  issuerKey = await clientKey('RS384');
  internal = http.createServer((req, res) => {
    hits.push(req.url ?? '');
    const idp = `${internalOrigin}/idp`;
    const routes: Record<string, unknown> = {
      '/jwks.json': { keys: [clientKeyPair.publicJwk] },
      '/issuer-jwks': { keys: [issuerKey.publicJwk] },
      '/idp/.well-known/openid-configuration': {
        issuer: idp,
        authorization_endpoint: `${idp}/auth`,
        token_endpoint: `${idp}/token`,
        jwks_uri: `${idp}/jwks`,
        response_types_supported: ['code'],
        subject_types_supported: ['public'],
        id_token_signing_alg_values_supported: ['RS256'],
      },
    };
    const body = routes[(req.url ?? '').split('?')[0]!];
    if (body === undefined) res.writeHead(404).end();
    else res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  });
  await new Promise<void>((resolve) => internal.listen(0, '127.0.0.1', resolve));
  // A DNS name for the loopback service: the checks must hold on the address it resolves to.
  internalOrigin = `http://localhost:${(internal.address() as AddressInfo).port}`;
  tlsTarget = net.createServer((socket) => {
    socket.once('data', (data) => {
      tlsConnections.push(data);
      socket.destroy();
    });
  });
  await new Promise<void>((resolve) => tlsTarget.listen(0, '127.0.0.1', resolve));
  tlsPort = (tlsTarget.address() as AddressInfo).port;

  // A backend client an operator provisioned (clients.json), keys on the internal service.
  seedDir = mkdtempSync(path.join(tmpdir(), 'bedside-ssrf-seed-'));
  const sample = JSON.parse(readFileSync(path.join(REPO, 'fhir-data/clients.json'), 'utf8')) as unknown[];
  writeFileSync(
    path.join(seedDir, 'clients.json'),
    JSON.stringify([
      ...sample,
      {
        client_id: PROVISIONED,
        client_name: 'Provisioned backend service',
        token_endpoint_auth_method: 'private_key_jwt',
        token_endpoint_auth_signing_alg: 'ES384',
        grant_types: ['client_credentials'],
        response_types: [],
        redirect_uris: [],
        jwks_uri: `${internalOrigin}/jwks.json`,
        scope: 'system/*.rs',
      },
    ]),
  );

  // Both servers are configured alike; only ALLOW_PRIVATE_NETWORK_FETCH differs. The loopback
  // identity provider and issuer would be refused at start-up without the setting (tested in
  // test/integration/oidc/settings.test.ts and test/unit/config/config.test.ts); given to the
  // strict server anyway, the fetches themselves must refuse them.
  const provider = { id: 'corp', name: 'Contoso', issuer: `${internalOrigin}/idp`, clientId: 'bedside', clientSecret: 'corp-secret' };
  const { federation } = loadConfig({ FEDERATION_PROVIDERS: JSON.stringify([provider]), ALLOW_PRIVATE_NETWORK_FETCH: 'true' });
  const common = {
    seedFiles: [path.join(REPO, 'fhir-data/accounts.json'), path.join(seedDir, 'clients.json')],
    hostName: '127.0.0.1' as const,
    federation,
    jwtBearerIssuers: [{ issuer: TRUSTED_ISSUER, jwksUri: `${internalOrigin}/issuer-jwks` }],
  };
  strict = await startTestServer({ ...common, allowPrivateNetworkFetch: false, logger: createLogger('info', sink(logs.strict)) });
  open = await startTestServer({ ...common, allowPrivateNetworkFetch: true, logger: createLogger('info', sink(logs.open)) });
});
afterAll(async () => {
  await strict?.stop();
  await open?.stop();
  await new Promise((resolve) => internal?.close(resolve));
  await new Promise((resolve) => tlsTarget?.close(resolve));
  if (seedDir) rmSync(seedDir, { recursive: true, force: true });
});

const backend = (jwksUri: string) => ({
  token_endpoint_auth_method: 'private_key_jwt',
  token_endpoint_auth_signing_alg: 'ES384',
  grant_types: ['client_credentials'],
  response_types: [],
  redirect_uris: [],
  jwks_uri: jwksUri,
  scope: 'system/*.rs',
});

describe('registration refuses what the server would never fetch', () => {
  const port = () => (internal.address() as AddressInfo).port;
  const spellings: Array<[string, () => string, string]> = [
    ['an IPv4 loopback address', () => `http://127.0.0.1:${port()}/jwks.json`, 'loopback'],
    ['a localhost name', () => `${internalOrigin}/jwks.json`, 'loopback'],
    ['a localhost name with the root dot', () => `http://localhost.:${port()}/jwks.json`, 'loopback'],
    ['a decimal IPv4 spelling', () => `http://2130706433:${port()}/jwks.json`, 'loopback'],
    ['a hexadecimal IPv4 spelling', () => `http://0x7f.0.0.1:${port()}/jwks.json`, 'loopback'],
    ['an octal IPv4 spelling', () => `http://0177.0.0.1:${port()}/jwks.json`, 'loopback'],
    ['a short IPv4 spelling', () => `http://127.1:${port()}/jwks.json`, 'loopback'],
    ['the IPv6 loopback', () => `http://[::1]:${port()}/jwks.json`, 'loopback'],
    ['an IPv4-mapped IPv6 loopback', () => `http://[::ffff:127.0.0.1]:${port()}/jwks.json`, 'loopback'],
    ['a private address', () => 'https://10.1.2.3/jwks.json', 'private'],
    ['the cloud metadata address', () => 'http://169.254.169.254/latest/meta-data/', 'link-local'],
    ['an IPv6 unique local address', () => 'https://[fd12:3456::1]/jwks.json', 'unique local (private)'],
    ['an IPv6 link-local address', () => 'https://[fe80::1]/jwks.json', 'link-local'],
    ['the unspecified address', () => `http://0.0.0.0:${port()}/jwks.json`, '"this network"'],
  ];
  for (const [what, uri, kind] of spellings) {
    it(`a jwks_uri on ${what}: 400 invalid_client_metadata naming the setting, nothing fetched`, async () => {
      const fetched = await hitsDuring(async () => {
        const response = await register(strict, backend(uri()));
        expect(response.status).toBe(400);
        expect(response.body.error).toBe('invalid_client_metadata');
        expect(response.body.error_description).toBe(
          `jwks_uri will not be fetched: its host ${new URL(uri()).hostname} is not a public address (${kind}); this server fetches only public addresses unless ${SETTING}`,
        );
      });
      expect(fetched).toEqual([]);
    });
  }

  it('a jwks_uri on a public host is accepted (fetched when the client authenticates)', async () => {
    const response = await register(strict, backend('https://keys.example.org/jwks.json'));
    expect(response.status).toBe(201);
    expect(response.body.jwks_uri).toBe('https://keys.example.org/jwks.json');
  });

  it('an update to a private jwks_uri is refused the same way', async () => {
    const registered = await register(strict, backend('https://keys.example.org/jwks.json'));
    const { registration_client_uri: uri, registration_access_token: token, client_id: id } = registered.body as Record<string, string>;
    const update = await fetch(uri!, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ ...backend('http://192.168.0.10/jwks.json'), client_id: id }),
    });
    expect(update.status).toBe(400);
    expect(await update.json()).toEqual({
      error: 'invalid_client_metadata',
      error_description: `jwks_uri will not be fetched: its host 192.168.0.10 is not a public address (private); this server fetches only public addresses unless ${SETTING}`,
    });
  });

  it('a sector_identifier_uri on loopback: refused before any connection', async () => {
    const before = tlsConnections.length;
    const response = await register(strict, {
      redirect_uris: ['https://app.example/cb'],
      sector_identifier_uri: `https://127.0.0.1:${tlsPort}/sector.json`,
      token_endpoint_auth_method: 'none',
      scope: 'openid',
    });
    expect(response.status).toBe(400);
    expect(response.body).toEqual({
      error: 'invalid_client_metadata',
      error_description: `sector_identifier_uri will not be fetched: its host 127.0.0.1 is not a public address (loopback); this server fetches only public addresses unless ${SETTING}`,
    });
    expect(tlsConnections.length).toBe(before);
  });

  it('request_uris are refused whatever the setting: request objects are never fetched by reference', async () => {
    for (const server of [strict, open]) {
      const response = await register(server, {
        redirect_uris: ['https://app.example/cb'],
        request_uris: ['https://app.example/request.jwt'],
        token_endpoint_auth_method: 'none',
        scope: 'openid',
      });
      expect(response.status).toBe(400);
      expect(response.body.error).toBe('invalid_client_metadata');
      expect(response.body.error_description).toMatch(/^request_uris is not supported: this server never fetches request objects by reference/);
    }
    // An empty list asks for nothing and is accepted.
    expect(
      (await register(strict, { redirect_uris: ['https://app.example/cb'], request_uris: [], token_endpoint_auth_method: 'none', scope: 'openid' })).status,
    ).toBe(201);
  });
});

describe('with ALLOW_PRIVATE_NETWORK_FETCH the same URLs are fetched', () => {
  it('a loopback jwks_uri is accepted, and the keys are fetched when the client authenticates', async () => {
    const registered = await register(open, backend(`http://127.0.0.1:${(internal.address() as AddressInfo).port}/jwks.json`));
    expect(registered.status).toBe(201);
    const clientId = String(registered.body.client_id);
    let response: Awaited<ReturnType<typeof tokenRequest>> | undefined;
    const fetched = await hitsDuring(async () => {
      response = await tokenRequest(open, {
        grant_type: 'client_credentials',
        scope: 'system/Patient.rs',
        client_assertion_type: ASSERTION_TYPE,
        client_assertion: await clientAssertion(open, clientId, clientKeyPair),
      });
    });
    expect(response!.status).toBe(200);
    expect(response!.body.token_type).toBe('Bearer');
    expect(fetched).toEqual(['/jwks.json']);
  });

  it('a loopback sector_identifier_uri is fetched (the connection reaches the target)', async () => {
    const before = tlsConnections.length;
    const response = await register(open, {
      redirect_uris: ['https://app.example/cb'],
      sector_identifier_uri: `https://127.0.0.1:${tlsPort}/sector.json`,
      token_endpoint_auth_method: 'none',
      scope: 'openid',
    });
    // The target is no https server: the fetch fails after connecting, which oidc-provider reports.
    expect(response.status).toBe(400);
    expect(response.body).toEqual({ error: 'invalid_client_metadata', error_description: 'could not load sector_identifier_uri response' });
    expect(tlsConnections.length).toBe(before + 1);
    expect(tlsConnections.at(-1)![0]).toBe(0x16); // a TLS handshake record: the ClientHello
  });
});

describe('a client whose keys live on a non-public address', () => {
  const authenticate = (server: TestServer) => async () =>
    tokenRequest(server, {
      grant_type: 'client_credentials',
      scope: 'system/Patient.rs',
      client_assertion_type: ASSERTION_TYPE,
      client_assertion: await clientAssertion(server, PROVISIONED, clientKeyPair),
    });

  it('cannot authenticate on the strict server (the name resolves to loopback); nothing is fetched; the log says why', async () => {
    let response: Awaited<ReturnType<typeof tokenRequest>> | undefined;
    const fetched = await hitsDuring(async () => {
      response = await authenticate(strict)();
    });
    expect(response!.status).toBe(401);
    expect(response!.body).toEqual({ error: 'invalid_client', error_description: 'client authentication failed' });
    expect(fetched).toEqual([]);
    const line = logs.strict.findLast((l) => l.msg === 'client authentication failed' && l.client_id === PROVISIONED);
    expect(line).toMatchObject({ level: 40, event: 'grant.error', presented: 'client_assertion', registered: 'private_key_jwt' });
    expect(line!.reason).toBe(
      `client authentication failed: client JSON Web Key Set failed to be refreshed: fetch failed: localhost (127.0.0.1) is not a public address (loopback); the server fetches only public addresses unless ${SETTING}`,
    );
  });

  it('authenticates on the server with the setting, which fetches its keys', async () => {
    let response: Awaited<ReturnType<typeof tokenRequest>> | undefined;
    const fetched = await hitsDuring(async () => {
      response = await authenticate(open)();
    });
    expect(response!.status).toBe(200);
    expect(fetched).toEqual(['/jwks.json']);
  });
});

describe('every refused client authentication is logged with its reason, no secret', () => {
  it('a wrong secret, an unknown client, a bad assertion: one warning each', async () => {
    const registered = await register(strict, {
      token_endpoint_auth_method: 'client_secret_basic',
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      scope: 'system/*.rs',
    });
    const id = String(registered.body.client_id);
    const secret = String(registered.body.client_secret);
    const basic = (user: string, password: string) => ({ authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` });
    const wrong = `wrong-${randomBytes(8).toString('hex')}`;
    const from = logs.strict.length;

    expect((await tokenRequest(strict, { grant_type: 'client_credentials', scope: 'system/Patient.rs' }, basic(id, wrong))).status).toBe(401);
    expect((await tokenRequest(strict, { grant_type: 'client_credentials', scope: 'system/Patient.rs' }, basic('no-such-client', wrong))).status).toBe(401);
    const inline = await register(strict, { ...backend('https://keys.example.org/jwks.json'), jwks_uri: undefined, jwks: { keys: [clientKeyPair.publicJwk] } });
    const keyed = String(inline.body.client_id);
    expect(
      (
        await tokenRequest(strict, {
          grant_type: 'client_credentials',
          scope: 'system/Patient.rs',
          client_assertion_type: ASSERTION_TYPE,
          client_assertion: await clientAssertion(strict, keyed, clientKeyPair, { claims: { aud: 'https://elsewhere.example/token' } }),
        })
      ).status,
    ).toBe(401);
    const introspection = await fetch(`${strict.issuer}/introspect`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...basic(id, wrong) },
      body: new URLSearchParams({ token: 'x' }),
    });
    expect(introspection.status).toBe(401);

    const lines = logs.strict.slice(from).filter((l) => l.msg === 'client authentication failed');
    expect(lines.map((l) => [l.event, l.client_id, l.presented, l.reason])).toEqual([
      ['grant.error', id, 'client_secret_basic', 'invalid secret provided'],
      ['grant.error', 'no-such-client', 'client_secret_basic', 'client not found'],
      ['grant.error', keyed, 'client_assertion', 'audience (aud) must equal the endpoint url, issuer identifier or token endpoint url'],
      ['introspection.error', id, 'client_secret_basic', 'invalid secret provided'],
    ]);
    const written = JSON.stringify(logs.strict);
    expect(written).not.toContain(wrong);
    expect(written).not.toContain(secret);
  });
});

describe('JWT_BEARER_ISSUERS: the issuer keys', () => {
  async function exchange(server: TestServer): Promise<Awaited<ReturnType<typeof tokenRequest>>> {
    const { body } = await register(server, {
      token_endpoint_auth_method: 'client_secret_basic',
      grant_types: [JWT_BEARER],
      response_types: [],
      redirect_uris: [],
      scope: 'user/*.rs',
    });
    const now = Math.floor(Date.now() / 1000);
    const assertion = await new SignJWT({
      iss: TRUSTED_ISSUER,
      sub: 'dr.carter',
      aud: `${server.issuer}/token`,
      jti: randomBytes(8).toString('hex'),
      iat: now,
      exp: now + 120,
    })
      .setProtectedHeader({ alg: 'RS384', kid: issuerKey.kid })
      .sign(issuerKey.privateKey);
    return tokenRequest(
      server,
      { grant_type: JWT_BEARER, assertion, scope: 'user/*.rs' },
      { authorization: `Basic ${Buffer.from(`${String(body.client_id)}:${String(body.client_secret)}`).toString('base64')}` },
    );
  }

  it('are not fetched from a name resolving to loopback on the strict server; the log says why', async () => {
    let response: Awaited<ReturnType<typeof tokenRequest>> | undefined;
    const fetched = await hitsDuring(async () => {
      response = await exchange(strict);
    });
    expect(response!.status).toBe(400);
    expect(response!.body).toEqual({ error: 'invalid_grant', error_description: 'grant request is invalid' });
    expect(fetched).toEqual([]);
    expect(logs.strict.findLast((l) => l.msg === 'JWT bearer issuer keys could not be fetched')).toMatchObject({
      jwksUri: `${internalOrigin}/issuer-jwks`,
      level: 40,
      issuer: TRUSTED_ISSUER,
      reason: `fetch failed: localhost (127.0.0.1) is not a public address (loopback); the server fetches only public addresses unless ${SETTING}`,
    });
  });

  it('are fetched with the setting, and the assertion is accepted', async () => {
    let response: Awaited<ReturnType<typeof tokenRequest>> | undefined;
    const fetched = await hitsDuring(async () => {
      response = await exchange(open);
    });
    expect(response!.status).toBe(200);
    expect(response!.body.token_type).toBe('Bearer');
    expect(fetched).toEqual(['/issuer-jwks']);
  });
});

describe('FEDERATION_PROVIDERS: the identity provider discovery', () => {
  async function pressSignInWith(server: TestServer) {
    const browser = new Browser();
    const request = sampleAuthorization(server, { scope: 'openid fhirUser user/*.rs' });
    const login = asPage(await browser.go(request.url, { stopAt: request.redirectUri }));
    const button = login.forms.find((f) => new URL(f.action).pathname.endsWith('/federate/corp'));
    expect(button).toBeDefined();
    return browser.submit(button!, {}, undefined, internalOrigin);
  }

  it('is not fetched from a name resolving to loopback on the strict server: the sign-in says the provider cannot be reached; the log says why', async () => {
    let result: Awaited<ReturnType<typeof pressSignInWith>> | undefined;
    const fetched = await hitsDuring(async () => {
      result = await pressSignInWith(strict);
    });
    const page = asPage(result!);
    expect(page.status).toBe(502);
    expect(page.html).toContain('Contoso cannot be reached right now');
    expect(fetched).toEqual([]);
    expect(logs.strict.findLast((l) => l.msg === 'identity provider discovery failed')).toMatchObject({
      level: 50,
      provider: 'corp',
      reason: expect.stringMatching(
        /localhost \(127\.0\.0\.1\) is not a public address \(loopback\); the server fetches only public addresses unless ALLOW_PRIVATE_NETWORK_FETCH=true$/,
      ),
    });
  });

  it('is fetched with the setting: the button leads to the provider found by discovery', async () => {
    let result: Awaited<ReturnType<typeof pressSignInWith>> | undefined;
    const fetched = await hitsDuring(async () => {
      result = await pressSignInWith(open);
    });
    const upstream = asRedirect(result!);
    expect(`${upstream.origin}${upstream.pathname}`).toBe(`${internalOrigin}/idp/auth`);
    expect(upstream.searchParams.get('client_id')).toBe('bedside');
    expect(fetched).toContain('/idp/.well-known/openid-configuration');
  });
});

describe('the outbound fetch itself', () => {
  let target: http.Server;
  let port: number;
  const seen: string[] = [];
  beforeAll(async () => {
    target = http.createServer((req, res) => {
      seen.push(req.url ?? '');
      if (req.url === '/slow') return; // never answers
      if (req.url === '/large') return void res.writeHead(200).end(Buffer.alloc(600 * 1024));
      if (req.url === '/bomb') return void res.writeHead(200, { 'content-encoding': 'gzip' }).end(gzipSync(Buffer.alloc(8 * 1024 * 1024)));
      if (req.url === '/redirect') return void res.writeHead(302, { location: `http://127.0.0.1:${port}/ok` }).end();
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    });
    await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
    port = (target.address() as AddressInfo).port;
  });
  afterAll(async () => {
    target.closeAllConnections();
    await new Promise((resolve) => target.close(resolve));
  });

  /** The policy's refusal behind undici's "fetch failed". */
  async function refusal(attempt: Promise<Response>): Promise<string> {
    const error = await attempt.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(TypeError);
    expect((error as Error).cause).toBeInstanceOf(OutboundFetchRefused);
    return ((error as Error).cause as Error).message;
  }

  /** A resolver answering `addresses` for every name (what a hostile or rebinding DNS server can do). */
  const resolvingTo = (...addresses: string[]) =>
    ((_name: string, options: { all?: boolean }, callback: (...args: unknown[]) => void) => {
      const all = addresses.map((address) => ({ address, family: net.isIP(address) }));
      if (options.all) callback(null, all);
      else callback(null, all[0]!.address, all[0]!.family);
    }) as never;

  it('refuses names that resolve to non-public addresses, checked on each address answered', async () => {
    const before = seen.length;
    const cases: Array<[string[], string]> = [
      [['127.0.0.1'], 'intranet.example (127.0.0.1) is not a public address (loopback)'],
      [['10.0.0.8'], 'intranet.example (10.0.0.8) is not a public address (private)'],
      [['::ffff:127.0.0.1'], 'intranet.example (::ffff:127.0.0.1) is not a public address (loopback)'],
      [['fd00::8', '192.168.1.1'], 'intranet.example (fd00::8) is not a public address (unique local (private))'],
    ];
    for (const [addresses, message] of cases) {
      const outbound = createOutboundFetch({ allowPrivateNetwork: false, lookup: resolvingTo(...addresses) });
      expect(await refusal(outbound(`http://intranet.example:${port}/ok`))).toBe(`${message}; the server fetches only public addresses unless ${SETTING}`);
      await outbound.close();
    }
    expect(seen.length).toBe(before);
  });

  it("refuses IP literals before connecting, and the system resolver's answer for localhost", async () => {
    const outbound = createOutboundFetch({ allowPrivateNetwork: false });
    const before = seen.length;
    for (const host of ['127.0.0.1', '[::ffff:7f00:1]', '2130706433', 'localhost']) {
      expect(await refusal(outbound(`http://${host}:${port}/ok`))).toMatch(/is not a public address \(loopback\)/);
    }
    expect(seen.length).toBe(before);
    await outbound.close();
  });

  it('with the setting: fetches loopback, follows redirects, and still bounds time and size', async () => {
    const outbound = createOutboundFetch({ allowPrivateNetwork: true, timeoutMs: 500, maxResponseBytes: 512 * 1024 });
    expect(await (await outbound(`http://localhost:${port}/ok`)).json()).toEqual({ ok: true });
    expect(await (await outbound(`http://127.0.0.1:${port}/redirect`)).json()).toEqual({ ok: true });
    const started = Date.now();
    await expect(outbound(`http://127.0.0.1:${port}/slow`)).rejects.toThrow(/timeout|aborted/i);
    expect(Date.now() - started).toBeLessThan(2000);
    // Too large on the wire, and too large once decompressed (80 kB of gzip, 8 MB of zeros).
    await expect(outbound(`http://127.0.0.1:${port}/large`).then((r) => r.arrayBuffer())).rejects.toThrow();
    await expect(outbound(`http://127.0.0.1:${port}/bomb`).then((r) => r.arrayBuffer())).rejects.toThrow(/larger than 524288 bytes/);
    await outbound.close();
  });

  it('send (subscription notifications): the same refusals; with the setting a status, no redirect followed, time and size bounded', async () => {
    const strict = createOutboundFetch({ allowPrivateNetwork: false, lookup: resolvingTo('10.0.0.8') });
    const before = seen.length;
    for (const url of [`http://127.0.0.1:${port}/ok`, `http://intranet.example:${port}/ok`]) {
      const error = await strict.send(url, { method: 'POST', headers: {} }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(OutboundFetchRefused);
      expect((error as Error).message).toMatch(/is not a public address \((loopback|private)\)/);
    }
    expect(seen.length).toBe(before);
    await strict.close();

    const open = createOutboundFetch({ allowPrivateNetwork: true, timeoutMs: 500, maxResponseBytes: 512 * 1024 });
    expect(await open.send(`http://127.0.0.1:${port}/ok?x=1`, { method: 'PUT', headers: { 'content-type': 'application/fhir+json' }, body: '{}' })).toBe(200);
    expect(seen[seen.length - 1]).toBe('/ok?x=1');
    expect(await open.send(`http://127.0.0.1:${port}/redirect`, { method: 'POST', headers: {} })).toBe(302);
    await expect(open.send(`http://127.0.0.1:${port}/large`, { method: 'POST', headers: {} })).rejects.toThrow(/max size/);
    const started = Date.now();
    await expect(open.send(`http://127.0.0.1:${port}/slow`, { method: 'POST', headers: {} })).rejects.toThrow(/timeout|aborted/i);
    expect(Date.now() - started).toBeLessThan(2000);
    await open.close();
  });
});
