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
