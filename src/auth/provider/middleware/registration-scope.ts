/**
 * Registration responses show the client's `scope` exactly as registered (RFC 7591 §3.2.1),
 * although it is kept under another property name internally (see policy/clients.ts).
 */
import type { Middleware } from 'koa';
import { asRegistered, REGISTERED_SCOPE } from '../../policy/scopes.js';

const REGISTRATION_ROUTES = new Set(['registration', 'client', 'client_update']);

/** The registration endpoints' middleware (provider/routes.ts mounts it there). */
export function registeredScopeAsScope(): Middleware {
  return async (ctx, next) => {
    await next();
    const route = (ctx as unknown as { oidc?: { route?: string } }).oidc?.route;
    if (!route || !REGISTRATION_ROUTES.has(route)) return;
    const body = ctx.body as Record<string, unknown> | undefined;
    if (!body || typeof body !== 'object' || !(REGISTERED_SCOPE in body)) return;
    ctx.body = asRegistered(body);
  };
}
