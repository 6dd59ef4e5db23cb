/**
 * A StoredVersion that parses or serializes its JSON only when asked. Reads on the hot path
 * hand the stored JSON text straight to the HTTP response without a parse/stringify round trip.
 */
import type { Resource } from 'fhir/r4';
import type { StoredVersion } from './resource-store.js';

export class LazyVersion implements StoredVersion {
  #json: string | undefined;
  #resource: Resource | undefined;

  constructor(
    readonly resourceType: string,
    readonly id: string,
    readonly versionId: string,
    readonly lastUpdated: string,
    readonly deleted: boolean,
    readonly method: StoredVersion['method'],
    content: { json?: string | undefined; resource?: Resource | undefined },
  ) {
    this.#json = content.json;
    this.#resource = content.resource;
  }

  get resource(): Resource | undefined {
    if (this.deleted) return undefined;
    if (this.#resource === undefined && this.#json !== undefined) this.#resource = JSON.parse(this.#json) as Resource;
    return this.#resource;
  }

  /** The resource as JSON text (undefined for a deletion). */
  get json(): string | undefined {
    if (this.deleted) return undefined;
    if (this.#json === undefined && this.#resource !== undefined) this.#json = JSON.stringify(this.#resource);
    return this.#json;
  }
}

/** JSON text of a version, whatever its implementation. */
export function versionJson(version: StoredVersion): string | undefined {
  return version instanceof LazyVersion ? version.json : version.resource && JSON.stringify(version.resource);
}

/** FHIR instant from epoch ms. */
export function toInstant(ms: number): string {
  return new Date(ms).toISOString();
}

/**
 * Stamps meta.versionId and meta.lastUpdated on a copy of `resource`, keeping the rest of meta
 * and putting meta first after resourceType and id (the order FHIR's JSON examples use).
 */
export function stampMeta(resource: Resource, versionId: string, lastUpdated: string): Resource {
  const { resourceType, id, meta, ...rest } = resource;
  void id;
  return {
    resourceType,
    id: (resource as { id?: string }).id,
    meta: { ...meta, versionId, lastUpdated },
    ...rest,
  } as Resource;
}
