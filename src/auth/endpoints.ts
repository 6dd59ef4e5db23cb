/**
 * Where the authorization server lives: the issuer (`${BASE_URL}/oauth`) and every endpoint as
 * an absolute URL built from BASE_URL, so it works behind a TLS-terminating proxy.
 * https://hl7.org/fhir/smart-app-launch/STU2.2/conformance.html#metadata
 */
import { isLoopbackHost, type Config } from '../config.js';
import type { SmartEndpoints } from '../smart/smart-configuration.js';

/** Mount path of oidc-provider inside the express app. */
export const AUTH_MOUNT = '/oauth';

/** oidc-provider routes, relative to the issuer. */
export const ROUTES = {
  authorization: '/authorize',
  token: '/token',
  introspection: '/introspect',
  revocation: '/revoke',
  registration: '/register',
  jwks: '/jwks',
  userinfo: '/userinfo',
  end_session: '/logout',
  pushed_authorization_request: '/par',
} as const;

/** Pages served next to the provider (express), relative to the issuer. */
export const PAGES = {
  interaction: '/interaction',
  connectedApps: '/account/apps',
  accountCallback: '/account/callback',
  grants: '/admin/grants',
  audit: '/admin/audit',
  adminUsers: '/admin/users',
  adminClients: '/admin/clients',
  adminResourceServers: '/admin/resource-servers',
  smartStyle: '/smart-style.json',
} as const;

/** The launcher API of docs/contract.md (absolute path on the server). */
export const LAUNCH_API_PATH = '/launcher/api/launch';

export function issuerOf(config: Config): string {
  return `${config.baseUrl}${AUTH_MOUNT}`;
}

export function smartEndpoints(config: Config): SmartEndpoints {
  const issuer = issuerOf(config);
  return {
    issuer,
    jwksUri: `${issuer}${ROUTES.jwks}`,
    authorization: `${issuer}${ROUTES.authorization}`,
    token: `${issuer}${ROUTES.token}`,
    introspection: `${issuer}${ROUTES.introspection}`,
    revocation: `${issuer}${ROUTES.revocation}`,
    registration: `${issuer}${ROUTES.registration}`,
    management: `${issuer}${PAGES.connectedApps}`,
    userinfo: `${issuer}${ROUTES.userinfo}`,
  };
}

export function smartStyleUrl(config: Config): string {
  return `${issuerOf(config)}${PAGES.smartStyle}`;
}

/** Cookies can be Secure when browsers reach Bedside over https, or on loopback (a secure context). */
export function cookiesCanBeSecure(config: Config): boolean {
  const url = new URL(config.baseUrl);
  return url.protocol === 'https:' || isLoopbackHost(url.hostname);
}
