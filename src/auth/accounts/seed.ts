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
import type { PatientDirectory } from '../../directory/patient-directory.js';
import type { Logger } from '../../log.js';
import type { AccountSeed, AccountStore } from './account-store.js';

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

export interface SeedDependencies {
  accounts: AccountStore;
  /** Where a client's registration is written (the provider's records). */
  records: { putClient(metadata: Record<string, unknown>): Promise<void> };
  /** Whether a sample account's fhirUser exists (a warning when not). */
  directory: Pick<PatientDirectory, 'exists'>;
  logger: Logger;
  /** What `${BASE_URL}` in the clients' file becomes. */
  baseUrl: string;
}

export async function seedAuthSamples(deps: SeedDependencies, seedDir: string): Promise<void> {
  const accounts = await readArray<AccountSeed>(path.join(seedDir, 'accounts.json'));
  let created = 0;
  for (const seed of accounts ?? []) {
    if (await deps.accounts.createIfAbsent(seed)) created++;
    if (seed.fhirUser && !(await deps.directory.exists(seed.fhirUser))) {
      deps.logger.warn({ username: seed.username, fhirUser: seed.fhirUser }, 'sample account points at a FHIR resource that does not exist (yet)');
    }
  }
  const clients = await readArray<Record<string, unknown>>(path.join(seedDir, 'clients.json'));
  for (const client of clients ?? []) await deps.records.putClient(fillBaseUrl(client, deps.baseUrl) as Record<string, unknown>);
  deps.logger.info({ accountsCreated: created, clients: clients?.length ?? 0 }, 'sample accounts and clients seeded');
}
