/**
 * Evaluates the operator's claim mappings (CLAIM_MAPPINGS, config/claims.ts) for one account: the values come from
 * the account, from the upstream claims remembered at its last federated sign-in, or from its
 * fhirUser resource (read in-process through the FHIR core, compiled FHIRPath). A mapping
 * appears only in the targets it lists, only when its scope is granted and, for access tokens,
 * only for its audiences: "where configured and nowhere else".
 */
import type { Resource } from 'fhir/r4';
import fhirpath from 'fhirpath';
import r4 from 'fhirpath/fhir-context/r4';
import type { StoredAccount } from '../accounts/account-store.js';
import type { ClaimMapping, ClaimTarget } from '../../config/claims.js';

/** What the mapper needs to read a fhirUser resource (`Practitioner/123`). */
export type ResourceReader = (reference: string) => Promise<Resource | undefined>;

export interface ClaimRequest {
  target: ClaimTarget;
  /** Scopes granted (id_token, userinfo) or of the access token. */
  scopes: ReadonlySet<string>;
  /** The access token's audience (access_token only). */
  audience?: string;
}

type Compiled = (resource: unknown) => unknown[];

function primitive(value: unknown): string | number | boolean | undefined {
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return value;
  if (value && typeof value === 'object' && typeof (value as { toNumber?: unknown }).toNumber === 'function')
    return (value as { toNumber(): number }).toNumber();
  return undefined;
}

export class ClaimMapper {
  readonly #compiled = new Map<string, Compiled>();

  constructor(
    readonly mappings: readonly ClaimMapping[],
    private readonly readResource: ResourceReader,
  ) {
    for (const m of mappings) {
      if (m.source.kind === 'fhirUser') {
        const fn = fhirpath.compile(m.source.fhirpath, r4);
        this.#compiled.set(m.claim, (resource) => fn(resource as Record<string, unknown>) as unknown[]);
      }
    }
  }

  /**
   * oidc-provider's `claims` option: which claims each scope releases. A mapping with a scope is
   * released with it; one without, with `openid`.
   */
  scopeClaims(base: Record<string, string[]>): Record<string, string[]> {
    const out: Record<string, string[]> = Object.fromEntries(Object.entries(base).map(([k, v]) => [k, [...v]]));
    for (const m of this.mappings) {
      if (!m.in.has('id_token') && !m.in.has('userinfo')) continue;
      (out[m.scope ?? 'openid'] ??= []).push(m.claim);
    }
    return out;
  }

  /** The mapped claims for one use of the account's identity. */
  async claimsFor(account: StoredAccount, request: ClaimRequest): Promise<Record<string, unknown>> {
    const applicable = this.mappings.filter(
      (m) =>
        m.in.has(request.target) &&
        (m.scope === undefined || request.scopes.has(m.scope)) &&
        (request.target !== 'access_token' || m.audiences === undefined || (request.audience !== undefined && m.audiences.includes(request.audience))),
    );
    if (applicable.length === 0) return {};
    const needsResource = applicable.some((m) => m.source.kind === 'fhirUser');
    const resource = needsResource && account.fhirUser ? await this.readResource(account.fhirUser) : undefined;
    const out: Record<string, unknown> = {};
    for (const m of applicable) {
      const values = this.#values(m, account, resource);
      if (values.length === 0) continue;
      out[m.claim] = m.multiple ? values : values[0];
    }
    return out;
  }

  #values(mapping: ClaimMapping, account: StoredAccount, resource: Resource | undefined): Array<string | number | boolean> {
    const { source } = mapping;
    if (source.kind === 'account') {
      const name = account.name?.text ?? ([account.name?.given, account.name?.family].filter(Boolean).join(' ') || undefined);
      const value = { id: account.id, username: account.username, email: account.email, name, fhirUser: account.fhirUser }[source.field];
      return value === undefined ? [] : [value];
    }
    if (source.kind === 'upstream') {
      const value = account.upstream?.claims[source.claim];
      const list = Array.isArray(value) ? value : [value];
      return list.map(primitive).filter((v): v is string | number | boolean => v !== undefined);
    }
    if (!resource) return [];
    let found: unknown[];
    try {
      found = this.#compiled.get(mapping.claim)!(resource);
    } catch {
      return [];
    }
    return found.map(primitive).filter((v): v is string | number | boolean => v !== undefined);
  }
}
