/**
 * Bedside's configuration: one typed object, read from the environment once (by main.ts) and
 * validated at start-up. Every other module receives the parts it needs as arguments.
 *
 * The variables and their defaults are the public contract (CONTRACT.md) and the README's
 * configuration table; keep the three in step.
 */
import { statSync } from 'node:fs';
import { isIP } from 'node:net';
import path from 'node:path';
import { parseClaimMappings, type ClaimMapping } from './auth/claims/settings.js';
import { parseFederationProviders, type FederationProvider } from './auth/federation/settings.js';
import { parseResourceServers, type ResourceServerSetting } from './auth/resource-servers/settings.js';
import { jsonArraySetting } from './json-setting.js';
import { fetchRefusal } from './security/network-addresses.js';

/** Where resources, sessions, keys and jobs are kept. */
export type StorageConfig =
  | { kind: 'embedded'; dataDir: string; cacheMb?: number }
  | { kind: 'mongodb'; uri: string; database: string };

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

/** An issuer whose signed assertions Bedside accepts for the RFC 7523 JWT bearer grant. */
export interface TrustedAssertionIssuer {
  issuer: string;
  /** Its public keys, inline (a JWKS) ... */
  jwks?: { keys: Array<Record<string, unknown>> };
  /** ... or where to fetch them. */
  jwksUri?: string;
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

/**
 * Reads and validates the configuration. Collects every problem before failing so a user fixes
 * them in one go.
 */
export function loadConfig(env: NodeJS.ProcessEnv, cwd = process.cwd()): Config {
  const problems: string[] = [];
  const str = (name: string): string | undefined => {
    const v = env[name];
    return v === undefined || v.trim() === '' ? undefined : v.trim();
  };
  const int = (name: string, fallback: number, min: number, max: number): number => {
    const raw = str(name);
    if (raw === undefined) return fallback;
    if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
      problems.push(`${name} must be an integer from ${min} to ${max} (got "${raw}")`);
      return fallback;
    }
    return Number(raw);
  };
  const bool = (name: string, fallback: boolean): boolean => {
    const raw = str(name)?.toLowerCase();
    if (raw === undefined) return fallback;
    if (['true', '1', 'yes', 'on'].includes(raw)) return true;
    if (['false', '0', 'no', 'off'].includes(raw)) return false;
    problems.push(`${name} must be true or false (got "${env[name]}")`);
    return fallback;
  };
  const bytes = (name: string, fallback: number): number => {
    const raw = str(name);
    if (raw === undefined) return fallback;
    const m = /^(\d+)\s*(b|kb|mb|gb)?$/i.exec(raw);
    if (!m) {
      problems.push(`${name} must be a size such as 512kb, 16mb or 1048576 (got "${raw}")`);
      return fallback;
    }
    const unit = { b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3 }[(m[2] ?? 'b').toLowerCase() as 'b'];
    return Number(m[1]) * unit;
  };

  const port = int('PORT', 8080, 0, 65535);
  const host = str('HOST') ?? '127.0.0.1';

  const tlsCert = str('TLS_CERT');
  const tlsKey = str('TLS_KEY');
  let tls: TlsConfig | undefined;
  if (tlsCert && tlsKey) tls = { certFile: path.resolve(cwd, tlsCert), keyFile: path.resolve(cwd, tlsKey) };
  else if (tlsCert || tlsKey) problems.push('TLS_CERT and TLS_KEY must be set together (PEM files)');

  const defaultBase = `${tls ? 'https' : 'http'}://localhost:${port}`;
  let baseUrl = (str('BASE_URL') ?? defaultBase).replace(/\/+$/, '');
  let parsed: URL | undefined;
  try {
    parsed = new URL(baseUrl);
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
      problems.push(`BASE_URL must be an http or https URL (got "${baseUrl}")`);
    } else if (parsed.search || parsed.hash || parsed.username) {
      problems.push(`BASE_URL must not carry a query, fragment or credentials (got "${baseUrl}")`);
    }
    baseUrl = `${parsed.origin}${parsed.pathname.replace(/\/+$/, '')}`;
  } catch {
    problems.push(`BASE_URL is not a valid URL (got "${baseUrl}")`);
  }
  const allowInsecure = bool('ALLOW_INSECURE_HTTP', false);
  if (parsed?.protocol === 'http:' && !isLoopbackHost(parsed.hostname) && !allowInsecure) {
    problems.push(
      `BASE_URL is plain http on a non-loopback host (${parsed.hostname}). OAuth needs https: ` +
        'set BASE_URL to the https URL of your TLS-terminating proxy (with TRUST_PROXY=true), ' +
        'or set TLS_CERT and TLS_KEY, or set ALLOW_INSECURE_HTTP=true for a closed test network',
    );
  }

  const mongoUri = str('MONGODB_URI');
  let storage: StorageConfig;
  if (mongoUri) {
    let database = 'bedside';
    if (!/^mongodb(\+srv)?:\/\//.test(mongoUri)) {
      problems.push('MONGODB_URI must start with mongodb:// or mongodb+srv://');
    } else {
      const dbPath = /^mongodb(?:\+srv)?:\/\/[^/]+\/([^?]*)/.exec(mongoUri)?.[1];
      if (dbPath) database = decodeURIComponent(dbPath);
    }
    storage = { kind: 'mongodb', uri: mongoUri, database };
  } else {
    storage = { kind: 'embedded', dataDir: path.resolve(cwd, str('DATA_DIR') ?? './data'), cacheMb: int('SQLITE_CACHE_MB', 256, 16, 65536) };
  }

  const logLevel = (str('LOG_LEVEL') ?? 'info').toLowerCase();
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) {
    problems.push(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')} (got "${logLevel}")`);
  }

  const logFormat = (str('LOG_FORMAT') ?? 'auto').toLowerCase();
  if (!(LOG_FORMATS as readonly string[]).includes(logFormat)) {
    problems.push(`LOG_FORMAT must be one of ${LOG_FORMATS.join(', ')} (got "${logFormat}")`);
  }

  const accessTokenTtlSeconds = int('ACCESS_TOKEN_TTL', 3600, 60, 3600);
  const refreshTokenTtlSeconds = int('REFRESH_TOKEN_TTL', 90 * 24 * 3600, 300, 365 * 24 * 3600);
  const defaultPageSize = int('DEFAULT_PAGE_SIZE', 20, 1, 1000);
  const maxPageSize = int('MAX_PAGE_SIZE', 1000, 1, 10000);
  if (defaultPageSize > maxPageSize) problems.push('DEFAULT_PAGE_SIZE must not exceed MAX_PAGE_SIZE');

  const enforcement = !bool('BEDSIDE_UNSAFE_DISABLE_AUTH', false);

  const allowPrivateNetworkFetch = bool('ALLOW_PRIVATE_NETWORK_FETCH', false);
  /** Why the server would never fetch a configured URL (a loopback identity provider without the setting ...). */
  const refusal = (url: string) => fetchRefusal(url, allowPrivateNetworkFetch);

  let jwtBearerIssuers: TrustedAssertionIssuer[] = [];
  const issuersRaw = str('JWT_BEARER_ISSUERS');
  if (issuersRaw) {
    const shape = '{"issuer": "...", "jwks": {"keys": [...]}} or {"issuer": "...", "jwksUri": "https://..."}';
    const parsedIssuers = jsonArraySetting('JWT_BEARER_ISSUERS', issuersRaw, shape, problems);
    if (parsedIssuers) {
      const valid = (parsedIssuers as Array<TrustedAssertionIssuer | null>).every((i) =>
        typeof i?.issuer === 'string' && (Array.isArray(i.jwks?.keys) || (typeof i.jwksUri === 'string' && /^https?:\/\//.test(i.jwksUri))));
      if (valid) jwtBearerIssuers = parsedIssuers as TrustedAssertionIssuer[];
      else problems.push(`JWT_BEARER_ISSUERS must be a JSON array of ${shape}`);
      jwtBearerIssuers.forEach((i, index) => {
        const reason = i.jwksUri ? refusal(i.jwksUri) : undefined;
        if (reason) problems.push(`JWT_BEARER_ISSUERS[${index}].jwksUri will not be fetched: ${reason}`);
      });
    }
  }

  const exportFileBytes = bytes('EXPORT_FILE_SIZE', 64 * 1024 ** 2);
  if (exportFileBytes < 1024) problems.push(`EXPORT_FILE_SIZE must be at least 1kb (got "${str('EXPORT_FILE_SIZE')}")`);
  const exportDir = str('EXPORT_DIR');
  const exportConfig: ExportConfig = {
    dir: exportDir
      ? path.resolve(cwd, exportDir)
      : path.join(storage.kind === 'embedded' ? storage.dataDir : path.resolve(cwd, './data'), 'exports'),
    maxFileBytes: exportFileBytes,
    fileTtlSeconds: int('EXPORT_FILE_TTL', 24 * 3600, 1, 30 * 24 * 3600),
    checkpointMs: 1000,
  };

  const practitionerPatients = (str('PRACTITIONER_PATIENTS') ?? 'all').toLowerCase();
  if (!(PRACTITIONER_PATIENT_RULES as readonly string[]).includes(practitionerPatients)) {
    problems.push(`PRACTITIONER_PATIENTS must be ${PRACTITIONER_PATIENT_RULES.join(' or ')} (got "${str('PRACTITIONER_PATIENTS')}")`);
  }

  const federation = parseFederationProviders(str('FEDERATION_PROVIDERS'), problems, { isLoopbackHost, fetchRefusal: refusal });
  const localLogin = bool('LOCAL_LOGIN', true);
  if (!localLogin && federation.length === 0) problems.push('LOCAL_LOGIN=false needs at least one identity provider in FEDERATION_PROVIDERS (nobody could sign in)');
  const claimMappings = parseClaimMappings(str('CLAIM_MAPPINGS'), problems);
  const resourceServers = parseResourceServers(str('RESOURCE_SERVERS'), problems, { fhirBaseUrl: `${baseUrl}/fhir`, issuer: `${baseUrl}/oauth`, isLoopbackHost });

  const validateProfiles = (str('VALIDATE_PROFILES') ?? 'declared').toLowerCase();
  if (!(PROFILE_VALIDATION_MODES as readonly string[]).includes(validateProfiles)) {
    problems.push(`VALIDATE_PROFILES must be one of ${PROFILE_VALIDATION_MODES.join(', ')} (got "${str('VALIDATE_PROFILES')}")`);
  }

  const packages = (str('FHIR_PACKAGES') ?? '').split(',').map((p) => p.trim()).filter((p) => p !== '').map((p) => path.resolve(cwd, p));
  for (const file of packages) {
    const info = statOrUndefined(file);
    if (!info) problems.push(`FHIR_PACKAGES: ${file} does not exist`);
    else if (!info.isDirectory() && !/\.(tgz|tar\.gz)$/i.test(file)) problems.push(`FHIR_PACKAGES: ${file} is neither a .tgz package nor a package folder`);
  }

  const config: Config = {
    port,
    host,
    baseUrl,
    fhirBaseUrl: `${baseUrl}/fhir`,
    storage,
    seed: bool('BEDSIDE_SEED', true),
    seedDir: path.resolve(cwd, str('SEED_DIR') ?? './fhir-data'),
    registrationToken: str('REGISTRATION_TOKEN'),
    bodyLimitBytes: bytes('BODY_LIMIT', 16 * 1024 * 1024),
    maxBundleEntries: int('MAX_BUNDLE_ENTRIES', 10000, 1, 1_000_000),
    maxPageSize,
    defaultPageSize,
    logLevel: logLevel as Config['logLevel'],
    logFormat: logFormat as Config['logFormat'],
    tls,
    trustProxy: bool('TRUST_PROXY', false),
    accessTokenTtlSeconds,
    refreshTokenTtlSeconds,
    rotateRefreshTokens: bool('ROTATE_REFRESH_TOKENS', true),
    enforcement,
    revocationCheckMs: int('REVOCATION_CHECK_MS', 1000, 0, 60_000),
    jwtBearerIssuers,
    allowPrivateNetworkFetch,
    launcherSandbox: bool('LAUNCHER_SANDBOX', isLoopbackHost(host)),
    practitionerPatients: (PRACTITIONER_PATIENT_RULES as readonly string[]).includes(practitionerPatients) ? (practitionerPatients as PractitionerPatients) : 'all',
    export: exportConfig,
    localLogin,
    federation,
    claimMappings,
    resourceServers,
    validateProfiles: validateProfiles as ProfileValidationMode,
    packages,
  };
  if (problems.length) throw new ConfigError(problems);
  return config;
}

function statOrUndefined(file: string): ReturnType<typeof statSync> | undefined {
  try {
    return statSync(file);
  } catch {
    return undefined;
  }
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
