/**
 * The SMART configuration document (`/.well-known/smart-configuration`) and the
 * CapabilityStatement's SMART security section, built from one set of endpoint URLs so the two
 * can never disagree.
 *
 * https://hl7.org/fhir/smart-app-launch/STU2.2/conformance.html
 */
import type { CapabilityStatementRestSecurity } from 'fhir/r4';

/** Every capability Bedside implements (STU2.2 §Capabilities). Advertise only what works. */
export const SMART_CAPABILITIES = [
  'launch-ehr',
  'launch-standalone',
  'authorize-post',
  'client-public',
  'client-confidential-symmetric',
  'client-confidential-asymmetric',
  'sso-openid-connect',
  'context-banner',
  'context-style',
  'context-ehr-patient',
  'context-ehr-encounter',
  'context-standalone-patient',
  'context-standalone-encounter',
  'permission-offline',
  'permission-online',
  'permission-patient',
  'permission-user',
  'permission-v1',
  'permission-v2',
] as const;

export type SmartCapability = (typeof SMART_CAPABILITIES)[number];

/** Absolute URLs of the authorization server's endpoints. */
export interface SmartEndpoints {
  issuer: string;
  jwksUri: string;
  authorization: string;
  token: string;
  introspection: string;
  revocation: string;
  registration: string;
  /** Where a user sees and revokes the apps they authorized (SMART `management_endpoint`). */
  management: string;
  userinfo?: string;
}

export interface SmartConfigurationInput {
  endpoints: SmartEndpoints;
  capabilities: readonly SmartCapability[];
  scopesSupported: readonly string[];
  grantTypesSupported: readonly string[];
  tokenEndpointAuthMethods: readonly string[];
  tokenEndpointAuthSigningAlgs: readonly string[];
}

/** The JSON body of `/.well-known/smart-configuration` (STU2.2 §Metadata). */
export function buildSmartConfiguration(input: SmartConfigurationInput): Record<string, unknown> {
  const { endpoints } = input;
  return {
    issuer: endpoints.issuer,
    jwks_uri: endpoints.jwksUri,
    authorization_endpoint: endpoints.authorization,
    token_endpoint: endpoints.token,
    grant_types_supported: [...input.grantTypesSupported],
    token_endpoint_auth_methods_supported: [...input.tokenEndpointAuthMethods],
    token_endpoint_auth_signing_alg_values_supported: [...input.tokenEndpointAuthSigningAlgs],
    registration_endpoint: endpoints.registration,
    scopes_supported: [...input.scopesSupported],
    response_types_supported: ['code'],
    management_endpoint: endpoints.management,
    introspection_endpoint: endpoints.introspection,
    revocation_endpoint: endpoints.revocation,
    ...(endpoints.userinfo ? { userinfo_endpoint: endpoints.userinfo } : {}),
    code_challenge_methods_supported: ['S256'],
    capabilities: [...input.capabilities],
  };
}

const OAUTH_URIS = 'http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris';

/** The CapabilityStatement `rest.security` with the oauth-uris extension (STU2.2 §Capability Statement). */
export function buildSmartSecurity(endpoints: SmartEndpoints): CapabilityStatementRestSecurity {
  return {
    cors: true,
    service: [
      {
        coding: [{ system: 'http://terminology.hl7.org/CodeSystem/restful-security-service', code: 'SMART-on-FHIR' }],
        text: 'OAuth2 using SMART-on-FHIR profile (see http://docs.smarthealthit.org)',
      },
    ],
    extension: [
      {
        url: OAUTH_URIS,
        extension: [
          { url: 'authorize', valueUri: endpoints.authorization },
          { url: 'token', valueUri: endpoints.token },
          { url: 'introspect', valueUri: endpoints.introspection },
          { url: 'revoke', valueUri: endpoints.revocation },
          { url: 'register', valueUri: endpoints.registration },
          { url: 'manage', valueUri: endpoints.management },
        ],
      },
    ],
  };
}

/** A representative list for `scopes_supported` (the grammar allows any resource type). */
export const SCOPES_SUPPORTED: readonly string[] = [
  'openid',
  'fhirUser',
  'profile',
  'launch',
  'launch/patient',
  'launch/encounter',
  'offline_access',
  'online_access',
  'patient/*.cruds',
  'patient/*.rs',
  'user/*.cruds',
  'user/*.rs',
  'system/*.cruds',
  'system/*.rs',
  'patient/*.read',
  'patient/*.write',
  'patient/*.*',
  'user/*.read',
  'user/*.write',
  'user/*.*',
  'system/*.read',
  'system/*.write',
  'system/*.*',
];
