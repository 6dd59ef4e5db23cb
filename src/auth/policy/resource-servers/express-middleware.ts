/**
 * Protecting an existing express service with Bedside's access tokens (docs/oidc.md prints this
 * file; test/integration/oidc checks that the two stay the same). It needs only `jose`.
 *
 * The token is a JWT (RFC 9068) signed ES256 with a key from Bedside's JWKS; its `aud` must be
 * this service's URL as registered at Bedside, and it must hold the scopes the route needs.
 * Verifying offline is fast but does not see revocations before the token expires; pass
 * `introspection` (a confidential client's credentials) to ask Bedside on every request instead.
 *
 * https://www.rfc-editor.org/rfc/rfc9068  https://www.rfc-editor.org/rfc/rfc6750#section-3
 */
import { createRemoteJWKSet, jwtVerify, type JWTPayload } from 'jose';
import type { NextFunction, Request, RequestHandler, Response } from 'express';

export interface BedsideTokenOptions {
  /** Bedside's issuer, e.g. https://bedside.example.org/oauth */
  issuer: string;
  /** This service's identifier as registered at Bedside (the token's `aud`). */
  audience: string;
  /** Scopes every request must hold. */
  scopes?: string[];
  /** Ask Bedside whether the token is still active (sees revocations at once). */
  introspection?: { clientId: string; clientSecret: string };
}

/** What the handlers find in `res.locals.bedside`. */
export interface BedsideToken {
  claims: JWTPayload & { scope?: string; client_id?: string; fhirUser?: string };
  scopes: Set<string>;
}

export function requireBedsideToken(options: BedsideTokenOptions): RequestHandler {
  const jwks = createRemoteJWKSet(new URL(`${options.issuer}/jwks`));
  const realm = options.audience;
  const refuse = (res: Response, status: 401 | 403, error: string, description: string) => {
    const scope = status === 403 ? `, scope="${(options.scopes ?? []).join(' ')}"` : '';
    res
      .status(status)
      .set('www-authenticate', `Bearer realm="${realm}", error="${error}", error_description="${description}"${scope}`)
      .json({ error, error_description: description });
  };

  async function active(token: string): Promise<boolean> {
    const { clientId, clientSecret } = options.introspection!;
    const response = await fetch(`${options.issuer}/introspect`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(clientSecret)}`).toString('base64')}`,
      },
      body: new URLSearchParams({ token }),
    });
    return response.ok && ((await response.json()) as { active?: boolean }).active === true;
  }

  return async (req: Request, res: Response, next: NextFunction) => {
    const match = /^Bearer +([A-Za-z0-9\-._~+/]+=*)$/i.exec(req.get('authorization') ?? '');
    if (!match) return refuse(res, 401, 'invalid_token', 'send Authorization: Bearer <access token>');
    let claims: BedsideToken['claims'];
    try {
      ({ payload: claims } = await jwtVerify(match[1]!, jwks, { issuer: options.issuer, audience: options.audience, algorithms: ['ES256'], typ: 'at+jwt' }));
    } catch {
      return refuse(res, 401, 'invalid_token', 'the access token is invalid, expired or not meant for this service');
    }
    const scopes = new Set(
      String(claims.scope ?? '')
        .split(' ')
        .filter(Boolean),
    );
    const missing = (options.scopes ?? []).filter((s) => !scopes.has(s));
    if (missing.length) return refuse(res, 403, 'insufficient_scope', `the access token lacks ${missing.join(' ')}`);
    try {
      if (options.introspection && !(await active(match[1]!))) return refuse(res, 401, 'invalid_token', 'the access token has been revoked');
    } catch (error) {
      return next(error);
    }
    res.locals.bedside = { claims, scopes } satisfies BedsideToken;
    next();
  };
}
