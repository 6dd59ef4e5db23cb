/**
 * Walking the references of a resource: every object with a string `reference` (Reference
 * datatypes, wherever they are nested). Used to rewrite `urn:uuid:` fullUrls in transaction
 * Bundles and in the loader. https://hl7.org/fhir/R4/references.html
 */
export type ReferenceHolder = Record<string, unknown> & { reference: string };

/** Calls `visit` for each reference holder in `node`, depth first; `visit` may change it in place. */
export function forEachReference(node: unknown, visit: (holder: ReferenceHolder) => void): void {
  if (Array.isArray(node)) {
    for (const item of node) forEachReference(item, visit);
    return;
  }
  if (typeof node !== 'object' || node === null) return;
  const record = node as Record<string, unknown>;
  if (typeof record.reference === 'string') visit(record as ReferenceHolder);
  for (const [key, value] of Object.entries(record)) {
    if (key !== 'reference' && typeof value === 'object' && value !== null) forEachReference(value, visit);
  }
}
