/**
 * Other APIs' scopes on the consent page: for each resource an authorization request names
 * (RFC 8707 `resource`) that is a registered resource server, the requested scopes of that API,
 * described as the operator registered them. What the user keeps checked is granted for that
 * resource (the grant's resource scope), so the code exchanges for a token with `aud` = the API.
 */
import type { ResourceServerRegistry } from '../../policy/resource-servers/registry.js';
import { requestedResources } from '../../policy/resource-servers/resource-indicators.js';
import type { ConsentScope } from '../views/consent.js';

export interface ResourceScopeOffer {
  indicator: string;
  name: string;
  /** The requested scopes of this API. */
  scopes: string[];
  view: ConsentScope[];
}

export async function offerResourceScopes(
  registry: Pick<ResourceServerRegistry, 'get'>,
  fhirBaseUrl: string,
  params: Record<string, unknown>,
): Promise<ResourceScopeOffer[]> {
  const requested = String(params.scope ?? '')
    .split(' ')
    .filter(Boolean);
  const offers: ResourceScopeOffer[] = [];
  for (const indicator of requestedResources(params)) {
    if (indicator === fhirBaseUrl) continue;
    const rs = await registry.get(indicator);
    if (!rs) continue;
    const scopes = requested.filter((s) => Object.hasOwn(rs.scopes, s));
    offers.push({ indicator, name: rs.name, scopes, view: scopes.map((s) => ({ scope: s, description: `${rs.name}: ${rs.scopes[s]}`, options: [] })) });
  }
  return offers;
}

/** The submitted scopes that belong to each offered API. */
export function grantedResourceScopes(offers: readonly ResourceScopeOffer[], submitted: readonly string[]): Array<{ indicator: string; scopes: string[] }> {
  const chosen = new Set(submitted);
  return offers.map((o) => ({ indicator: o.indicator, scopes: o.scopes.filter((s) => chosen.has(s)) })).filter((g) => g.scopes.length > 0);
}
