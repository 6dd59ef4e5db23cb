/**
 * The client file `bedside clients add` writes and `bedside token` / `bedside export` read: where
 * the server is, the client_id, and which key signs its assertions. The private key lives in its
 * own file (PKCS#8 PEM, or a JWK), both readable by the owner only.
 */
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { importJWK, importPKCS8, type CryptoKey, type JWK } from 'jose';
import { CliError } from './io.js';

export type SigningAlgorithm = 'ES384' | 'RS384';
export const SIGNING_ALGORITHMS: readonly SigningAlgorithm[] = ['ES384', 'RS384'];

export interface ClientFile {
  /** The FHIR base (audience of the tokens). */
  fhirBaseUrl: string;
  tokenEndpoint: string;
  clientId: string;
  /** The scope the client registered (what `bedside token` asks for by default). */
  scope: string;
  alg: SigningAlgorithm;
  kid: string;
  /** The private key file, relative to the client file's folder (absent when the key is kept elsewhere). */
  privateKey?: string;
}

export function writeClientFile(file: string, client: ClientFile, force: boolean): void {
  writePrivateFile(file, `${JSON.stringify(client, null, 2)}\n`, force);
}

export function readClientFile(file: string): ClientFile {
  if (!existsSync(file)) throw new CliError(`No client file at ${file}: run "bedside clients add" first, or pass --client <file>`);
  let client: ClientFile;
  try {
    client = JSON.parse(readFileSync(file, 'utf8')) as ClientFile;
  } catch {
    throw new CliError(`${file} is not a client file written by "bedside clients add"`);
  }
  for (const key of ['fhirBaseUrl', 'tokenEndpoint', 'clientId', 'alg', 'kid'] as const) {
    if (typeof client[key] !== 'string') throw new CliError(`${file} lacks "${key}": is it a client file written by "bedside clients add"?`);
  }
  return client;
}

/** Writes a file only its owner may read (keys, client files); refuses to overwrite unless `force`. */
export function writePrivateFile(file: string, content: string, force: boolean): void {
  if (existsSync(file) && !force) throw new CliError(`${file} exists; pass --force to overwrite it`);
  writeFileSync(file, content, { mode: 0o600 });
  chmodSync(file, 0o600);
}

/** The signing key: a PKCS#8 PEM file, or a JSON file with a private JWK (or a JWKS holding one with `kid`). */
export async function loadPrivateKey(file: string, alg: SigningAlgorithm, kid: string): Promise<CryptoKey> {
  if (!existsSync(file)) throw new CliError(`No private key at ${file}`);
  const text = readFileSync(file, 'utf8');
  try {
    if (text.includes('-----BEGIN PRIVATE KEY-----')) return await importPKCS8(text, alg);
    const json = JSON.parse(text) as JWK | { keys: JWK[] };
    const jwk = 'keys' in json ? json.keys.find((k) => k.kid === kid && k.d) : json;
    if (!jwk?.d) throw new CliError(`${file} holds no private key${'keys' in json ? ` with kid "${kid}"` : ''}`);
    return (await importJWK(jwk, alg)) as CryptoKey;
  } catch (error) {
    if (error instanceof CliError) throw error;
    throw new CliError(`Cannot read the ${alg} private key in ${file}: ${(error as Error).message} (expected a PKCS#8 PEM or a private JWK)`);
  }
}

/** The key file's path as recorded in a client file: relative to that file's folder. */
export function keyPathFor(clientFile: string, keyFile: string): string {
  return path.relative(path.dirname(path.resolve(clientFile)), path.resolve(keyFile)) || keyFile;
}

export function resolveKeyPath(clientFile: string, recorded: string): string {
  return path.resolve(path.dirname(path.resolve(clientFile)), recorded);
}
