/**
 * JSON bodies of FHIR requests (the HTTP body, a JSON Patch carried in a Bundle's Binary): strict
 * UTF-8, a nesting limit checked before parsing, and a 400 OperationOutcome for anything else.
 * https://hl7.org/fhir/R4/json.html
 */
import { badRequest } from '../r4/errors.js';
import { decodeUtf8 } from '../text-decoding.js';

const MAX_JSON_DEPTH = 64;

/**
 * JSON.parse with a nesting limit checked first, so hostile depth cannot exhaust the stack of
 * the code that walks the result. `what` names the body in messages.
 */
export function parseJson(raw: Uint8Array | string, what = 'The request body'): unknown {
  const text = typeof raw === 'string' ? raw : decodeUtf8(raw, badRequest, what);
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92)
        i++; // backslash: skip the escaped character
      else if (c === 34) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 123 || c === 91) {
      if (++depth > MAX_JSON_DEPTH) throw badRequest(`${what} is JSON nested deeper than ${MAX_JSON_DEPTH} levels`);
    } else if (c === 125 || c === 93) depth--;
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw badRequest(`${what} is not valid JSON: ${(error as Error).message.slice(0, 200)}`);
  }
}
