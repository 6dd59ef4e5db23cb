/** Paging cursors leave sealed: readable and forgeable by no client (access/cursor-seal.ts). */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { cursorSeal } from '../../../src/access/cursor-seal.js';
import { StorageError } from '../../../src/storage/errors.js';

describe('cursor seal', () => {
  const key = randomBytes(32);
  const seal = cursorSeal(key);
  const cursor = Buffer.from(JSON.stringify(['a', ['2024-01-01'], 1234])).toString('base64url');

  it('opens what it sealed, and nothing in the sealed text reads as the cursor', () => {
    const sealed = seal.seal(cursor);
    expect(seal.open(sealed)).toBe(cursor);
    expect(sealed).not.toContain(cursor);
    expect(Buffer.from(sealed, 'base64url').toString('latin1')).not.toContain('1234');
    // Two seals of one cursor differ (a fresh IV each time): equal positions are not recognisable.
    expect(seal.seal(cursor)).not.toBe(sealed);
  });

  it('opens the cursors of another node with the same key, and refuses those of another key', () => {
    expect(cursorSeal(Buffer.from(key)).open(seal.seal(cursor))).toBe(cursor);
    expect(() => cursorSeal(randomBytes(32)).open(seal.seal(cursor))).toThrow(StorageError);
  });

  it('refuses tampered, truncated, unsealed and oversized cursors as invalid-cursor', () => {
    const sealed = seal.seal(cursor);
    const bytes = Buffer.from(sealed, 'base64url');
    bytes[14] = bytes[14]! ^ 1;
    for (const bad of [bytes.toString('base64url'), sealed.slice(0, -4), cursor, '', 'not base64!', 'A'.repeat(9000)]) {
      expect(() => seal.open(bad), bad.slice(0, 20)).toThrow(expect.objectContaining({ code: 'invalid-cursor' }));
    }
  });
});
