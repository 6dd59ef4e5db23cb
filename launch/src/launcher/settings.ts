/**
 * Copy-ready settings for the app a developer is testing: the endpoints, and the same launch
 * configured for fhirclient (SMART's JavaScript client), fhir-kit-client, the Inferno SMART App
 * Launch test kit, and curl (backend services).
 */
export interface SettingsInput {
  fhirBaseUrl: string;
  endpoints: {
    authorization: string;
    token: string;
    registration: string;
    introspection: string;
    revocation: string;
    jwksUri: string;
    management: string;
    issuer: string;
  };
  smartConfiguration: string;
  clientId: string;
  clientKind: 'public' | 'symmetric' | 'asymmetric';
  scope: string;
  redirectUri: string;
  launchUrl: string;
  launchType: 'ehr' | 'patient' | 'provider' | 'backend';
}

export interface Snippet {
  id: string;
  title: string;
  note: string;
  text: string;
}

export function settingsSnippets(s: SettingsInput): Snippet[] {
  const ehr = s.launchType === 'ehr';
  const secretLine = s.clientKind === 'symmetric' ? '\n  clientSecret: "<the client_secret from registration>", // only in a server-side app' : '';
  const snippets: Snippet[] = [
    {
      id: 'endpoints',
      title: 'Endpoints',
      note: 'Everything an app discovers from the FHIR base (iss).',
      text: [
        `iss (FHIR base)         ${s.fhirBaseUrl}`,
        `SMART configuration     ${s.smartConfiguration}`,
        `authorization endpoint  ${s.endpoints.authorization}`,
        `token endpoint          ${s.endpoints.token}`,
        `registration endpoint   ${s.endpoints.registration}`,
        `introspection endpoint  ${s.endpoints.introspection}`,
        `revocation endpoint     ${s.endpoints.revocation}`,
        `JWKS (signing keys)     ${s.endpoints.jwksUri}`,
        `client_id               ${s.clientId}`,
        `scope                   ${s.scope}`,
        ...(s.launchType === 'backend' ? [] : [`redirect_uri            ${s.redirectUri}`, `launch URL              ${s.launchUrl}`]),
      ].join('\n'),
    },
  ];
  if (s.launchType !== 'backend') {
    snippets.push(
      {
        id: 'fhirclient',
        title: 'fhirclient (SMART JS client)',
        note: ehr
          ? 'On your launch page: fhirclient reads iss and launch from the URL the EHR opened.'
          : 'On your launch page (standalone: iss is given here).',
        text: `// launch page
FHIR.oauth2.authorize({${ehr ? '' : `\n  iss: "${s.fhirBaseUrl}",`}
  clientId: "${s.clientId}",${secretLine}
  scope: "${s.scope}",
  redirectUri: "${s.redirectUri}",
});

// redirect page
const client = await FHIR.oauth2.ready();
const patient = await client.patient.read();`,
      },
      {
        id: 'fhir-kit-client',
        title: 'fhir-kit-client',
        note: 'Discovery and reads with fhir-kit-client; the authorization request (with PKCE) and the code exchange are plain OAuth. The bundled sample app does exactly this (launch/src/sample-app/oauth.ts).',
        text: `import { Client } from 'fhir-kit-client';

const fhir = new Client({ baseUrl: '${s.fhirBaseUrl}' });
const { authorizeUrl, tokenUrl } = await fhir.smartAuthMetadata();
// 1. Send the browser to authorizeUrl with: response_type=code, client_id=${s.clientId},
//    redirect_uri=${s.redirectUri}, scope, state, aud=${s.fhirBaseUrl},${ehr ? ' launch=<from the launch URL>,' : ''}
//    code_challenge=<SHA-256 of a random verifier, base64url>, code_challenge_method=S256
// 2. At the redirect URI, POST to tokenUrl: grant_type=authorization_code, code, redirect_uri,
//    client_id, code_verifier. The response has access_token, scope, patient, id_token ...
fhir.bearerToken = token.access_token;
const patient = await fhir.read({ resourceType: 'Patient', id: token.patient });
const vitals = await fhir.search({ resourceType: 'Observation', searchParams: { patient: token.patient, category: 'vital-signs' } });`,
      },
      {
        id: 'inferno',
        title: 'Inferno SMART App Launch test kit',
        note: 'Inputs of the SMART App Launch STU2 suite (names as in its input forms; newer kit versions group client id, secret and scopes as "SMART credentials"). Register Inferno\'s own redirect URI (…/custom/smart/redirect) and launch URI (…/custom/smart/launch) as a client first.',
        text: JSON.stringify(
          {
            url: s.fhirBaseUrl,
            [`${ehr ? 'ehr' : 'standalone'}_client_id`]: s.clientId,
            ...(s.clientKind === 'symmetric' ? { [`${ehr ? 'ehr' : 'standalone'}_client_secret`]: '<client_secret>' } : {}),
            [`${ehr ? 'ehr' : 'standalone'}_requested_scopes`]: s.scope,
            use_pkce: 'true',
            pkce_code_challenge_method: 'S256',
            smart_authorization_url: s.endpoints.authorization,
            smart_token_url: s.endpoints.token,
          },
          null,
          2,
        ),
      },
    );
  } else {
    snippets.push({
      id: 'curl',
      title: 'curl (backend service)',
      note:
        s.clientKind === 'asymmetric'
          ? 'A backend service signs a short-lived JWT (the client assertion) with its private key for each token request.'
          : 'A symmetric backend client sends its secret with HTTP Basic.',
      text:
        s.clientKind === 'asymmetric'
          ? `curl -s ${s.endpoints.token} \\
  -d grant_type=client_credentials \\
  -d scope='${s.scope}' \\
  -d client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer \\
  -d client_assertion=$ASSERTION   # JWT: iss=sub=${s.clientId}, aud=${s.endpoints.token}, exp<=5 min, jti, signed ES384/RS384

curl -s -H "Authorization: Bearer $TOKEN" '${s.fhirBaseUrl}/Patient?_count=5'`
          : `curl -s -u '${s.clientId}:<client_secret>' ${s.endpoints.token} \\
  -d grant_type=client_credentials -d scope='${s.scope}'

curl -s -H "Authorization: Bearer $TOKEN" '${s.fhirBaseUrl}/Patient?_count=5'`,
    });
  }
  return snippets;
}
