/**
 * Server-side request forgery: a client may register a `jwks_uri`, which the server fetches to
 * check its assertions. By default (ALLOW_PRIVATE_NETWORK_FETCH=false) a URI on a loopback or
 * private address is never fetched, so registration cannot be used to reach internal services.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ASSERTION_TYPE, clientAssertion, clientKey, register, tokenRequest } from '../auth/support/clients.js';
import { startTestServer, type TestServer } from '../auth/support/server.js';

let server: TestServer;
let internal: http.Server;
const hits: string[] = [];

beforeAll(async () => {
  server = await startTestServer();
  internal = http.createServer((req, res) => {
    hits.push(req.url ?? '');
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"keys":[]}');
  });
  await new Promise<void>((resolve) => internal.listen(0, '127.0.0.1', resolve));
});
afterAll(async () => {
  await server?.stop();
  await new Promise((resolve) => internal?.close(resolve));
});

describe('jwks_uri on an internal address', () => {
  it('is never fetched: the client cannot authenticate, and the internal service sees no request', async () => {
    const key = await clientKey('ES384');
    const jwksUri = `http://127.0.0.1:${(internal.address() as AddressInfo).port}/internal/jwks`;
    const registered = await register(server, { token_endpoint_auth_method: 'private_key_jwt', token_endpoint_auth_signing_alg: 'ES384', grant_types: ['client_credentials'], response_types: [], redirect_uris: [], jwks_uri: jwksUri, scope: 'system/*.rs' });
    // Registration keeps the URI (it may be reachable from where the client runs); using it fails.
    expect(registered.status).toBe(201);
    const response = await tokenRequest(server, { grant_type: 'client_credentials', scope: 'system/Patient.rs', client_assertion_type: ASSERTION_TYPE, client_assertion: await clientAssertion(server, String(registered.body.client_id), key) });
    expect(response.status).toBe(401);
    expect(response.body.error).toBe('invalid_client');
    expect(hits).toEqual([]);
  });
});
