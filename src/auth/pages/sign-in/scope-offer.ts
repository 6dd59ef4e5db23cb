/**
 * Consent: which of the requested scopes the user grants (all checked by default; category
 * sub-scopes offered for Observation and Condition), turned into an oidc-provider Grant of its
 * own with the launch context stored beside it.
 *
 * https://github.com/panva/node-oidc-provider/blob/main/example/routes/express.js (consent)
 * https://hl7.org/fhir/smart-app-launch/STU2.2/scopes-and-launch-context.html
 */
import type { Provider } from 'oidc-provider';
import { granularOptions } from '../../../smart/granular.js';
import { describeScope } from '../../../smart/describe.js';
import { parseScopes, withoutRedundant, type Scope } from '../../../smart/scopes.js';
import type { ConsentScope } from '../views/consent.js';

/** OpenID scopes granted for id_token and userinfo (the rest is granted for the FHIR API). */
const OIDC_SCOPES = new Set(['openid', 'fhirUser', 'profile', 'email', 'offline_access']);

export interface ScopeOffer {
  requested: Scope[];
  /** Every scope string the user may grant: the requested ones and their category sub-scopes. */
  allowed: Map<string, Scope>;
  view: ConsentScope[];
}

export function offerScopes(scopeString: string | undefined): ScopeOffer {
  const { scopes } = parseScopes(scopeString);
  const allowed = new Map<string, Scope>();
  const view: ConsentScope[] = [];
  for (const scope of scopes) {
    allowed.set(scope.raw, scope);
    const options = scope.kind === 'resource' ? granularOptions(scope) : [];
    for (const option of options) {
      const sub = parseScopes(option.scope).scopes[0];
      if (sub) allowed.set(option.scope, sub);
    }
    view.push({ scope: scope.raw, description: describeScope(scope), options });
  }
  return { requested: scopes, allowed, view };
}

/** The scopes the user granted: only offered ones, without those another granted scope covers. */
export function grantedScopes(offer: ScopeOffer, submitted: string[]): Scope[] {
  const chosen = [...new Set(submitted)].map((s) => offer.allowed.get(s)).filter((s): s is Scope => s !== undefined);
  return withoutRedundant(chosen);
}

/** Saves a Grant holding exactly the granted scopes; returns its id. */
export async function saveGrant(
  provider: Provider,
  input: { accountId: string; clientId: string; fhirBaseUrl: string; granted: Scope[]; otherResources?: Array<{ indicator: string; scopes: string[] }> },
): Promise<string> {
  const grant = new provider.Grant({ accountId: input.accountId, clientId: input.clientId });
  const raw = input.granted.map((s) => s.raw);
  const oidc = raw.filter((s) => OIDC_SCOPES.has(s));
  if (oidc.length) grant.addOIDCScope(oidc.join(' '));
  if (raw.length) grant.addResourceScope(input.fhirBaseUrl, raw.join(' '));
  // Scopes of other resource servers (RFC 8707 resource indicators), each under its own audience.
  for (const other of input.otherResources ?? []) grant.addResourceScope(other.indicator, other.scopes.join(' '));
  return grant.save();
}
