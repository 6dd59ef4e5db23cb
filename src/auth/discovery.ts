/**
 * SMART discovery for the FHIR API: `/fhir/.well-known/smart-configuration` (a public route of the
 * FHIR handler, CORS `*`) and the CapabilityStatement's security section, both from the same
 * endpoint URLs (smart/smart-configuration.ts).
 *
 * https://hl7.org/fhir/smart-app-launch/STU2.2/conformance.html
 */
import type { CapabilityStatementRestSecurity } from 'fhir/r4';
import type { Config } from '../config.js';
import type { Route } from '../fhir/api.js';
import { buildSmartConfiguration, buildSmartSecurity, SCOPES_SUPPORTED, SMART_CAPABILITIES, type SmartCapability } from '../smart/smart-configuration.js';
import { cookiesCanBeSecure, smartEndpoints } from './endpoints.js';
import { JWT_BEARER_GRANT } from './provider/hooks/jwt-bearer-grant.js';
import { CLIENT_ASSERTION_ALGS, CLIENT_AUTH_METHODS } from './provider/configuration.js';

/** Capabilities this configuration really offers (authorize-post needs Secure cookies, see secure-cookies.ts). */
export function advertisedCapabilities(secureCookies: boolean): SmartCapability[] {
  return SMART_CAPABILITIES.filter((c) => c !== 'authorize-post' || secureCookies);
}

export function smartConfiguration(config: Config, secureCookies: boolean): Record<string, unknown> {
  return buildSmartConfiguration({
    endpoints: smartEndpoints(config),
    capabilities: advertisedCapabilities(secureCookies),
    scopesSupported: SCOPES_SUPPORTED,
    grantTypesSupported: ['authorization_code', 'refresh_token', 'client_credentials', ...(config.jwtBearerIssuers.length ? [JWT_BEARER_GRANT] : [])],
    tokenEndpointAuthMethods: CLIENT_AUTH_METHODS,
    tokenEndpointAuthSigningAlgs: CLIENT_ASSERTION_ALGS,
  });
}

/** The CapabilityStatement `rest.security` (oauth-uris), same URLs as smart-configuration. */
export function smartSecurity(config: Config): CapabilityStatementRestSecurity {
  return buildSmartSecurity(smartEndpoints(config));
}

export const SMART_CONFIGURATION_PATH = '/.well-known/smart-configuration';

/** The routes the authorization server adds to the FHIR API. */
export function smartFhirRoutes(config: Config): Route[] {
  return [smartConfigurationRoute(config, cookiesCanBeSecure(config))];
}

/** The FHIR API route serving smart-configuration (public: no token needed). */
export function smartConfigurationRoute(config: Config, secureCookies: boolean): Route {
  const json = JSON.stringify(smartConfiguration(config, secureCookies));
  return {
    method: 'GET',
    path: SMART_CONFIGURATION_PATH,
    public: true,
    anyAccept: true,
    handler: async () => ({
      status: 200,
      headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'public, max-age=300' },
      body: { json },
    }),
  };
}
