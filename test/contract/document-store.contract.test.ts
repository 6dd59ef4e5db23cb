/**
 * The DocumentStore contract (src/storage/document-store.ts), run on every implementation from
 * test/support/stores.ts.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DocumentCollection, DocumentStore } from '../../src/storage/document-store.js';
import { storeImplementations, type OpenStore } from '../support/stores.js';

interface Grant {
  n: number;
  nested?: unknown;
}

describe.each(storeImplementations())('DocumentStore contract on $name', (impl) => {
  let storage: OpenStore;
  let store: DocumentStore;
  let grants: DocumentCollection<Grant>;
  beforeEach(async () => {
    storage = await impl.open();
    store = storage.documents;
    grants = store.collection<Grant>('grants');
  });
  afterEach(async () => {
    await storage.dispose();
  });

  const past = () => Date.now() - 60_000;
  const future = () => Date.now() + 60_000;

  it('puts, gets and replaces documents with their metadata', async () => {
    expect(await grants.get('a')).toBeUndefined();
    expect(await grants.getStored('a')).toBeUndefined();
    const before = Date.now();
    const expiresAt = future();
    await grants.put('a', { n: 1 }, { expiresAt, keys: { uid: 'u1', grantId: 'g1', unused: undefined } });
    expect(await grants.get('a')).toEqual({ n: 1 });
    const stored = await grants.getStored('a');
    expect(stored).toEqual({ id: 'a', value: { n: 1 }, expiresAt, keys: { uid: 'u1', grantId: 'g1' }, updatedAt: expect.any(Number) });
    expect(stored!.updatedAt).toBeGreaterThanOrEqual(before);

    await grants.put('a', { n: 2 }, { keys: { uid: 'u2' } });
    expect(await grants.getStored('a')).toEqual({ id: 'a', value: { n: 2 }, keys: { uid: 'u2' }, updatedAt: expect.any(Number) });
    expect(await grants.findByKey('uid', 'u1')).toEqual([]);
    expect(await grants.findByKey('grantId', 'g1')).toEqual([]);
    expect(await grants.count()).toBe(1);
  });

  it('round-trips JSON values exactly, whatever their keys', async () => {
    const value = { n: 1, nested: { 'https://example.org/claim.name': ['x', 1.5, null, true], $where: 'literal', 'a.b': { '': '' }, unicode: 'zürich 😀' } };
    await grants.put('weird', value);
    expect(await grants.get('weird')).toEqual(value);
  });

  it('keeps collections apart', async () => {
    const sessions = store.collection<Grant>('sessions');
    await grants.put('same', { n: 1 }, { keys: { uid: 'u' } });
    await sessions.put('same', { n: 2 }, { keys: { uid: 'u' } });
    expect(await grants.get('same')).toEqual({ n: 1 });
    expect(await sessions.get('same')).toEqual({ n: 2 });
    expect(await grants.deleteByKey('uid', 'u')).toBe(1);
    expect(await sessions.get('same')).toEqual({ n: 2 });
    expect(await grants.count()).toBe(0);
    expect(await sessions.count()).toBe(1);
  });

  it('inserts only when no live document has the id', async () => {
    expect(await grants.insert('a', { n: 1 })).toBe(true);
    expect(await grants.insert('a', { n: 2 })).toBe(false);
    expect(await grants.get('a')).toEqual({ n: 1 });
    await grants.put('expired', { n: 1 }, { expiresAt: past(), keys: { uid: 'old' } });
    expect(await grants.insert('expired', { n: 2 }, { keys: { uid: 'new' } })).toBe(true);
    expect(await grants.getStored('expired')).toMatchObject({ value: { n: 2 }, keys: { uid: 'new' } });
    expect((await grants.getStored('expired'))?.expiresAt).toBeUndefined();
    expect(await grants.findByKey('uid', 'old')).toEqual([]);
  });

  it('replaces only if the document was not written since it was read', async () => {
    await grants.put('a', { n: 1 });
    const first = (await grants.getStored('a'))!;
    expect(await grants.replaceIf('a', first.updatedAt, { n: 2 }, { keys: { uid: 'x' } })).toBe(true);
    expect(await grants.replaceIf('a', first.updatedAt, { n: 3 })).toBe(false);
    const second = (await grants.getStored('a'))!;
    expect(second).toMatchObject({ value: { n: 2 }, keys: { uid: 'x' } });
    expect(second.updatedAt).toBeGreaterThan(first.updatedAt);
    expect(await grants.replaceIf('missing', second.updatedAt, { n: 4 })).toBe(false);
    expect(await grants.get('missing')).toBeUndefined();
  });

  it('does not replace or revive an expired document', async () => {
    const expiresAt = Date.now() + 250;
    await grants.put('soon', { n: 1 }, { expiresAt });
    const { updatedAt } = (await grants.getStored('soon'))!;
    await new Promise((resolve) => setTimeout(resolve, expiresAt - Date.now() + 10));
    expect(await grants.replaceIf('soon', updatedAt, { n: 2 })).toBe(false);
    expect(await grants.get('soon')).toBeUndefined();
  });

  it('changes updatedAt on every write, even within one millisecond', async () => {
    await grants.put('a', { n: 1 });
    const read = (await grants.getStored('a'))!;
    // Another writer replaces the document right away (likely in the same millisecond).
    await grants.put('a', { n: 2 });
    await grants.put('a', { n: 3 });
    expect((await grants.getStored('a'))!.updatedAt).toBeGreaterThan(read.updatedAt);
    expect(await grants.replaceIf('a', read.updatedAt, { n: 99 })).toBe(false);
    expect(await grants.get('a')).toEqual({ n: 3 });
  });

  it('lets exactly one of several concurrent replaceIf calls win', async () => {
    await grants.put('a', { n: 0 });
    const { updatedAt } = (await grants.getStored('a'))!;
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => grants.replaceIf('a', updatedAt, { n: i + 1 })));
    expect(results.filter(Boolean)).toHaveLength(1);
    expect((await grants.get('a'))!.n).toBe(results.indexOf(true) + 1);
  });

  it.skipIf(impl.lacks('unique-index'))('lets exactly one of several concurrent inserts win', async () => {
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => grants.insert('a', { n: i })));
    expect(results.filter(Boolean)).toHaveLength(1);
    expect(await grants.count()).toBe(1);
    expect((await grants.get('a'))!.n).toBe(results.indexOf(true));
  });

  it('takes a document once', async () => {
    await grants.put('a', { n: 1 }, { keys: { uid: 'u' } });
    const taken = await Promise.all([grants.take('a'), grants.take('a')]);
    expect(taken.filter((t) => t !== undefined)).toEqual([{ n: 1 }]);
    expect(await grants.get('a')).toBeUndefined();
    expect(await grants.findByKey('uid', 'u')).toEqual([]);
    await grants.put('expired', { n: 1 }, { expiresAt: past() });
    expect(await grants.take('expired')).toBeUndefined();
    expect(await grants.take('never')).toBeUndefined();
  });

  it('deletes by id and by secondary key', async () => {
    await grants.put('a', { n: 1 }, { keys: { grantId: 'g' } });
    await grants.put('b', { n: 2 }, { keys: { grantId: 'g', uid: 'u' } });
    await grants.put('c', { n: 3 }, { keys: { grantId: 'h' } });
    expect(await grants.delete('a')).toBe(true);
    expect(await grants.delete('a')).toBe(false);
    expect(await grants.deleteByKey('grantId', 'g')).toBe(1);
    expect(await grants.deleteByKey('grantId', 'g')).toBe(0);
    expect(await grants.findByKey('uid', 'u')).toEqual([]);
    expect((await grants.list()).map((d) => d.id)).toEqual(['c']);
  });

  it('finds and lists live documents, most recently written first', async () => {
    for (const id of ['a', 'b', 'c', 'd']) {
      await grants.put(id, { n: id.charCodeAt(0) }, { keys: { accountId: id === 'd' ? 'other' : 'acc' } });
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    await grants.put('b', { n: 0 }, { keys: { accountId: 'acc' } });
    await grants.put('old', { n: 0 }, { keys: { accountId: 'acc' }, expiresAt: past() });
    expect((await grants.findByKey('accountId', 'acc')).map((d) => d.id)).toEqual(['b', 'c', 'a']);
    expect((await grants.list()).map((d) => d.id)).toEqual(['b', 'd', 'c', 'a']);
    expect((await grants.list({ limit: 2 })).map((d) => d.id)).toEqual(['b', 'd']);
    expect((await grants.list({ key: { name: 'accountId', value: 'acc' }, limit: 2 })).map((d) => d.id)).toEqual(['b', 'c']);
    expect(await grants.count()).toBe(4);
  });

  it('hides expired documents at once and sweeps them', async () => {
    await grants.put('live', { n: 1 }, { expiresAt: future(), keys: { uid: 'u' } });
    await grants.put('dead', { n: 2 }, { expiresAt: past(), keys: { uid: 'u' } });
    await store.collection('sessions').put('dead', { n: 3 }, { expiresAt: past() });
    expect(await grants.get('dead')).toBeUndefined();
    expect(await grants.getStored('dead')).toBeUndefined();
    expect((await grants.findByKey('uid', 'u')).map((d) => d.id)).toEqual(['live']);
    expect((await grants.list()).map((d) => d.id)).toEqual(['live']);
    expect(await grants.count()).toBe(1);
    expect(await store.sweepExpired()).toBe(2);
    expect(await store.sweepExpired()).toBe(0);
    expect(await grants.get('live')).toEqual({ n: 1 });
  });
});
