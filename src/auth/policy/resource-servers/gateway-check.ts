/**
 * A token check for API gateways (nginx `auth_request`, Kong, Traefik ForwardAuth, Envoy
 * ext_authz): `GET ${issuer}/gateway/check?resource=<the API's identifier>[&scope=<needed scopes>]`
 * with the client's `Authorization: Bearer` header passed through. It answers 204 when the token
 * is a live access token of this issuer for that resource and holds every needed scope, with who
 * is calling in response headers the gateway may forward; 401 (invalid_token) or 403
 * (insufficient_scope) otherwise, with the RFC 6750 challenge. The gateway, not the caller, sets
 * `resource` and `scope` (in its configuration), so a token for another API is refused.
 *
 * No client authentication: the caller presents the token itself, and learns only what that
 * token (a readable JWT) already says.
 *
 * https://nginx.org/en/docs/http/ngx_http_auth_request_module.html
 */
import express, { type Response } from 'express';
import { AccessTokenError, type AccessTokenVerifier } from '../../../access/token-verification.js';
import type { Logger } from '../../../log.js';
import { normalizeIdentifier, type ResourceServerRegistry } from './registry.js';

export const GATEWAY_CHECK_PATH = '/gateway/check';

/** Response headers a gateway can copy to the upstream request. */
export const GATEWAY_HEADERS = {
  subject: 'x-bedside-sub',
  clientId: 'x-bedside-client-id',
  scope: 'x-bedside-scope',
  fhirUser: 'x-bedside-fhir-user',
  claims: 'x-bedside-claims',
} as const;

function refuse(res: Response, realm: string, status: 400 | 401 | 403, error: string, description: string): void {
  res
    .status(status)
    .set({
      'cache-control': 'no-store',
      'www-authenticate': `Bearer realm="${realm}", error="${error}", error_description="${description.replace(/"/g, "'")}"`,
    })
    .json({ error, error_description: description });
}

export interface GatewayCheckDependencies {
  /** Verifies tokens of this issuer for any of its resource servers. */
  issuedTokens: AccessTokenVerifier;
  resourceServers: Pick<ResourceServerRegistry, 'get'>;
  fhirBaseUrl: string;
  /** Operator-configured access-token claims, forwarded to the gateway when the token has them. */
  claimNames: readonly string[];
  logger: Logger;
}

export function gatewayCheck(deps: GatewayCheckDependencies, path: string): express.Router {
  const router = express.Router();
  router.get(path, async (req, res) => {
    try {
      const resource = typeof req.query.resource === 'string' ? normalizeIdentifier(req.query.resource) : undefined;
      const known = resource && (resource.replace(/\/$/, '') === deps.fhirBaseUrl || (await deps.resourceServers.get(resource)));
      if (!resource || !known)
        return refuse(
          res,
          req.query.resource ? String(req.query.resource) : 'bedside',
          400,
          'invalid_request',
          'resource must name the FHIR API or a registered resource server',
        );
      const resourceId = resource.replace(/\/$/, '') === deps.fhirBaseUrl ? deps.fhirBaseUrl : resource;
      const match = /^Bearer +([A-Za-z0-9\-._~+/]+=*)$/i.exec(req.get('authorization') ?? '');
      if (!match) return refuse(res, resourceId, 401, 'invalid_token', 'send Authorization: Bearer <access token>');
      let verified;
      try {
        verified = await deps.issuedTokens.verify(match[1]!);
      } catch (error) {
        if (!(error instanceof AccessTokenError)) throw error;
        return refuse(res, resourceId, 401, 'invalid_token', error.message);
      }
      const audiences = typeof verified.claims.aud === 'string' ? [verified.claims.aud] : verified.claims.aud;
      if (!audiences.includes(resourceId)) return refuse(res, resourceId, 401, 'invalid_token', 'the access token is for another resource server');
      const granted = new Set((verified.claims.scope ?? '').split(' ').filter(Boolean));
      const needed = typeof req.query.scope === 'string' ? req.query.scope.split(' ').filter(Boolean) : [];
      const missing = needed.filter((s) => !granted.has(s));
      if (missing.length) return refuse(res, resourceId, 403, 'insufficient_scope', `the access token lacks ${missing.join(' ')}`);
      const claims = Object.fromEntries(deps.claimNames.filter((c) => verified.claims[c] !== undefined).map((c) => [c, verified.claims[c]]));
      res
        .status(204)
        .set({
          'cache-control': 'no-store',
          [GATEWAY_HEADERS.subject]: verified.subject,
          [GATEWAY_HEADERS.clientId]: verified.clientId,
          [GATEWAY_HEADERS.scope]: [...granted].join(' '),
          ...(verified.claims.fhirUser ? { [GATEWAY_HEADERS.fhirUser]: verified.claims.fhirUser } : {}),
          ...(Object.keys(claims).length ? { [GATEWAY_HEADERS.claims]: Buffer.from(JSON.stringify(claims)).toString('base64url') } : {}),
        })
        .end();
    } catch (error) {
      deps.logger.error({ err: error }, 'gateway check failed');
      res.status(500).json({ error: 'server_error' });
    }
  });
  return router;
}
