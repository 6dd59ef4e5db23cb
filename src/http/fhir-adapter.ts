/**
 * The lean node:http adapter of the FHIR API: HTTP in, FhirRequest through bearer verification
 * and the route table, FhirResponse out. Express is not on this path (it costs about 5x per
 * request in our measurements); this is also the single place where errors are rendered
 * as OperationOutcomes. Bodies and answers are FHIR JSON or FHIR XML (fhir/format.ts negotiates,
 * fhir/xml/ converts at this edge; interactions only ever see JSON).
 */
import type { OperationOutcome } from 'fhir/r4';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import type { Logger } from 'pino';
import { anonymousPolicy } from '../access/anonymous.js';
import type { Authenticator } from '../access/authenticate.js';
import { auditWho, type AuditLog } from '../access/audit-log.js';
import type { AccessPolicy } from '../access/policy.js';
import type { ResourceAccess } from '../access/resource-access.js';
import { decodePercent, decodeUtf8, headerText, parseQuery } from '../text-decoding.js';
import { FHIR_ID, RESOURCE_TYPE_NAME } from '../r4/ids.js';
import type { FhirApi } from '../fhir/api.js';
import { requestContext, type FhirServices } from '../fhir/context.js';
import { FhirError, badRequest, internalErrorOutcome, tooLarge, unsupportedMediaType } from '../r4/errors.js';
import { FHIR_XML_TYPE, isXmlBodyType, responseFormat, type WireFormat } from '../fhir/format.js';
import { parseJson } from '../fhir/json-body.js';
import type { FhirBody, FhirRequest, FhirResponse, FhirStream, HttpMethod } from '../fhir/request.js';
import { asFhirError } from '../fhir/storage-errors.js';
import { bodyToXml, resourceFromXml, resourceToXml } from '../fhir/xml/index.js';

const FHIR_JSON = 'application/fhir+json; charset=utf-8';
const JSON_TYPES = new Set(['application/fhir+json', 'application/json', 'application/json-patch+json', 'text/json']);
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE']);

export interface FhirHttpOptions {
  api: FhirApi;
  services: FhirServices;
  /** Binds each request's policy to the store: the only way this adapter reaches data. */
  access: ResourceAccess;
  authenticator: Authenticator;
  logger: Logger;
  /** Path prefix of the FHIR base on this server, e.g. `/fhir`. */
  mountPath: string;
  /** Records denied requests and writes. */
  audit?: AuditLog;
}

const WRITES = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** Returns the request listener for everything under `mountPath`. */
export function createFhirHttpHandler(options: FhirHttpOptions): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    void handle(options, req, res);
  };
}

async function handle(options: FhirHttpOptions, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const requestId =
    typeof req.headers['x-request-id'] === 'string' && /^[\w.-]{1,64}$/.test(req.headers['x-request-id']) ? req.headers['x-request-id'] : randomUUID();
  const started = performance.now();
  let status = 500;
  let policy: AccessPolicy | undefined;
  let fhirPath: string | undefined;
  let format: WireFormat = 'json';
  try {
    applyCors(req, res);
    if (req.method === 'OPTIONS') {
      status = 204;
      res.writeHead(204, { 'content-length': '0' }).end();
      return;
    }
    // A 406 waits for the route: discovery documents answer whatever Accept names (FhirApi `anyAccept`).
    let unacceptable: unknown;
    try {
      format = responseFormat(req.url ?? '/', req.headers.accept, req.headers['content-type']);
    } catch (error) {
      unacceptable = error;
    }
    const request = await toFhirRequest(options, req);
    fhirPath = request.path;
    const match = options.api.match(request);
    if (unacceptable !== undefined) {
      if (!match.anyAccept) throw unacceptable;
      // Without the Accept header: only an unsupported _format is still refused.
      format = responseFormat(req.url ?? '/', undefined, req.headers['content-type']);
    }
    request.params = match.params;
    // Public routes read no data: their policy allows nothing. The authenticator decides the rest
    // (with enforcement off, the composition root gives one that allows everything).
    policy = match.public ? anonymousPolicy : await options.authenticator.authenticate(request.headers.authorization);
    const context = requestContext(options.services, options.access.bind(policy), requestId);
    const response = await match.handler(context, request);
    status = response.status;
    send(res, request, response, requestId, format);
    if (options.audit && WRITES.has(request.method) && status < 300) {
      options.audit.record({
        outcome: 'written',
        status,
        method: request.method,
        path: request.path,
        ...writtenResource(request, response),
        ...auditWho(policy.principal),
        requestId,
      });
    }
  } catch (thrown) {
    const error = asFhirError(thrown) ?? thrown;
    status = error instanceof FhirError ? error.status : 500;
    sendError(options.logger, req, res, error, requestId, format);
    if (options.audit && (status === 401 || status === 403 || (WRITES.has(req.method ?? '') && status < 500))) {
      options.audit.record({
        outcome: status === 401 || status === 403 ? 'denied' : 'failed-write',
        status,
        method: req.method ?? '',
        path: fhirPath ?? '',
        reason: error instanceof FhirError ? (error.issues[0]?.diagnostics ?? error.message).slice(0, 300) : 'error',
        ...auditWho(policy?.principal),
        requestId,
      });
    }
  } finally {
    if (options.logger.isLevelEnabled('debug')) {
      options.logger.debug({ requestId, method: req.method, url: redactUrl(req.url), status, ms: Math.round(performance.now() - started) }, 'fhir request');
    }
  }
}

async function toFhirRequest(options: FhirHttpOptions, req: IncomingMessage): Promise<FhirRequest> {
  const method = (req.method ?? 'GET').toUpperCase();
  if (!METHODS.has(method)) throw new FhirError(405, 'not-supported', `HTTP method ${method.slice(0, 20)} is not used by FHIR`);
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  const rawPath = q < 0 ? url : url.slice(0, q);
  // Every byte read as text is strict UTF-8: a malformed sequence is a 400, never a silent U+FFFD.
  const path = decodePercent(rawPath.slice(options.mountPath.length), badRequest, 'The URL path').replace(/^\/+|\/+$/g, '');
  const query = parseQuery(q < 0 ? '' : url.slice(q + 1), badRequest);
  const headers = req.headers as Record<string, string | undefined>;
  if (headers['if-none-exist'] !== undefined) headers['if-none-exist'] = headerText(headers['if-none-exist'], badRequest, 'The If-None-Exist header');
  const request: FhirRequest = { method: method as HttpMethod, path, query, headers, body: undefined, params: {} };
  if (method === 'POST' || method === 'PUT' || method === 'PATCH') {
    const raw = await readBody(req, options.services.config.bodyLimitBytes);
    const contentType = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (raw.length > 0) {
      if (contentType === 'application/x-www-form-urlencoded' && method === 'POST' && path.endsWith('_search')) {
        request.form = parseQuery(decodeUtf8(raw, badRequest), badRequest, 'The form body');
      } else if (contentType === '' || JSON_TYPES.has(contentType)) {
        request.body = parseJson(raw);
      } else if (isXmlBodyType(contentType)) {
        request.body = resourceFromXml(raw);
      } else {
        throw unsupportedMediaType(`Unsupported Content-Type "${contentType.slice(0, 60)}": send application/fhir+json or application/fhir+xml`);
      }
    }
  }
  return request;
}

function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    req.resume();
    return Promise.reject(tooLarge(`The request body (${declared} bytes) exceeds the limit of ${limit} bytes (BODY_LIMIT)`));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    req.on('data', (chunk: Buffer) => {
      if (failed) return;
      size += chunk.length;
      if (size > limit) {
        failed = true;
        reject(tooLarge(`The request body exceeds the limit of ${limit} bytes (BODY_LIMIT)`));
        req.resume();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => !failed && resolve(Buffer.concat(chunks, size)));
    req.on('error', (error) => !failed && reject(error));
  });
}

function applyCors(req: IncomingMessage, res: ServerResponse): void {
  // Bearer tokens, not cookies, authorize the FHIR API: any origin may call it without credentials.
  res.setHeader('access-control-allow-origin', '*');
  res.setHeader(
    'access-control-expose-headers',
    'Location, Content-Location, ETag, Last-Modified, WWW-Authenticate, X-Request-Id, X-Progress, Retry-After, Expires',
  );
  if (req.method === 'OPTIONS') {
    res.setHeader('access-control-allow-methods', 'GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS');
    res.setHeader(
      'access-control-allow-headers',
      'Authorization, Content-Type, Accept, If-Match, If-None-Match, If-None-Exist, If-Modified-Since, Prefer, X-Request-Id',
    );
    res.setHeader('access-control-max-age', '600');
  }
}

function bodyText(body: FhirBody, pretty: boolean): string {
  if ('json' in body && typeof body.json === 'string') {
    return pretty ? JSON.stringify(JSON.parse(body.json), null, 2) : body.json;
  }
  return JSON.stringify(body, null, pretty ? 2 : undefined);
}

function send(res: ServerResponse, request: FhirRequest, response: FhirResponse, requestId: string, format: WireFormat): void {
  // Patient data must not be kept by browsers or shared caches (a revoked token must not keep
  // reading from a cache); ETags still allow conditional requests.
  const headers: Record<string, string> = { 'x-request-id': requestId, 'cache-control': 'no-store', ...response.headers };
  if (response.stream) {
    sendStream(res, request, response.status, headers, response.stream);
    return;
  }
  if (response.body === undefined || response.status === 304) {
    res.writeHead(response.status, { ...headers, ...(response.status === 204 || response.status === 304 ? {} : { 'content-length': '0' }) }).end();
    return;
  }
  const pretty = request.query.get('_pretty') === 'true';
  // A response with its own Content-Type (SMART discovery, Bulk Data manifests) is not FHIR: never converted.
  const xml = format === 'xml' && headers['content-type'] === undefined;
  const text = xml ? bodyToXml(response.body, { pretty }) : bodyText(response.body, pretty);
  headers['content-type'] ??= xml ? FHIR_XML_TYPE : FHIR_JSON;
  headers['content-length'] = String(Buffer.byteLength(text));
  res.writeHead(response.status, headers);
  res.end(request.method === 'HEAD' ? undefined : text);
}

/** A streamed body: piped with backpressure; a read error mid-way cuts the connection (the length tells the client). */
function sendStream(res: ServerResponse, request: FhirRequest, status: number, headers: Record<string, string>, stream: FhirStream): void {
  headers['content-type'] = stream.contentType;
  if (stream.length !== undefined) headers['content-length'] = String(stream.length);
  res.writeHead(status, headers);
  if (request.method === 'HEAD') {
    stream.body.destroy();
    res.end();
    return;
  }
  pipeline(stream.body, res).catch(() => res.destroy());
}

function sendError(logger: Logger, req: IncomingMessage, res: ServerResponse, error: unknown, requestId: string, format: WireFormat): void {
  let status: number;
  let headers: Record<string, string> = {};
  let outcome: OperationOutcome;
  if (error instanceof FhirError) {
    status = error.status;
    headers = error.headers;
    outcome = error.toOperationOutcome();
  } else {
    status = 500;
    outcome = internalErrorOutcome(requestId);
    logger.error({ err: error, requestId, method: req.method, url: redactUrl(req.url) }, 'unexpected error in FHIR request');
  }
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const xml = format === 'xml' ? outcomeXml(outcome) : undefined;
  const body = xml ?? JSON.stringify(outcome);
  res.writeHead(status, {
    ...headers,
    'x-request-id': requestId,
    'content-type': xml ? FHIR_XML_TYPE : FHIR_JSON,
    'content-length': String(Buffer.byteLength(body)),
  });
  res.end(req.method === 'HEAD' ? undefined : body);
}

/** An error in XML; undefined (then it goes as JSON) if it quotes input that XML cannot carry. */
function outcomeXml(outcome: OperationOutcome): string | undefined {
  try {
    return resourceToXml(outcome);
  } catch {
    return undefined;
  }
}

const LOCATION_RESOURCE = new RegExp(`\\/(${RESOURCE_TYPE_NAME}\\/${FHIR_ID})\\/_history\\/`);

/** The resource a write touched, from its Location/Content-Location or its path. */
function writtenResource(request: FhirRequest, response: FhirResponse): { resource?: string } {
  const location = response.headers.location ?? response.headers['content-location'];
  const fromLocation = location && LOCATION_RESOURCE.exec(location)?.[1];
  if (fromLocation) return { resource: fromLocation };
  if (request.path === '') return { resource: 'Bundle' };
  return { resource: request.path.split('/').slice(0, 2).join('/') };
}

/** URLs may carry tokens in query parameters by mistake; never log their values. */
function redactUrl(url: string | undefined): string | undefined {
  return url?.replace(/([?&](?:access_token|token|code|client_secret)=)[^&]*/gi, '$1[redacted]');
}
