/**
 * Bedside's configuration: one typed object, read from the environment once (by main.ts) and
 * validated at start-up, every mistake listed at once. Every other module receives the parts it
 * needs as arguments. The variables are read by zod schemas (config/variables.ts); the settings
 * that hold JSON are parsed in config/ (claims, federation, resource servers, JWT bearer
 * issuers), which imports no feature: the features import their settings' types from there.
 *
 * The variables and their defaults are public: the README's configuration table lists them;
 * keep the two in step.
 */
import { statSync } from 'node:fs';
import { isIP } from 'node:net';
import path from 'node:path';
import { parseClaimMappings, type ClaimMapping } from './config/claims.js';
import { parseFederationProviders, type FederationProvider } from './config/federation.js';
import { parseJwtBearerIssuers, type TrustedAssertionIssuer } from './config/jwt-bearer-issuers.js';
import { parseResourceServers, type ResourceServerSetting } from './config/resource-servers.js';
import { flag, integer, oneOf, readVariables, size, text, type Values } from './config/variables.js';
import { fetchRefusal } from './security/network-addresses.js';

/** Where resources, sessions, keys and jobs are kept. */
export type StorageConfig = { kind: 'embedded'; dataDir: string; cacheMb?: number } | { kind: 'mongodb'; uri: string; database: string };

/**
 * Which patients a practitioner user may select as patient context and reach with `user/` scopes
 * (PRACTITIONER_PATIENTS): `all` (the default), or `linked`: those whose records link them to the
 * practitioner (access/rules.ts PRACTITIONER_LINKS).
 */
export const PRACTITIONER_PATIENT_RULES = ['all', 'linked'] as const;
export type PractitionerPatients = (typeof PRACTITIONER_PATIENT_RULES)[number];

/** Bulk Data `$export` (src/bulk/): where its files go, how big they get, how long they live. */
export interface ExportConfig {
  /**
   * Folder of the NDJSON files (EXPORT_DIR; default `DATA_DIR/exports`, or `./data/exports` with
   * MongoDB). Several nodes behind one load balancer must share it (e.g. a network volume).
   */
  dir: string;
  /** A file is split when it would grow beyond this many bytes (EXPORT_FILE_SIZE, default 64mb). */
  maxFileBytes: number;
  /** Files are deleted this many seconds after their export completed (EXPORT_FILE_TTL, default 86400). */
  fileTtlSeconds: number;
  /**
   * A running export renews its lease and checks its owner's authorization at least this often
   * (default 1000 ms). Not read from the environment: tests shorten it to stop exports mid-run.
   */
  checkpointMs: number;
}

export interface TlsConfig {
  certFile: string;
  keyFile: string;
}

export interface Config {
  /** TCP port to listen on. */
  port: number;
  /** Interface to bind. */
  host: string;
  /** Public base URL (no trailing slash); every advertised URL is built from it. */
  baseUrl: string;
  /** `${baseUrl}/fhir`: the FHIR base and the audience of access tokens. */
  fhirBaseUrl: string;
  storage: StorageConfig;
  /** Load fhir-data/ into an empty store on start. */
  seed: boolean;
  /** Folder holding the sample data loaded by `seed`. */
  seedDir: string;
  /** When set, dynamic client registration requires it as a Bearer initial access token. */
  registrationToken: string | undefined;
  /** Largest request body accepted, in bytes (413 above it). */
  bodyLimitBytes: number;
  /** Largest number of entries in a batch or transaction Bundle. */
  maxBundleEntries: number;
  /** Largest `_count` a search may ask for. */
  maxPageSize: number;
  /** Page size when `_count` is absent. */
  defaultPageSize: number;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /**
   * LOG_FORMAT: `json` lines, `pretty` readable lines, or `auto` (default): pretty when standard
   * output is a terminal, JSON otherwise. main.ts resolves `auto`.
   */
  logFormat: 'auto' | 'json' | 'pretty';
  /** Built-in TLS; when absent Bedside speaks plain HTTP (behind a proxy, or on loopback). */
  tls: TlsConfig | undefined;
  /** Trust X-Forwarded-* from the proxy in front (needed for an https BASE_URL behind a proxy). */
  trustProxy: boolean;
  /** Access token lifetime in seconds (SMART: at most one hour). */
  accessTokenTtlSeconds: number;
  /** Refresh token lifetime in seconds for offline_access. */
  refreshTokenTtlSeconds: number;
  /** Rotate refresh tokens on every use. */
  rotateRefreshTokens: boolean;
  /** Test-only switch: FHIR API without bearer verification or access policy. Never in production. */
  enforcement: boolean;
  /**
   * The revocation window (ms): how long the FHIR API may reuse a "this token is not revoked"
   * decision (one per token id), and what a patient's records reference. A revocation made on
   * this node takes effect at once; one made on another node, or by an operator command, within
   * this window. 0 checks on every request.
   */
  revocationCheckMs: number;
  /** Issuers trusted for the JWT bearer authorization grant (JWT_BEARER_ISSUERS, a JSON array). */
  jwtBearerIssuers: TrustedAssertionIssuer[];
  /**
   * Let the server fetch URLs on private, loopback and other non-public addresses: client
   * `jwks_uri`s and `sector_identifier_uri`s, identity providers (FEDERATION_PROVIDERS), JWT
   * bearer issuers' `jwksUri` (ALLOW_PRIVATE_NETWORK_FETCH; default false: SSRF protection).
   */
  allowPrivateNetworkFetch: boolean;
  /**
   * The launcher's sandbox conveniences, which trust whoever can reach the launcher: listing
   * patients, practitioners and clients without a token, and simulated EHR sessions (a launch's
   * practitioner signed in without a password). LAUNCHER_SANDBOX; default true only when HOST is
   * a loopback address (a learner's own machine).
   */
  launcherSandbox: boolean;
  /**
   * Which patients a practitioner (fhirUser Practitioner or PractitionerRole) may select as
   * patient context and reach with `user/` scopes: every patient, or only linked ones.
   */
  practitionerPatients: PractitionerPatients;
  /** Bulk Data `$export`. */
  export: ExportConfig;
  /** Sign-in with a Bedside username and password (LOCAL_LOGIN; default true). */
  localLogin: boolean;
  /** Upstream OpenID providers users may sign in with (FEDERATION_PROVIDERS, a JSON array). */
  federation: FederationProvider[];
  /** Extra claims for id_tokens, userinfo and access tokens (CLAIM_MAPPINGS, a JSON array). */
  claimMappings: ClaimMapping[];
  /** Resource servers besides the FHIR API, fixed by configuration (RESOURCE_SERVERS, a JSON array). */
  resourceServers: ResourceServerSetting[];
  /**
   * Profile validation of writes (VALIDATE_PROFILES): `declared` (default) checks a resource
   * against the profiles its meta.profile claims, when they are known (a write that breaks one
   * is refused with 422; a profile Bedside does not have is a warning); `off` checks R4 only.
   */
  validateProfiles: ProfileValidationMode;
  /**
   * FHIR packages (Implementation Guides) installed at start-up: absolute paths of `.tgz` files
   * or package folders (FHIR_PACKAGES, comma-separated). Installing one already installed with
   * the same content does nothing.
   */
  packages: string[];
}

/** VALIDATE_PROFILES values. */
export const PROFILE_VALIDATION_MODES = ['declared', 'off'] as const;
export type ProfileValidationMode = (typeof PROFILE_VALIDATION_MODES)[number];

/** A configuration mistake; main.ts prints every one of them and exits. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
const LOG_FORMATS = ['auto', 'json', 'pretty'] as const;

/** Hosts for which plain http is acceptable without ALLOW_INSECURE_HTTP. */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (host === 'localhost' || host.endsWith('.localhost')) return true;
  if (host === '::1') return true;
  return isIP(host) === 4 && host.startsWith('127.');
}

/** Every variable, its kind and its default (blank counts as unset). */
const VARIABLES = {
  PORT: integer(0, 65535, 8080),
  HOST: text('127.0.0.1'),
  BASE_URL: text(undefined),
  TLS_CERT: text(undefined),
  TLS_KEY: text(undefined),
  ALLOW_INSECURE_HTTP: flag(false),
  TRUST_PROXY: flag(false),
  MONGODB_URI: text(undefined, { regex: /^mongodb(\+srv)?:\/\//, words: 'start with mongodb:// or mongodb+srv://' }),
  DATA_DIR: text('./data'),
  SQLITE_CACHE_MB: integer(16, 65536, 256),
  LOG_LEVEL: oneOf(LOG_LEVELS, 'info'),
  LOG_FORMAT: oneOf(LOG_FORMATS, 'auto'),
  BEDSIDE_SEED: flag(true),
  SEED_DIR: text('./fhir-data'),
  REGISTRATION_TOKEN: text(undefined),
  BODY_LIMIT: size(16 * 1024 ** 2),
  MAX_BUNDLE_ENTRIES: integer(1, 1_000_000, 10000),
  DEFAULT_PAGE_SIZE: integer(1, 1000, 20),
  MAX_PAGE_SIZE: integer(1, 10000, 1000),
  ACCESS_TOKEN_TTL: integer(60, 3600, 3600),
  REFRESH_TOKEN_TTL: integer(300, 365 * 24 * 3600, 90 * 24 * 3600),
  ROTATE_REFRESH_TOKENS: flag(true),
  BEDSIDE_UNSAFE_DISABLE_AUTH: flag(false),
  REVOCATION_CHECK_MS: integer(0, 60_000, 1000),
  ALLOW_PRIVATE_NETWORK_FETCH: flag(false),
  JWT_BEARER_ISSUERS: text(undefined),
  LAUNCHER_SANDBOX: flag(undefined),
  PRACTITIONER_PATIENTS: oneOf(PRACTITIONER_PATIENT_RULES, 'all', PRACTITIONER_PATIENT_RULES.join(' or ')),
  EXPORT_DIR: text(undefined),
  EXPORT_FILE_SIZE: size(64 * 1024 ** 2, { bytes: 1024, words: '1kb' }),
  EXPORT_FILE_TTL: integer(1, 30 * 24 * 3600, 24 * 3600),
  LOCAL_LOGIN: flag(true),
  FEDERATION_PROVIDERS: text(undefined),
  CLAIM_MAPPINGS: text(undefined),
  RESOURCE_SERVERS: text(undefined),
  VALIDATE_PROFILES: oneOf(PROFILE_VALIDATION_MODES, 'declared'),
  FHIR_PACKAGES: text(undefined),
};

type Variables = Values<typeof VARIABLES>;

/** TLS_CERT and TLS_KEY, as absolute paths; both or neither. */
function tlsOf(vars: Variables, cwd: string, problems: string[]): TlsConfig | undefined {
  if (vars.TLS_CERT && vars.TLS_KEY) return { certFile: path.resolve(cwd, vars.TLS_CERT), keyFile: path.resolve(cwd, vars.TLS_KEY) };
  if (vars.TLS_CERT || vars.TLS_KEY) problems.push('TLS_CERT and TLS_KEY must be set together (PEM files)');
  return undefined;
}

/** BASE_URL without a trailing slash (default: localhost on PORT); plain http only on loopback unless ALLOW_INSECURE_HTTP. */
function baseUrlOf(vars: Variables, tls: TlsConfig | undefined, problems: string[]): string {
  const given = (vars.BASE_URL ?? `${tls ? 'https' : 'http'}://localhost:${vars.PORT}`).replace(/\/+$/, '');
  const url = URL.parse(given);
  if (!url) {
    problems.push(`BASE_URL is not a valid URL (got "${given}")`);
    return given;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    problems.push(`BASE_URL must be an http or https URL (got "${given}")`);
  } else if (url.search || url.hash || url.username) {
    problems.push(`BASE_URL must not carry a query, fragment or credentials (got "${given}")`);
  }
  if (url.protocol === 'http:' && !isLoopbackHost(url.hostname) && !vars.ALLOW_INSECURE_HTTP) {
    problems.push(
      `BASE_URL is plain http on a non-loopback host (${url.hostname}). OAuth needs https: ` +
        'set BASE_URL to the https URL of your TLS-terminating proxy (with TRUST_PROXY=true), ' +
        'or set TLS_CERT and TLS_KEY, or set ALLOW_INSECURE_HTTP=true for a closed test network',
    );
  }
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}

/** MongoDB when MONGODB_URI is set (the database named in its path, default `bedside`), otherwise the embedded store. */
function storageOf(vars: Variables, cwd: string): StorageConfig {
  if (!vars.MONGODB_URI) return { kind: 'embedded', dataDir: path.resolve(cwd, vars.DATA_DIR), cacheMb: vars.SQLITE_CACHE_MB };
  const dbPath = /^mongodb(?:\+srv)?:\/\/[^/]+\/([^?]*)/.exec(vars.MONGODB_URI)?.[1];
  return { kind: 'mongodb', uri: vars.MONGODB_URI, database: dbPath ? decodeURIComponent(dbPath) : 'bedside' };
}

function exportOf(vars: Variables, storage: StorageConfig, cwd: string): ExportConfig {
  const defaultDir = path.join(storage.kind === 'embedded' ? storage.dataDir : path.resolve(cwd, './data'), 'exports');
  return {
    dir: vars.EXPORT_DIR ? path.resolve(cwd, vars.EXPORT_DIR) : defaultDir,
    maxFileBytes: vars.EXPORT_FILE_SIZE,
    fileTtlSeconds: vars.EXPORT_FILE_TTL,
    checkpointMs: 1000,
  };
}

/** FHIR_PACKAGES: comma-separated paths, each an existing `.tgz` package or package folder. */
function packagesOf(vars: Variables, cwd: string, problems: string[]): string[] {
  const packages = (vars.FHIR_PACKAGES ?? '')
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p !== '')
    .map((p) => path.resolve(cwd, p));
  for (const file of packages) {
    const info = statOrUndefined(file);
    if (!info) problems.push(`FHIR_PACKAGES: ${file} does not exist`);
    else if (!info.isDirectory() && !/\.(tgz|tar\.gz)$/i.test(file)) problems.push(`FHIR_PACKAGES: ${file} is neither a .tgz package nor a package folder`);
  }
  return packages;
}

function statOrUndefined(file: string): ReturnType<typeof statSync> | undefined {
  try {
    return statSync(file);
  } catch {
    return undefined;
  }
}

/** The settings that hold JSON, and the rules across variables. */
function settingsOf(
  vars: Variables,
  baseUrl: string,
  problems: string[],
): Pick<Config, 'jwtBearerIssuers' | 'federation' | 'claimMappings' | 'resourceServers'> {
  /** Why the server would never fetch a configured URL (a loopback identity provider without ALLOW_PRIVATE_NETWORK_FETCH ...). */
  const refusal = (url: string) => fetchRefusal(url, vars.ALLOW_PRIVATE_NETWORK_FETCH);
  const jwtBearerIssuers = parseJwtBearerIssuers(vars.JWT_BEARER_ISSUERS, problems, refusal);
  if (vars.DEFAULT_PAGE_SIZE > vars.MAX_PAGE_SIZE) problems.push('DEFAULT_PAGE_SIZE must not exceed MAX_PAGE_SIZE');
  const federation = parseFederationProviders(vars.FEDERATION_PROVIDERS, problems, { isLoopbackHost, fetchRefusal: refusal });
  if (!vars.LOCAL_LOGIN && federation.length === 0)
    problems.push('LOCAL_LOGIN=false needs at least one identity provider in FEDERATION_PROVIDERS (nobody could sign in)');
  const claimMappings = parseClaimMappings(vars.CLAIM_MAPPINGS, problems);
  const resourceServers = parseResourceServers(vars.RESOURCE_SERVERS, problems, { fhirBaseUrl: `${baseUrl}/fhir`, issuer: `${baseUrl}/oauth`, isLoopbackHost });
  return { jwtBearerIssuers, federation, claimMappings, resourceServers };
}

/**
 * Reads and validates the configuration. Collects every problem before failing so a user fixes
 * them in one go.
 */
export function loadConfig(env: NodeJS.ProcessEnv, cwd = process.cwd()): Config {
  const problems: string[] = [];
  const vars = readVariables(VARIABLES, env, problems);
  const tls = tlsOf(vars, cwd, problems);
  const baseUrl = baseUrlOf(vars, tls, problems);
  const storage = storageOf(vars, cwd);
  const config: Config = {
    port: vars.PORT,
    host: vars.HOST,
    baseUrl,
    fhirBaseUrl: `${baseUrl}/fhir`,
    storage,
    seed: vars.BEDSIDE_SEED,
    seedDir: path.resolve(cwd, vars.SEED_DIR),
    registrationToken: vars.REGISTRATION_TOKEN,
    bodyLimitBytes: vars.BODY_LIMIT,
    maxBundleEntries: vars.MAX_BUNDLE_ENTRIES,
    maxPageSize: vars.MAX_PAGE_SIZE,
    defaultPageSize: vars.DEFAULT_PAGE_SIZE,
    logLevel: vars.LOG_LEVEL,
    logFormat: vars.LOG_FORMAT,
    tls,
    trustProxy: vars.TRUST_PROXY,
    accessTokenTtlSeconds: vars.ACCESS_TOKEN_TTL,
    refreshTokenTtlSeconds: vars.REFRESH_TOKEN_TTL,
    rotateRefreshTokens: vars.ROTATE_REFRESH_TOKENS,
    enforcement: !vars.BEDSIDE_UNSAFE_DISABLE_AUTH,
    revocationCheckMs: vars.REVOCATION_CHECK_MS,
    allowPrivateNetworkFetch: vars.ALLOW_PRIVATE_NETWORK_FETCH,
    launcherSandbox: vars.LAUNCHER_SANDBOX ?? isLoopbackHost(vars.HOST),
    practitionerPatients: vars.PRACTITIONER_PATIENTS,
    export: exportOf(vars, storage, cwd),
    localLogin: vars.LOCAL_LOGIN,
    validateProfiles: vars.VALIDATE_PROFILES,
    packages: packagesOf(vars, cwd, problems),
    ...settingsOf(vars, baseUrl, problems),
  };
  if (problems.length) throw new ConfigError(problems);
  return config;
}

/** A configuration for tests and tools: defaults plus overrides, without reading process.env. */
export function testConfig(overrides: Partial<Config> = {}): Config {
  const config = { ...loadConfig({ BEDSIDE_SEED: 'false', LOG_LEVEL: 'silent' }), ...overrides };
  // Export files follow an overridden data folder, as EXPORT_DIR's default follows DATA_DIR.
  if (!overrides.export && overrides.storage?.kind === 'embedded') {
    config.export = { ...config.export, dir: path.join(overrides.storage.dataDir, 'exports') };
  }
  return config;
}
