/**
 * A second, independent OpenID provider on loopback, set up the way an organisation's identity
 * provider would be for Bedside: another oidc-provider instance with Bedside registered as a
 * confidential client (client_secret_basic, PKCE), its own users and passwords, a sign-in page,
 * implied consent (the organisation's own relying party), and a `department` claim under
 * `profile`. Its id_tokens carry only `sub` (the OpenID default), so Bedside has to read the
 * other claims from its userinfo endpoint.
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair } from 'jose';
import Provider, { type KoaContextWithOIDC } from 'oidc-provider';

export interface CorporateUser {
  password: string;
  claims: Record<string, unknown>;
}

export interface CorporateClient {
  clientId: string;
  clientSecret: string;
  redirectUris: string[];
}

export interface CorporateIdp {
  issuer: string;
  provider: Provider;
  /** Every authorization request Bedside sent here (query parameters). */
  authorizationRequests: URLSearchParams[];
  stop(): Promise<void>;
}

function escape(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

async function readForm(req: http.IncomingMessage): Promise<URLSearchParams> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

export async function startCorporateIdp(options: { port: number; users: Record<string, CorporateUser>; clients: CorporateClient[] }): Promise<CorporateIdp> {
  const issuer = `http://127.0.0.1:${options.port}`;
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const authorizationRequests: URLSearchParams[] = [];
  const bySub = new Map(Object.values(options.users).map((u) => [String(u.claims.sub), u]));
  const provider = new Provider(issuer, {
    clients: options.clients.map((c) => ({
      client_id: c.clientId,
      client_secret: c.clientSecret,
      redirect_uris: c.redirectUris,
      grant_types: ['authorization_code'],
      response_types: ['code'],
    })),
    jwks: { keys: [{ ...(await exportJWK(privateKey)), kid: 'corp-1', alg: 'RS256', use: 'sig' }] },
    cookies: { keys: [randomBytes(16).toString('hex')] },
    claims: { openid: ['sub'], profile: ['name', 'given_name', 'family_name', 'preferred_username', 'department'], email: ['email', 'email_verified'] },
    findAccount: (_ctx: KoaContextWithOIDC, sub: string) => {
      const user = bySub.get(sub);
      return user ? { accountId: sub, claims: () => ({ ...user.claims, sub }) } : undefined;
    },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    features: { devInteractions: { enabled: false } },
    ttl: { AccessToken: 600, AuthorizationCode: 60, IdToken: 600, Interaction: 600, Session: 3600, Grant: 3600 },
  });

  const callback = provider.callback();
  const server = http.createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', issuer);
      if (url.pathname === '/auth') authorizationRequests.push(url.searchParams);
      const match = /^\/interaction\/([A-Za-z0-9_-]+)(?:\/(login|abort))?$/.exec(url.pathname);
      if (!match) return callback(req, res);
      const details = await provider.interactionDetails(req, res);
      const [, , step] = match;
      if (step === 'abort') {
        await provider.interactionFinished(req, res, { error: 'access_denied', error_description: 'the user cancelled' }, { mergeWithLastSubmission: false });
        return;
      }
      if (step === 'login' && req.method === 'POST') {
        const form = await readForm(req);
        const user = options.users[form.get('username') ?? ''];
        if (user && user.password === form.get('password')) {
          await provider.interactionFinished(req, res, { login: { accountId: String(user.claims.sub) } }, { mergeWithLastSubmission: false });
          return;
        }
      }
      if (details.prompt.name === 'consent') {
        // The organisation's own relying party: consent is implied.
        const grant = details.grantId
          ? (await provider.Grant.find(details.grantId))!
          : new provider.Grant({ accountId: details.session!.accountId, clientId: String(details.params.client_id) });
        grant.addOIDCScope(String(details.params.scope));
        await provider.interactionFinished(req, res, { consent: { grantId: await grant.save() } }, { mergeWithLastSubmission: true });
        return;
      }
      res.writeHead(step === 'login' ? 401 : 200, { 'content-type': 'text/html; charset=utf-8' }).end(`<!doctype html><title>Contoso sign-in</title>
<h1>Contoso sign-in</h1>${step === 'login' ? '<p>Wrong user name or password.</p>' : ''}
<form method="post" action="/interaction/${escape(details.uid)}/login"><input name="username"><input name="password" type="password"><button>Sign in</button></form>
<form method="post" action="/interaction/${escape(details.uid)}/abort"><button>Cancel</button></form>`);
    })().catch((error: unknown) => {
      res.writeHead(500).end(String(error));
    });
  });
  await new Promise<void>((resolve) => server.listen(options.port, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  if (port !== options.port) throw new Error('port mismatch');
  return {
    issuer,
    provider,
    authorizationRequests,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
