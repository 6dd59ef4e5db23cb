/**
 * Structured logging with pino. Secrets never reach the log: authorization headers, cookies,
 * passwords, tokens and client secrets are redacted wherever they appear in a logged object.
 *
 * Two formats (LOG_FORMAT): JSON lines for machines (log collectors, `docker logs` piped on), and
 * readable lines for a person at a terminal, through pino-pretty in this process (redaction
 * happens before either).
 */
import { createRequire } from 'node:module';
import { pino, type DestinationStream, type Logger } from 'pino';
import type PinoPretty from 'pino-pretty';

export type { Logger };

/** `json`: one JSON object a line; `pretty`: readable, coloured when the terminal supports it. */
export type LogFormat = 'json' | 'pretty';

/** Credential field names, redacted at the top level and one level down (test/integration/security/log-redaction.test.ts). */
const SECRET_FIELDS = [
  'password',
  'client_secret',
  'clientSecret',
  'access_token',
  'refresh_token',
  'id_token',
  'registration_access_token',
  'assertion',
  'client_assertion',
  'code',
  'code_verifier',
  'csrf',
  'xsrf',
];

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

/** LOG_FORMAT's `auto`: readable lines for a person at a terminal, JSON for everything else. */
export function resolveLogFormat(setting: LogFormat | 'auto', isTerminal: boolean): LogFormat {
  return setting === 'auto' ? (isTerminal ? 'pretty' : 'json') : setting;
}

/** pino-pretty, loaded only when asked for: JSON logging (servers, containers) does without it. */
function prettyStream(): typeof PinoPretty {
  return createRequire(import.meta.url)('pino-pretty') as typeof PinoPretty;
}

export interface LoggerOptions {
  /** Default `json`. */
  format?: LogFormat;
  /** Where lines go; default standard output. */
  destination?: NodeJS.WritableStream;
}

/** `options` may also be just the destination stream. */
export function createLogger(level: string, options: LoggerOptions | NodeJS.WritableStream = {}): Logger {
  const { format = 'json', destination } = 'write' in options ? { destination: options } : options;
  const stream: DestinationStream | undefined =
    format === 'pretty'
      ? // Synchronous, so the last lines before an exit (a start-up failure, "stopped") are not lost.
        prettyStream()({ translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,service', sync: true, ...(destination ? { destination } : {}) })
      : (destination as DestinationStream | undefined);
  return pino(
    {
      level,
      base: { service: 'bedside' },
      redact: { paths: REDACT, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    stream as DestinationStream,
  );
}
