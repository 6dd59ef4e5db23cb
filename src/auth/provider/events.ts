/**
 * What the provider's error events write to the log. A client that is refused (`invalid_client`:
 * unknown, wrong secret, a bad assertion, keys that cannot be fetched ...) gets a warning with the
 * client_id it claimed and the reason, so an operator can answer "why is my client rejected?"
 * without turning on debug logs; the client itself only ever sees "client authentication failed".
 * No credential is logged: the client_id is read from where the client put it, the reason from
 * the error and its causes. Other OAuth errors are the clients' business and stay at debug level.
 *
 * https://github.com/panva/node-oidc-provider/blob/main/docs/events.md
 * https://www.rfc-editor.org/rfc/rfc6749#section-5.2 (invalid_client)
 */
import { decodeJwt } from 'jose';
import type { KoaContextWithOIDC, Provider } from 'oidc-provider';
import { errorReasons, type Logger } from '../../log.js';

/** The provider's events for a failed request, one per endpoint Bedside enables. */
const ERROR_EVENTS = [
  'authorization.error',
  'grant.error',
  'introspection.error',
  'revocation.error',
  'pushed_authorization_request.error',
  'userinfo.error',
  'end_session.error',
  'registration_create.error',
  'registration_read.error',
  'registration_update.error',
  'registration_delete.error',
] as const;

type OAuthError = Error & { error?: string; error_description?: string; error_detail?: string };

/** How the client tried to authenticate, and the client_id it claimed (never a secret). */
function presented(ctx: KoaContextWithOIDC): { method: string; clientId?: string } {
  const params = (ctx.oidc?.params ?? {}) as Record<string, unknown>;
  const fromParams = typeof params.client_id === 'string' ? params.client_id : undefined;
  if (typeof params.client_assertion === 'string') {
    let sub: unknown;
    try {
      sub = decodeJwt(params.client_assertion).sub;
    } catch {
      // An assertion that is not a JWT names nobody.
    }
    return { method: 'client_assertion', clientId: fromParams ?? (typeof sub === 'string' ? sub : undefined) };
  }
  if (typeof params.client_secret === 'string') return { method: 'client_secret_post', ...(fromParams ? { clientId: fromParams } : {}) };
  const [scheme, value] = (ctx.headers.authorization ?? '').split(' ');
  if (scheme?.toLowerCase() === 'basic' && value) {
    // Only the part before the colon (the client_id); the secret after it is never read.
    const basic = Buffer.from(value, 'base64').toString('utf8');
    const colon = basic.indexOf(':');
    let clientId: string | undefined;
    try {
      clientId = colon > 0 ? decodeURIComponent(basic.slice(0, colon).replace(/\+/g, '%20')) : undefined;
    } catch {
      clientId = undefined;
    }
    return { method: 'client_secret_basic', ...(clientId ? { clientId } : {}) };
  }
  return { method: 'none', ...(fromParams ? { clientId: fromParams } : {}) };
}

/** Subscribes the log to the provider's error events. */
export function logProviderEvents(provider: Provider, logger: Logger): void {
  provider.on('server_error', (_ctx, error) => logger.error({ err: error }, 'authorization server error'));
  const emitter = provider as unknown as NodeJS.EventEmitter;
  for (const event of ERROR_EVENTS) {
    emitter.on(event, (ctx: KoaContextWithOIDC, error: OAuthError) => {
      if (error?.error !== 'invalid_client') {
        logger.debug({ err: error, event }, 'oauth error');
        return;
      }
      // The provider emits from its error handler: a throw here would replace the answer.
      let who: ReturnType<typeof presented> = { method: 'unknown' };
      try {
        who = presented(ctx);
      } catch {
        // Logged without what the request claimed.
      }
      const client = ctx.oidc?.client;
      logger.warn(
        {
          event,
          client_id: client?.clientId ?? who.clientId ?? null,
          presented: who.method,
          ...(client ? { registered: client.clientAuthMethod } : {}),
          reason: errorReasons(error),
        },
        'client authentication failed',
      );
    });
  }
}
