/**
 * `bedside token`: a SMART Backend Services access token for the client in a client file, printed
 * alone on stdout so that `TOKEN=$(npx bedside token)` works in a shell.
 * https://hl7.org/fhir/smart-app-launch/STU2.2/backend-services.html#obtaining-an-access-token
 */
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { SignJWT } from 'jose';
import { loadPrivateKey, readClientFile, resolveKeyPath, type ClientFile } from './client-file.js';
import { CliError, type CliIo } from './io.js';

export const TOKEN_USAGE = `Usage: bedside token [options]

Prints an access token (client_credentials grant with a signed JWT assertion) for curl:
  export TOKEN=$(npx bedside token)
  curl -H "Authorization: Bearer $TOKEN" http://localhost:8080/fhir/Patient

  --client <file>   client file from "bedside clients add"; default bedside-client.json
  --scope <scopes>  scopes to ask for; default the client's registered scope
  --key <file>      private key (PKCS#8 PEM or JWK); default the one in the client file
  --json            print the whole token response
`;

export interface TokenResponse {
  access_token: string;
  token_type: string;
  expires_in: number;
  scope: string;
}

export async function token(argv: string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      client: { type: 'string', default: 'bedside-client.json' },
      scope: { type: 'string' },
      key: { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    io.out(TOKEN_USAGE);
    return 0;
  }
  const client = readClientFile(values.client);
  const response = await requestToken(client, keyFile(values.client, client, values.key), values.scope ?? client.scope);
  io.out(values.json ? `${JSON.stringify(response, null, 2)}\n` : `${response.access_token}\n`);
  return 0;
}

/** The private key's path: --key, else the one recorded in the client file. */
export function keyFile(clientFile: string, client: ClientFile, override: string | undefined): string {
  if (override) return override;
  if (!client.privateKey) throw new CliError(`${clientFile} records no private key (the client was registered with your own JWKS): pass --key <file>`);
  return resolveKeyPath(clientFile, client.privateKey);
}

/** client_credentials with a private_key_jwt assertion (iss = sub = client_id, aud = token endpoint, 5 minutes at most). */
export async function requestToken(client: ClientFile, keyPath: string, scope: string): Promise<TokenResponse> {
  const key = await loadPrivateKey(keyPath, client.alg, client.kid);
  const now = Math.floor(Date.now() / 1000);
  const assertion = await new SignJWT({})
    .setProtectedHeader({ alg: client.alg, kid: client.kid, typ: 'JWT' })
    .setIssuer(client.clientId)
    .setSubject(client.clientId)
    .setAudience(client.tokenEndpoint)
    .setJti(randomUUID())
    .setIssuedAt(now)
    .setExpirationTime(now + 240)
    .sign(key);
  let response: Response;
  try {
    response = await fetch(client.tokenEndpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        scope,
        client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
        client_assertion: assertion,
      }),
    });
  } catch (error) {
    throw new CliError(`Cannot reach ${client.tokenEndpoint}: ${(error as Error & { cause?: Error }).cause?.message ?? (error as Error).message}`);
  }
  const body = (await response.json().catch(() => ({}))) as Partial<TokenResponse> & { error?: string; error_description?: string };
  if (!response.ok || !body.access_token) {
    throw new CliError(
      `The token request was refused (${body.error ?? `HTTP ${response.status}`}${body.error_description ? `: ${body.error_description}` : ''})`,
    );
  }
  return body as TokenResponse;
}
