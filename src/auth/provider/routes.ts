/**
 * Bedside's additions to oidc-provider's endpoints, as one table: which middleware wraps which of
 * the provider's routes (paths below the issuer). Each middleware is written for its route alone
 * and runs around the provider's own handling (its documented pre- and post-middleware); a
 * request to any other path meets only the cookie rule, which holds everywhere.
 *
 * https://github.com/panva/node-oidc-provider/tree/main/docs#pre--and-post-middlewares
 */
import type { Middleware } from 'koa';
import type { Provider } from 'oidc-provider';
import { ROUTES } from '../endpoints.js';
import type { LaunchContexts } from '../launch/contexts.js';
import { smartIntrospection, type IntrospectionDependencies } from './middleware/introspection.js';
import { refusePasswordGrant } from './middleware/password-grant.js';
import { registeredScopeAsScope } from './middleware/registration-scope.js';
import { jwtRevocation, type RevocationDependencies } from './middleware/revocation.js';
import { secureCookies } from './middleware/secure-cookies.js';
import { smartTokenResponse } from './middleware/token-response.js';
import { jwtUserinfo, type UserinfoDependencies } from './middleware/userinfo.js';

export interface RouteMiddlewareDependencies {
  /** Whether cookies are marked Secure (https BASE_URL, or a loopback secure context). */
  secureCookies: boolean;
  launches: Pick<LaunchContexts, 'forGrant'>;
  introspection: IntrospectionDependencies;
  revocation: RevocationDependencies;
  userinfo: UserinfoDependencies;
}

interface Route {
  path: string;
  /** Also for the paths below it (`/register/<client_id>`). */
  below?: boolean;
  /** Outermost first. */
  middleware: Middleware[];
}

/** Runs `middleware` in order around `next`, as koa does for the middleware of an app. */
function chain(middleware: readonly Middleware[]): Middleware {
  return (ctx, next) => {
    const run = (i: number): Promise<unknown> => (i === middleware.length ? next() : Promise.resolve(middleware[i]!(ctx, () => run(i + 1))));
    return run(0);
  };
}

/** One middleware that hands each request to the middleware of its route, or straight on. */
function byRoute(routes: readonly Route[]): Middleware {
  const exact = new Map(routes.map((r) => [r.path, chain(r.middleware)]));
  const below = routes.filter((r) => r.below).map((r) => [`${r.path}/`, exact.get(r.path)!] as const);
  return (ctx, next) => {
    const route = exact.get(ctx.path) ?? below.find(([prefix]) => ctx.path.startsWith(prefix))?.[1];
    return route ? route(ctx, next) : next();
  };
}

/** The middleware to `use` on a provider: the cookie rule, then the route table. */
export function providerMiddleware(deps: RouteMiddlewareDependencies, provider: () => Provider): Middleware[] {
  const routes: Route[] = [
    { path: ROUTES.token, middleware: [refusePasswordGrant(), smartTokenResponse(deps.launches)] },
    { path: ROUTES.introspection, middleware: [smartIntrospection(deps.introspection, provider)] },
    { path: ROUTES.revocation, middleware: [jwtRevocation(deps.revocation)] },
    { path: ROUTES.userinfo, middleware: [jwtUserinfo(deps.userinfo, provider)] },
    { path: ROUTES.registration, below: true, middleware: [registeredScopeAsScope()] },
  ];
  return [secureCookies(deps.secureCookies), byRoute(routes)];
}
