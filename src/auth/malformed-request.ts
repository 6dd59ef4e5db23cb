/**
 * How the authorization server, its pages and the launcher API refuse a request whose bytes do
 * not decode (http/strict-input.ts): OAuth's `invalid_request`, as JSON for clients
 * (RFC 6749 §5.2) or as the error page for a browser.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { MalformedRequest } from '../http/strict-input.js';
import { errorPage } from '../html/error-page.js';

export function refuseMalformedRequest(req: IncomingMessage, res: ServerResponse, error: MalformedRequest): void {
  const browser = /\btext\/html\b/.test(req.headers.accept ?? '');
  const body = browser
    ? errorPage({ error: 'invalid_request', description: error.message })
    : JSON.stringify({ error: 'invalid_request', error_description: error.message });
  res.writeHead(error.status, {
    'content-type': browser ? 'text/html; charset=utf-8' : 'application/json; charset=utf-8',
    'content-length': String(Buffer.byteLength(body)),
    'cache-control': 'no-store',
    // The unread rest of an oversized body would otherwise be taken for the next request.
    ...(error.status === 413 ? { connection: 'close' } : {}),
  });
  res.end(req.method === 'HEAD' ? undefined : body);
}
