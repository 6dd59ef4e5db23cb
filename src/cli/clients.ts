/**
 * `bedside clients add`: registers a SMART Backend Services client (client_credentials with a
 * private_key_jwt assertion, RS384 or ES384) at the server's registration endpoint (RFC 7591),
 * with a key pair it generates (the private key is written to a file) or with the integrator's
 * own public keys (a JWKS file, or a JWKS URL the server fetches).
 * https://hl7.org/fhir/smart-app-launch/STU2.2/backend-services.html
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { calculateJwkThumbprint, exportJWK, exportPKCS8, generateKeyPair, type JWK } from 'jose';
import { SIGNING_ALGORITHMS, keyPathFor, writeClientFile, writePrivateFile, type ClientFile, type SigningAlgorithm } from './client-file.js';
import { defaultUrl, discover } from './discovery.js';
import { CliError, type CliIo } from './io.js';

export const CLIENTS_ADD_USAGE = `Usage: bedside clients add [options]

Registers a backend-services client (client_credentials + private_key_jwt) and writes a client
file for "bedside token" and "bedside export".

  --url <url>                 Bedside (or its FHIR base); default $BEDSIDE_URL or http://localhost:8080
  --scope <scopes>            what the client may ever be granted; default "system/*.rs"
  --name <name>               client_name; default "Bedside backend client"
  --alg <ES384|RS384>         signing algorithm; default ES384
  --jwks <file>               register these public keys (a JWKS file) instead of generating a pair
  --jwks-url <url>            register a JWKS URL the server fetches (keys can then rotate)
  --key <file>                with --jwks/--jwks-url: your private key file, recorded for "bedside token"
  --key-out <file>            where a generated private key goes; default bedside-key.pem
  --out <file>                client file; default bedside-client.json
  --registration-token <t>    initial access token when the server sets REGISTRATION_TOKEN
  --force                     overwrite existing files
`;

export async function clientsAdd(argv: string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      url: { type: 'string' },
      scope: { type: 'string', default: 'system/*.rs' },
      name: { type: 'string', default: 'Bedside backend client' },
      alg: { type: 'string', default: 'ES384' },
      jwks: { type: 'string' },
      'jwks-url': { type: 'string' },
      key: { type: 'string' },
      'key-out': { type: 'string', default: 'bedside-key.pem' },
      out: { type: 'string', default: 'bedside-client.json' },
      'registration-token': { type: 'string' },
      force: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    io.out(CLIENTS_ADD_USAGE);
    return 0;
  }
  const alg = values.alg.toUpperCase() as SigningAlgorithm;
  if (!SIGNING_ALGORITHMS.includes(alg)) throw new CliError(`--alg must be ES384 or RS384 (got ${values.alg})`, 2);
  if (values.jwks && values['jwks-url']) throw new CliError('Pass --jwks or --jwks-url, not both', 2);

  const server = await discover(values.url ?? defaultUrl(io.env));
  if (!server.registrationEndpoint)
    throw new CliError(`${server.fhirBaseUrl} advertises no registration_endpoint: register the client with the server's operator`);

  let keys: { kid: string; registration: { jwks: { keys: JWK[] } } | { jwks_uri: string }; privateKey?: string };
  if (values.jwks) keys = { ...(await ownJwks(values.jwks, alg)), ...(values.key ? { privateKey: values.key } : {}) };
  else if (values['jwks-url']) keys = { ...(await remoteJwks(values['jwks-url'], alg)), ...(values.key ? { privateKey: values.key } : {}) };
  else keys = await generatedKeys(alg, values['key-out'], values.force);

  const token = values['registration-token'] ?? io.env.REGISTRATION_TOKEN;
  const response = await fetch(server.registrationEndpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({
      client_name: values.name,
      token_endpoint_auth_method: 'private_key_jwt',
      token_endpoint_auth_signing_alg: alg,
      grant_types: ['client_credentials'],
      response_types: [],
      scope: values.scope,
      ...keys.registration,
    }),
  });
  const body = (await response.json().catch(() => ({}))) as { client_id?: string; error?: string; error_description?: string };
  if (response.status !== 201 || !body.client_id) {
    const reason = body.error ? `${body.error}${body.error_description ? `: ${body.error_description}` : ''}` : `HTTP ${response.status}`;
    throw new CliError(
      `Registration refused (${reason})${response.status === 401 ? '. The server requires an initial access token: pass --registration-token' : ''}`,
    );
  }
  const client: ClientFile = {
    fhirBaseUrl: server.fhirBaseUrl,
    tokenEndpoint: server.tokenEndpoint,
    clientId: body.client_id,
    scope: values.scope,
    alg,
    kid: keys.kid,
    ...(keys.privateKey ? { privateKey: keyPathFor(values.out, keys.privateKey) } : {}),
  };
  writeClientFile(values.out, client, values.force);
  io.out(
    [
      `Registered backend client ${client.clientId} (scope "${client.scope}", ${alg}) at ${server.fhirBaseUrl}`,
      `  client file:  ${values.out}`,
      keys.privateKey ? `  private key:  ${keys.privateKey} (keep it secret)` : '  private key:  yours (pass --key to "bedside token")',
      '',
      'Next:',
      `  export TOKEN=$(npx bedside token${values.out === 'bedside-client.json' ? '' : ` --client ${values.out}`})`,
      `  curl -H "Authorization: Bearer $TOKEN" ${server.fhirBaseUrl}/Patient`,
      '',
    ].join('\n'),
  );
  return 0;
}

/** A fresh key pair: the public JWK is registered, the private key written as PKCS#8 PEM. */
async function generatedKeys(alg: SigningAlgorithm, keyOut: string, force: boolean) {
  const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true, ...(alg === 'RS384' ? { modulusLength: 2048 } : {}) });
  const jwk = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(jwk);
  writePrivateFile(keyOut, await exportPKCS8(privateKey), force);
  return { kid, registration: { jwks: { keys: [{ ...jwk, kid, alg, use: 'sig' }] } }, privateKey: keyOut };
}

/** The integrator's JWKS file: public keys only; a key without `kid` gets its thumbprint. */
async function ownJwks(file: string, alg: SigningAlgorithm) {
  let jwks: { keys?: JWK[] };
  try {
    jwks = JSON.parse(readFileSync(file, 'utf8')) as { keys?: JWK[] };
  } catch (error) {
    throw new CliError(`Cannot read the JWKS in ${file}: ${(error as Error).message}`);
  }
  const keys = await Promise.all(
    (jwks.keys ?? []).map(async (key) => {
      if (key.d || key.p || key.k) throw new CliError(`${file} holds a private or symmetric key: register public keys only`);
      return { ...key, kid: key.kid ?? (await calculateJwkThumbprint(key)) };
    }),
  );
  const signing = keys.find((k) => !k.alg || k.alg === alg);
  if (!signing) throw new CliError(`${file} has no key for ${alg}`);
  return { kid: signing.kid, registration: { jwks: { keys } } };
}

/** A JWKS URL: fetched once here to learn the kid the assertions will name. */
async function remoteJwks(url: string, alg: SigningAlgorithm) {
  let jwks: { keys?: JWK[] };
  try {
    jwks = (await (await fetch(url)).json()) as { keys?: JWK[] };
  } catch (error) {
    throw new CliError(`Cannot fetch the JWKS at ${url}: ${(error as Error).message}`);
  }
  const signing = (jwks.keys ?? []).find((k) => k.kid && (!k.alg || k.alg === alg));
  if (!signing?.kid) throw new CliError(`The JWKS at ${url} has no key with a kid for ${alg}`);
  return { kid: signing.kid, registration: { jwks_uri: url } };
}
