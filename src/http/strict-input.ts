/**
 * Strict input for the parts of Bedside that parse requests themselves: oidc-provider (koa,
 * `node:querystring`) and the express pages and APIs (body-parser). Both decode lossily, turning
 * malformed UTF-8 into U+FFFD, so a client's parameters (a registered client's name, a launch's
 * intent, a username) could be stored altered. This listener wrapper checks first, then hands on
 * the request: the URL's path and query must be valid percent-encoded UTF-8, and a text body
 * (form, JSON, `text/*`) valid UTF-8 and, for forms, valid percent-encoding. A body is read here
 * and replayed to the next handler as a fresh request carrying the same bytes, so the parsers
 * behind work exactly as before.
 */
import { IncomingMessage, type ServerResponse } from 'node:http';
import { decodePercent, decodeUtf8, parseQuery, type Fail } from '../text-decoding.js';

type Listener = (req: IncomingMessage, res: ServerResponse) => void;

/** A request refused before any handler saw it. */
export class MalformedRequest extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'MalformedRequest';
  }
}

export interface StrictInputOptions {
  /** Largest text body read ahead (the largest any handler behind accepts). */
  maxBodyBytes: number;
  /** Answers a refused request in the protocol of the handlers behind. */
  refuse(req: IncomingMessage, res: ServerResponse, error: MalformedRequest): void;
}

const malformed: Fail = (message) => new MalformedRequest(400, message);

/** Wraps `next` so that it only sees requests whose text decodes strictly. */
export function strictInput(options: StrictInputOptions, next: Listener): Listener {
  return (req, res) => {
    checked(req, options.maxBodyBytes).then(
      (request) => next(request, res),
      (error: unknown) => {
        if (error instanceof MalformedRequest) {
          options.refuse(req, res, error);
          // What the client still sends is drained, so the connection can be reused.
          req.resume();
        } else {
          res.destroy();
        }
      },
    );
  };
}

async function checked(req: IncomingMessage, maxBodyBytes: number): Promise<IncomingMessage> {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  decodePercent(q < 0 ? url : url.slice(0, q), malformed, 'The URL path');
  if (q >= 0) parseQuery(url.slice(q + 1), malformed);
  const kind = textKind(req.headers['content-type']);
  if (!kind || !hasBody(req)) return req;
  const body = await readBody(req, maxBodyBytes);
  const text = decodeUtf8(body, malformed);
  if (kind === 'form') parseQuery(text, malformed, 'The form body');
  return replay(req, body);
}

function textKind(contentType: string | undefined): 'form' | 'text' | undefined {
  const type = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  if (type === 'application/x-www-form-urlencoded') return 'form';
  if (type === 'application/json' || type.endsWith('+json') || type.startsWith('text/')) return 'text';
  return undefined;
}

function hasBody(req: IncomingMessage): boolean {
  return req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
}

function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = Number(req.headers['content-length'] ?? 0);
    if (size > limit) return reject(new MalformedRequest(413, `The request body exceeds ${limit} bytes`));
    size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.removeAllListeners('data');
        reject(new MalformedRequest(413, `The request body exceeds ${limit} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    req.once('end', () => resolve(Buffer.concat(chunks, size)));
    req.once('error', reject);
  });
}

/** A fresh request on the same connection, with the same head and the body already read. */
function replay(req: IncomingMessage, body: Buffer): IncomingMessage {
  const copy = new IncomingMessage(req.socket);
  copy.httpVersionMajor = req.httpVersionMajor;
  copy.httpVersionMinor = req.httpVersionMinor;
  copy.httpVersion = req.httpVersion;
  copy.method = req.method;
  copy.url = req.url;
  copy.headers = req.headers;
  copy.rawHeaders = req.rawHeaders;
  copy.complete = true;
  copy.push(body);
  copy.push(null);
  return copy;
}
