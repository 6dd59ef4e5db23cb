/**
 * Structured logging with pino. Secrets never reach the log: authorization headers, cookies,
 * passwords, tokens and client secrets are redacted wherever they appear in a logged object.
 */
import { pino, type Logger } from 'pino';

export type { Logger };

/** Credential field names, redacted at the top level and one level down (test/integration/security/log-redaction.test.ts). */
const SECRET_FIELDS = ['password', 'client_secret', 'clientSecret', 'access_token', 'refresh_token', 'id_token', 'registration_access_token', 'assertion', 'client_assertion', 'code', 'code_verifier', 'csrf', 'xsrf'];

const REDACT = [
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
  'headers.cookie',
  'headers["set-cookie"]',
  'res.headers["set-cookie"]',
  ...SECRET_FIELDS,
  ...SECRET_FIELDS.map((field) => `*.${field}`),
];

type DetailedError = Error & { error_description?: unknown; error_detail?: unknown };

/**
 * The reasons of an error and its causes, outermost first, as one line for a log field
 * ("client authentication failed: client JSON Web Key Set failed to be refreshed: fetch failed:
 * 127.0.0.1 is not a public address ..."). oidc-provider's errors carry their text in
 * `error_detail` (unless it only repeats the cause's message) or `error_description`, others in
 * `message`.
 */
export function errorReasons(error: unknown): string {
  const reasons: string[] = [];
  for (let e = error, depth = 0; e instanceof Error && depth < 6; e = e.cause, depth++) {
    const { error_detail: detail, error_description: description } = e as DetailedError;
    const ownDetail = typeof detail === 'string' && detail && !(e.cause instanceof Error && e.cause.message === detail) ? detail : undefined;
    const text = ownDetail ?? (typeof description === 'string' && description ? description : e.message);
    if (text && !reasons.includes(text)) reasons.push(text);
  }
  return reasons.join(': ');
}

export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  return pino(
    {
      level,
      base: { service: 'bedside' },
      redact: { paths: REDACT, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination as never,
  );
}
