/**
 * The authorization server's collaborators, built once by auth/index.ts and handed to the
 * provider configuration, its middleware and the pages. No module-level state.
 */
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import type { CsrfTokens } from '../security/csrf.js';
import type { OutboundFetch } from '../security/outbound-fetch.js';
import type { FailureCounter } from '../security/rate-limit.js';
import type { RevocationNotices } from '../security/revocation-notices.js';
import type { SmartEndpoints } from '../smart/smart-configuration.js';
import type { ParseOptions } from '../smart/scopes.js';
import type { DocumentStore } from '../storage/document-store.js';
import type { AccountStore } from './accounts.js';
import type { ClaimMapper } from './claims/mapper.js';
import type { Federation } from './federation/service.js';
import type { GrantRegistry } from './grants.js';
import type { LaunchContexts } from './launch-context.js';
import type { PatientDirectory } from '../directory/patient-directory.js';
import type { ResourceServerRegistry } from './resource-servers/registry.js';
import type { AccessTokenVerifier } from '../access/token-verification.js';

export interface AuthServices {
  config: Config;
  logger: Logger;
  documents: DocumentStore;
  accounts: AccountStore;
  launches: LaunchContexts;
  grants: GrantRegistry;
  /** Tells this node's caches about revocations made here (security/revocation-notices.ts). */
  revocations: RevocationNotices;
  verifier: AccessTokenVerifier;
  /** Verifies tokens of this issuer for any of its resource servers (introspection, revocation, gateways). */
  issuedTokens: AccessTokenVerifier;
  /** Resource servers besides the FHIR API (resource-servers/). */
  resourceServers: ResourceServerRegistry;
  /** Operator-configured claims (claims/). */
  claims: ClaimMapper;
  /** Every fetch made on someone's behalf (client JWKS, identity providers, JWT bearer issuers). */
  outboundFetch: OutboundFetch;
  /** Sign-in through upstream OpenID providers (federation/). */
  federation: Federation;
  directory: PatientDirectory;
  endpoints: SmartEndpoints;
  /** The SMART scope grammar as this server applies it (known resource types only). */
  parse: ParseOptions;
  /** Synchronizer tokens of the HTML forms (security/csrf.ts). */
  csrf: CsrfTokens;
  /** Failed sign-ins per client address (per account: AccountStore). */
  signInsByAddress: FailureCounter;
  /** Whether cookies are marked Secure (https BASE_URL, or a loopback secure context). */
  secureCookies: boolean;
  /** Where the store is, for the grants page (never credentials). */
  storageDescription: string;
  /** Rotates the signing keys and reloads this node's provider. */
  rotateKeys(): Promise<void>;
}
