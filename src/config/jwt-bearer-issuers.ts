/**
 * Issuers trusted for the RFC 7523 JWT bearer grant (JWT_BEARER_ISSUERS): each with its public
 * keys inline (a JWKS) or where to fetch them, which the outbound-fetch policy must allow.
 *
 * https://www.rfc-editor.org/rfc/rfc7523#section-3
 */
import { z } from 'zod';
import { parseArraySetting } from './json-array.js';

/** An issuer whose signed assertions Bedside accepts for the RFC 7523 JWT bearer grant. */
export interface TrustedAssertionIssuer {
  issuer: string;
  /** Its public keys, inline (a JWKS) ... */
  jwks?: { keys: Array<Record<string, unknown>> };
  /** ... or where to fetch them. */
  jwksUri?: string;
}

const SHAPE = '{"issuer": "...", "jwks": {"keys": [...]}} or {"issuer": "...", "jwksUri": "https://..."}';

const trustedIssuer = z
  .object({
    issuer: z.string(),
    jwks: z.object({ keys: z.array(z.record(z.string(), z.unknown())) }).optional(),
    jwksUri: z
      .string()
      .regex(/^https?:\/\//)
      .optional(),
  })
  .refine((i) => i.jwks !== undefined || i.jwksUri !== undefined)
  .transform((i): TrustedAssertionIssuer => ({ issuer: i.issuer, ...(i.jwks ? { jwks: i.jwks } : {}), ...(i.jwksUri ? { jwksUri: i.jwksUri } : {}) }));

/**
 * Parses JWT_BEARER_ISSUERS (a JSON array); every problem is pushed to `problems`. A malformed
 * element is reported once for the whole variable (the shape is the fix); a `jwksUri` the server
 * would never fetch (`fetchRefusal` says why) is reported per element.
 */
export function parseJwtBearerIssuers(
  raw: string | undefined,
  problems: string[],
  fetchRefusal: (url: string) => string | undefined,
): TrustedAssertionIssuer[] {
  const before = problems.length;
  const issuers = parseArraySetting(
    { name: 'JWT_BEARER_ISSUERS', shape: SHAPE, element: trustedIssuer, wording: () => `JWT_BEARER_ISSUERS must be a JSON array of ${SHAPE}` },
    raw,
    problems,
  );
  if (problems.length > before) return [];
  const valid = issuers.filter((i): i is TrustedAssertionIssuer => i !== undefined);
  valid.forEach((issuer, index) => {
    const reason = issuer.jwksUri ? fetchRefusal(issuer.jwksUri) : undefined;
    if (reason) problems.push(`JWT_BEARER_ISSUERS[${index}].jwksUri will not be fetched: ${reason}`);
  });
  return valid;
}
