/**
 * Paging cursors leave the server sealed (AES-256-GCM with a key every node shares), so a client
 * can neither read nor forge the store's position inside one. The stores' cursors hold the row
 * key of the last row shown (SQLite's rid, MongoDB's ObjectId): read by a restricted token, the
 * difference between two of its own rows would count the writes made for others in between.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { StorageError } from '../storage/errors.js';

export interface CursorSeal {
  seal(cursor: string): string;
  /** The cursor inside `sealed`; a StorageError `invalid-cursor` (400) for anything else. */
  open(sealed: string): string;
}

const IV_BYTES = 12;
const TAG_BYTES = 16;
/** Longer than any cursor a store makes (sort values are bounded by the search's own limits). */
const MAX_SEALED = 8192;

/** A seal with `key` (32 bytes; a random one when absent: cursors then work on this node only). */
export function cursorSeal(key: Buffer = randomBytes(32)): CursorSeal {
  if (key.length !== 32) throw new Error('The cursor key must be 32 bytes');
  return {
    seal(cursor) {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      const body = Buffer.concat([cipher.update(cursor, 'utf8'), cipher.final()]);
      return Buffer.concat([iv, body, cipher.getAuthTag()]).toString('base64url');
    },
    open(sealed) {
      const bytes = sealed.length <= MAX_SEALED && /^[A-Za-z0-9_-]+$/.test(sealed) ? Buffer.from(sealed, 'base64url') : Buffer.alloc(0);
      if (bytes.length > IV_BYTES + TAG_BYTES) {
        try {
          const decipher = createDecipheriv('aes-256-gcm', key, bytes.subarray(0, IV_BYTES));
          decipher.setAuthTag(bytes.subarray(bytes.length - TAG_BYTES));
          return Buffer.concat([decipher.update(bytes.subarray(IV_BYTES, bytes.length - TAG_BYTES)), decipher.final()]).toString('utf8');
        } catch {
          // Tampered, truncated or sealed with another key: refused below like any bad cursor.
        }
      }
      throw new StorageError('invalid-cursor', 'The paging cursor (_cursor) is not valid; start again from the first page');
    },
  };
}
