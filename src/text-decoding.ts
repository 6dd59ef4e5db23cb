/**
 * Strict decoding of the bytes a client sends as text: request bodies, query strings, paths and
 * header values. Node's defaults are lossy (`Buffer#toString`, `URLSearchParams` and
 * `querystring` replace a malformed sequence by U+FFFD without a word), so what the client sent
 * would be silently altered before it is stored or searched for. Here a malformed sequence is
 * refused instead, through the caller's `fail`, so each protocol answers in its own vocabulary
 * (a FHIR OperationOutcome, an OAuth `invalid_request`).
 *
 * UTF-8: https://www.rfc-editor.org/rfc/rfc3629 (overlong forms, surrogates and bytes that never
 * occur are invalid); percent-encoding: https://www.rfc-editor.org/rfc/rfc3986#section-2.1 and
 * https://url.spec.whatwg.org/#application/x-www-form-urlencoded
 */

/** Builds the error thrown for malformed input, in the caller's protocol. */
export type Fail = (message: string) => Error;

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Bytes as UTF-8 text (a leading byte order mark is dropped); `what` names them in the message. */
export function decodeUtf8(bytes: Uint8Array, fail: Fail, what = 'The request body'): string {
  try {
    return utf8.decode(bytes);
  } catch {
    throw fail(`${what} is not valid UTF-8 (${describeInvalid(bytes)})`);
  }
}

/** `decodeURIComponent`, refusing bad escapes and escapes that do not spell UTF-8. */
export function decodePercent(text: string, fail: Fail, what: string): string {
  if (!text.includes('%')) return text;
  try {
    return decodeURIComponent(text);
  } catch {
    throw fail(`${what} is not valid percent-encoded UTF-8 (at "${firstBadEscape(text)}")`);
  }
}

/**
 * An `application/x-www-form-urlencoded` string (a query string or a form body) as
 * URLSearchParams, like `new URLSearchParams(text)` but refusing malformed percent-encoding.
 */
export function parseQuery(text: string, fail: Fail, what = 'The query string'): URLSearchParams {
  const params = new URLSearchParams();
  const source = text.startsWith('?') ? text.slice(1) : text;
  if (source === '') return params;
  for (const pair of source.split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const name = eq < 0 ? pair : pair.slice(0, eq);
    const value = eq < 0 ? '' : pair.slice(eq + 1);
    params.append(decodePercent(name.replaceAll('+', ' '), fail, what), decodePercent(value.replaceAll('+', ' '), fail, what));
  }
  return params;
}

/**
 * A header value as UTF-8 text. Node reads header bytes as Latin-1, one character per byte;
 * a header that carries text (such as a query in If-None-Exist) is re-read as UTF-8.
 */
export function headerText(value: string, fail: Fail, what: string): string {
  if (/^[\x00-\x7f]*$/.test(value)) return value;
  return decodeUtf8(Buffer.from(value, 'latin1'), fail, what);
}

/** Where the first invalid sequence starts, for the message (`byte 0xFF at offset 12`). */
function describeInvalid(bytes: Uint8Array): string {
  for (let i = 0; i < bytes.length; ) {
    const length = sequenceLength(bytes, i);
    if (length === 0) return `byte 0x${bytes[i]!.toString(16).toUpperCase().padStart(2, '0')} at offset ${i}`;
    i += length;
  }
  return 'truncated sequence at the end';
}

/** The length of the valid UTF-8 sequence at `i`, or 0 (RFC 3629 §4 syntax). */
function sequenceLength(b: Uint8Array, i: number): number {
  const c = b[i]!;
  const cont = (j: number, lo = 0x80, hi = 0xbf) => j < b.length && b[j]! >= lo && b[j]! <= hi;
  if (c < 0x80) return 1;
  if (c >= 0xc2 && c <= 0xdf) return cont(i + 1) ? 2 : 0;
  if (c === 0xe0) return cont(i + 1, 0xa0) && cont(i + 2) ? 3 : 0;
  if ((c >= 0xe1 && c <= 0xec) || c === 0xee || c === 0xef) return cont(i + 1) && cont(i + 2) ? 3 : 0;
  if (c === 0xed) return cont(i + 1, 0x80, 0x9f) && cont(i + 2) ? 3 : 0;
  if (c === 0xf0) return cont(i + 1, 0x90) && cont(i + 2) && cont(i + 3) ? 4 : 0;
  if (c >= 0xf1 && c <= 0xf3) return cont(i + 1) && cont(i + 2) && cont(i + 3) ? 4 : 0;
  if (c === 0xf4) return cont(i + 1, 0x80, 0x8f) && cont(i + 2) && cont(i + 3) ? 4 : 0;
  return 0;
}

/** The first run of escapes (or lone `%`) that does not decode. */
function firstBadEscape(text: string): string {
  for (const [run] of text.matchAll(/(?:%[0-9A-Fa-f]{2})+|%.{0,2}/gs)) {
    try {
      decodeURIComponent(run);
    } catch {
      return run.slice(0, 24);
    }
  }
  return text.slice(0, 24);
}
