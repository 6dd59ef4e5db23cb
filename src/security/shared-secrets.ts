/**
 * Secrets every node of one store shares (CSRF tokens, paging-cursor seals): 32 random bytes each,
 * kept in the document store's `security.secrets` and made by the first node that needs one
 * (the first insert wins; the others read it back).
 */
import { randomBytes } from 'node:crypto';
import type { DocumentStore } from '../storage/document-store.js';

const SECRETS_COLLECTION = 'security.secrets';

/** The shared secret named `name`, created on first use. */
export async function sharedSecret(documents: DocumentStore, name: string): Promise<Buffer> {
  const secrets = documents.collection<{ key: string }>(SECRETS_COLLECTION);
  const existing = await secrets.get(name);
  if (existing) return Buffer.from(existing.key, 'base64url');
  try {
    await secrets.insert(name, { key: randomBytes(32).toString('base64url') });
  } catch {
    // Another node inserted it first: read theirs below.
  }
  return Buffer.from((await secrets.get(name))!.key, 'base64url');
}
