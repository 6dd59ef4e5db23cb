/**
 * The registered clients, as the launcher's "pick an existing client" list shows them: public
 * registration metadata only (never a secret), as the authorization server has them registered.
 * Registering goes through the real RFC 7591 endpoint, from the launcher page itself.
 */

export interface ClientSummary {
  client_id: string;
  client_name?: string;
  token_endpoint_auth_method: string;
  grant_types: string[];
  redirect_uris: string[];
  /** The registered scope: the cap on what the client may ever be granted. */
  scope?: string;
  /** Whether the client registered public keys (private_key_jwt). */
  has_jwks: boolean;
}

/** First-party clients of Bedside's own pages, not for launching. */
const HIDDEN = new Set(['bedside-account']);
const LIMIT = 200;

/** `registered(limit)`: the clients' RFC 7591 metadata as registered (the authorization server's). */
export async function listClients(registered: (limit: number) => Promise<Array<Record<string, unknown>>>): Promise<ClientSummary[]> {
  const strings = (value: unknown): string[] => (Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : []);
  return (await registered(LIMIT))
    .filter((c) => typeof c.client_id === 'string' && !HIDDEN.has(c.client_id))
    .map((c) => ({
      client_id: c.client_id as string,
      ...(typeof c.client_name === 'string' ? { client_name: c.client_name } : {}),
      token_endpoint_auth_method: typeof c.token_endpoint_auth_method === 'string' ? c.token_endpoint_auth_method : 'client_secret_basic',
      grant_types: strings(c.grant_types).length ? strings(c.grant_types) : ['authorization_code'],
      redirect_uris: strings(c.redirect_uris),
      ...(typeof c.scope === 'string' ? { scope: c.scope } : {}),
      has_jwks: Boolean(c.jwks || c.jwks_uri),
    }));
}
