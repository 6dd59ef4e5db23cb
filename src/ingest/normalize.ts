/**
 * Turns whatever the loader reads into transaction Bundles that load idempotently:
 *
 * - every resource is written with PUT `Type/id` (its own id; for `urn:uuid:` fullUrls without an
 *   id, the uuid), so loading the same data twice changes nothing and ids stay those of the data;
 * - `urn:uuid:` references are rewritten to `Type/id` here, so an entry can be dropped without
 *   breaking the references to it;
 * - a resource already loaded in this run with the same content is dropped (Synthea repeats its
 *   Organizations and Practitioners in every patient bundle).
 */
import type { Bundle, BundleEntry, FhirResource, Resource } from 'fhir/r4';
import { createHash, randomUUID } from 'node:crypto';
import { forEachReference } from '../fhir/references.js';
import { isFhirId } from '../r4/ids.js';

export interface NormalizeState {
  /** `Type/id` → hash of the content already sent in this run. */
  seen: Map<string, string>;
}

export interface NormalizedBundle {
  bundle: Bundle;
  /** Entries dropped as repeats of something already loaded. */
  duplicates: number;
  /** Entries that are not resources to write (e.g. GET entries), left out. */
  skipped: number;
}

export function newNormalizeState(): NormalizeState {
  return { seen: new Map() };
}

/** Normalizes the entries of any Bundle (or a list of resources) into transaction Bundles of at most `chunkSize` entries. */
export function normalize(source: Bundle | Resource[], state: NormalizeState, chunkSize: number): NormalizedBundle[] {
  const entries: BundleEntry[] = Array.isArray(source) ? source.map((resource) => ({ resource: resource as FhirResource })) : (source.entry ?? []);
  const targets = new Map<string, string>();
  const writes: Array<{ key: string; resource: Resource }> = [];
  let skipped = 0;

  // First pass: decide each entry's Type/id, so references can be rewritten before chunking.
  for (const entry of entries) {
    const resource = entry.resource;
    const method = entry.request?.method;
    if (!resource || (method !== undefined && method !== 'POST' && method !== 'PUT')) {
      skipped++;
      continue;
    }
    let id = resource.id;
    if (!id || !isFhirId(id)) {
      const uuid = /^urn:uuid:([0-9a-f-]{36})$/i.exec(entry.fullUrl ?? '')?.[1];
      id = uuid ?? randomUUID();
    }
    if (method === 'PUT' && entry.request?.url && !entry.request.url.includes('?')) {
      const fromUrl = entry.request.url.split('/')[1];
      if (fromUrl && isFhirId(fromUrl)) id = fromUrl;
    }
    const key = `${resource.resourceType}/${id}`;
    if (entry.fullUrl) targets.set(entry.fullUrl, key);
    writes.push({ key, resource: { ...resource, id } as Resource });
  }

  const out: NormalizedBundle[] = [];
  let current: BundleEntry[] = [];
  let duplicates = 0;
  const flush = () => {
    if (current.length || duplicates) out.push({ bundle: { resourceType: 'Bundle', type: 'transaction', entry: current }, duplicates, skipped: 0 });
    current = [];
    duplicates = 0;
  };
  for (const write of writes) {
    rewriteReferences(write.resource, targets);
    const hash = createHash('sha1').update(JSON.stringify(write.resource)).digest('base64');
    if (state.seen.get(write.key) === hash) {
      duplicates++;
      continue;
    }
    state.seen.set(write.key, hash);
    current.push({ resource: write.resource as FhirResource, request: { method: 'PUT', url: write.key } });
    if (current.length >= chunkSize) flush();
  }
  flush();
  if (out.length === 0) out.push({ bundle: { resourceType: 'Bundle', type: 'transaction', entry: [] }, duplicates: 0, skipped });
  else out[0]!.skipped = skipped;
  return out;
}

function rewriteReferences(resource: unknown, targets: Map<string, string>): void {
  forEachReference(resource, (holder) => {
    const target = targets.get(holder.reference);
    if (target) holder.reference = target;
  });
}
