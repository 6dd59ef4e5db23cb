/**
 * The one way the server fetches a URL on someone's behalf: a client's `jwks_uri` and
 * `sector_identifier_uri` (oidc-provider's `fetch` hook), an upstream identity provider's
 * discovery document, JWKS, token and userinfo endpoints (openid-client's `customFetch`), and a
 * JWT bearer issuer's JWKS (jose's `customFetch`).
 *
 * Unless ALLOW_PRIVATE_NETWORK_FETCH is on, only public addresses (network-addresses.ts) are
 * connected to, and the check is made on the address actually connected, not on the name: an IP
 * literal before connecting, a DNS name on each address it resolves to at connection time
 * (names that resolve to loopback or private addresses, DNS rebinding), and the socket's remote
 * address once connected. Every redirect hop goes through the same checks. Every fetch is also
 * bounded in time and in size, so a slow or endless answer cannot hold a request or fill memory.
 *
 * https://owasp.org/www-community/attacks/Server_Side_Request_Forgery
 */
import { lookup as dnsLookup } from 'node:dns';
import { isIP, type LookupFunction, type Socket } from 'node:net';
import { Agent, buildConnector, fetch as undiciFetch, Response as UndiciResponse } from 'undici';
import { nonPublicKind, PRIVATE_NETWORK_SETTING } from './network-addresses.js';

/** A whole fetch (connection, headers and body) ends after this long. */
export const OUTBOUND_TIMEOUT_MS = 5000;
/** The largest body read, after decompression (discovery documents and JWKS are a few kB). */
export const OUTBOUND_MAX_BYTES = 512 * 1024;

export interface OutboundFetchOptions {
  /** ALLOW_PRIVATE_NETWORK_FETCH: connect to loopback, private and other non-public addresses too. */
  allowPrivateNetwork: boolean;
  timeoutMs?: number;
  maxResponseBytes?: number;
  /** Name resolution (default: the system's, `dns.lookup`). */
  lookup?: LookupFunction;
}

/**
 * A `fetch` with the policy applied, in the shape oidc-provider, openid-client and jose accept
 * (`init` is a RequestInit; typed loosely because each library declares its own).
 */
export type OutboundFetch = ((input: string | URL | Request, init?: object) => Promise<Response>) & {
  /**
   * One HTTP exchange without the fetch API's overhead, for callers that need only the status
   * (subscription notifications): redirects are not followed, the answer's body is read and
   * dropped (an answer beyond the size limit is an error). Same policy, limits and connection
   * pool as the fetch.
   */
  send(url: string, request: OutboundRequest): Promise<number>;
  /** Closes the pooled connections (at shutdown). */
  close(): Promise<void>;
};

export interface OutboundRequest {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  headers: Record<string, string>;
  body?: string;
}

/** A fetch the policy refuses: the target is not a public address. */
export class OutboundFetchRefused extends Error {
  readonly code = 'ERR_OUTBOUND_FETCH_REFUSED';
  constructor(message: string) {
    super(message);
    this.name = 'OutboundFetchRefused';
  }
}

function refused(host: string, address: string, kind: string): OutboundFetchRefused {
  const what = host === address ? address : `${host} (${address})`;
  return new OutboundFetchRefused(`${what} is not a public address (${kind}); the server fetches only public addresses unless ${PRIVATE_NETWORK_SETTING}=true`);
}

/** `lookup` for net.connect: only the public addresses a name resolves to are connected to. */
function publicOnlyLookup(resolve: LookupFunction): LookupFunction {
  return (hostname, options, callback) => {
    resolve(hostname, { ...options, all: true }, (error, found) => {
      if (error) return callback(error, '');
      const addresses = typeof found === 'string' ? [{ address: found, family: isIP(found) }] : found;
      const usable = addresses.filter((a) => nonPublicKind(a.address) === undefined);
      const first = addresses[0];
      if (!usable[0])
        return callback(first ? refused(hostname, first.address, nonPublicKind(first.address)!) : new OutboundFetchRefused(`${hostname} has no address`), '');
      if (options.all) callback(null, usable);
      else callback(null, usable[0].address, usable[0].family);
    });
  };
}

/** The connector: IP literals are checked before connecting, every socket after. */
function guardedConnector(timeoutMs: number, resolve: LookupFunction): buildConnector.connector {
  const connect = buildConnector({ timeout: timeoutMs, lookup: publicOnlyLookup(resolve) });
  return (options, callback) => {
    const host = options.hostname.replace(/^\[|\]$/g, '');
    const literalKind = isIP(host) ? nonPublicKind(host) : undefined;
    if (literalKind) return callback(refused(host, host, literalKind), null);
    connect(options, (error, socket) => {
      if (error) return callback(error, null);
      // Whatever the lookup said, the address connected to decides.
      const remote = (socket as Socket).remoteAddress;
      const kind = remote === undefined ? 'unknown' : nonPublicKind(remote);
      if (kind) {
        socket!.destroy();
        return callback(refused(host, remote ?? '?', kind), null);
      }
      callback(null, socket!);
    });
  };
}

/** A body that errors once more than `max` bytes came through. */
function limitBody(response: UndiciResponse, max: number, url: string): UndiciResponse {
  const declared = Number(response.headers.get('content-length'));
  if (declared > max) {
    void response.body?.cancel();
    throw new Error(`the response of ${url} is larger than ${max} bytes`);
  }
  const body = response.body;
  if (!body) return response;
  async function* limited(): AsyncGenerator<Uint8Array> {
    let received = 0;
    for await (const chunk of body!) {
      received += chunk.byteLength;
      if (received > max) throw new Error(`the response of ${url} is larger than ${max} bytes`);
      yield chunk;
    }
  }
  return new UndiciResponse(limited(), { status: response.status, statusText: response.statusText, headers: response.headers });
}

/**
 * Creates the fetch every outbound request of the server goes through. A `dispatcher` in `init`
 * (oidc-provider passes its own) is replaced by this policy's.
 */
export function createOutboundFetch(options: OutboundFetchOptions): OutboundFetch {
  const timeoutMs = options.timeoutMs ?? OUTBOUND_TIMEOUT_MS;
  const maxBytes = options.maxResponseBytes ?? OUTBOUND_MAX_BYTES;
  const agent = new Agent({
    connect: options.allowPrivateNetwork ? { timeout: timeoutMs } : guardedConnector(timeoutMs, options.lookup ?? (dnsLookup as LookupFunction)),
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
    // Raw bytes on the wire; limitBody bounds what decompression makes of them.
    maxResponseSize: maxBytes,
  });

  const outboundFetch = async (input: string | URL | Request, init: RequestInit = {}): Promise<Response> => {
    // No caller passes a Request; taking only its URL would drop its method and headers.
    if (typeof input !== 'string' && !(input instanceof URL)) throw new TypeError('the outbound fetch takes a URL, not a Request');
    const url = String(input);
    const deadline = AbortSignal.timeout(timeoutMs);
    const signal = init.signal ? AbortSignal.any([init.signal, deadline]) : deadline;
    const response = await undiciFetch(url, { ...(init as object), signal, dispatcher: agent } as Parameters<typeof undiciFetch>[1]);
    return limitBody(response, maxBytes, url) as unknown as Response;
  };
  const send = async (url: string, request: OutboundRequest): Promise<number> => {
    const target = new URL(url);
    const response = await agent.request({
      origin: target.origin,
      path: target.pathname + target.search,
      method: request.method,
      headers: request.headers,
      ...(request.body === undefined ? {} : { body: request.body }),
      signal: AbortSignal.timeout(timeoutMs),
    });
    let received = 0;
    for await (const chunk of response.body) {
      received += (chunk as Buffer).byteLength;
      if (received > maxBytes) {
        response.body.destroy();
        break;
      }
    }
    return response.statusCode;
  };
  return Object.assign(outboundFetch, { send, close: () => agent.close() });
}
