/**
 * Sample users and pre-registered clients (fhir-data/accounts.json, fhir-data/clients.json),
 * seeded into the DocumentStore on start when seeding is on. Idempotent: accounts are created
 * only when their username is absent (a changed password survives restarts); the pre-registered
 * clients belong to the file and are rewritten on every start with `${BASE_URL}` filled in, so
 * their redirect URIs follow BASE_URL.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { AccountSeed } from './accounts.js';
import { oidcCollectionName } from './adapter.js';
import type { AuthServices } from './services.js';

/** Files of the sample-data folder that are not FHIR resources (the FHIR loader skips them). */
export const AUTH_SEED_FILES = ['accounts.json', 'clients.json'] as const;

function fillBaseUrl(value: unknown, baseUrl: string): unknown {
  if (typeof value === 'string') return value.replaceAll('${BASE_URL}', baseUrl);
  if (Array.isArray(value)) return value.map((v) => fillBaseUrl(v, baseUrl));
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, fillBaseUrl(v, baseUrl)]));
  return value;
}

async function readArray<T>(file: string): Promise<T[] | undefined> {
  if (!existsSync(file)) return undefined;
  const parsed = JSON.parse(await readFile(file, 'utf8')) as unknown;
  if (!Array.isArray(parsed)) throw new Error(`${file} must hold a JSON array`);
  return parsed as T[];
}

/** Writes a client's metadata where oidc-provider's adapter finds it. */
export async function upsertClient(services: AuthServices, metadata: Record<string, unknown>): Promise<void> {
  if (typeof metadata.client_id !== 'string') throw new Error('a client needs a client_id');
  await services.documents.collection(oidcCollectionName('Client')).put(metadata.client_id, metadata);
}

export async function seedAuthSamples(services: AuthServices, seedDir: string): Promise<void> {
  const accounts = await readArray<AccountSeed>(path.join(seedDir, 'accounts.json'));
  let created = 0;
  for (const seed of accounts ?? []) {
    if (await services.accounts.createIfAbsent(seed)) created++;
    if (seed.fhirUser && !(await services.directory.exists(seed.fhirUser))) {
      services.logger.warn({ username: seed.username, fhirUser: seed.fhirUser }, 'sample account points at a FHIR resource that does not exist (yet)');
    }
  }
  const clients = await readArray<Record<string, unknown>>(path.join(seedDir, 'clients.json'));
  for (const client of clients ?? []) await upsertClient(services, fillBaseUrl(client, services.config.baseUrl) as Record<string, unknown>);
  services.logger.info({ accountsCreated: created, clients: clients?.length ?? 0 }, 'sample accounts and clients seeded');
}
