/**
 * The change feed contract (src/storage/resource-store.ts `changes` and `onCommit`), run on every
 * implementation from test/support/stores.ts: every committed version, oldest first, in commit
 * order, resumable from a cursor on any instance; the in-process commit notification.
 *
 * MongoDB without a replica set (CongoDB here) polls its history behind a lag window
 * (storage/mongo/change-feed.ts), so reads wait until what was written has come through.
 * The change stream test runs only when MONGODB_URI points at a replica set.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ResourceStore, StoredVersion } from '../../src/storage/resource-store.js';
import { storeImplementations, type OpenStore } from '../support/stores.js';
import { expectStorageError, putOf, str } from './fixtures.js';

const key = (v: StoredVersion) => `${v.resourceType}/${v.id}/${v.versionId}${v.deleted ? ' deleted' : ''}`;

/** Reads the feed from `cursor` until `count` versions came (or 15 s passed), a few at a time. */
async function readFeed(
  store: Pick<ResourceStore, 'changes'>,
  cursor: string,
  count: number,
  limit = 3,
): Promise<{ versions: StoredVersion[]; cursor: string }> {
  const versions: StoredVersion[] = [];
  const deadline = Date.now() + 15_000;
  while (versions.length < count && Date.now() < deadline) {
    const page = await store.changes({ after: cursor, limit });
    expect(page.versions.length).toBeLessThanOrEqual(limit);
    versions.push(...page.versions);
    cursor = page.cursor;
    if (page.versions.length === 0) await new Promise((r) => setTimeout(r, 100));
  }
  return { versions, cursor };
}

describe.each(storeImplementations())('change feed on $name', (impl) => {
  let storage: OpenStore;
  let store: ResourceStore;
  beforeEach(async () => {
    storage = await impl.open();
    store = storage.resources;
  });
  afterEach(async () => {
    await storage.dispose();
  });

  it('starts at the current end and then gives every committed version in commit order', async () => {
    await store.put(putOf('Patient', 'before'));
    const start = await store.changes({ limit: 10 });
    expect(start.versions).toEqual([]);

    await store.put(putOf('Patient', 'a', [str('name', 'x')]));
    await store.put(putOf('Observation', 'o'));
    await store.put(putOf('Patient', 'a'));
    await store.delete({ resourceType: 'Observation', id: 'o' });
    await store.transaction(async (tx) => {
      await tx.put(putOf('Encounter', 't1'));
      await tx.put(putOf('Encounter', 't2'));
    });
    await store.bulkPut([putOf('Group', 'b1'), putOf('Group', 'b2'), putOf('Group', 'b3')]);
    // Refused writes are not changes.
    await expectStorageError(store.put(putOf('Patient', 'a', [], { ifMatch: '1' })), 'precondition-failed');
    await expect(
      store.transaction(async (tx) => {
        await tx.put(putOf('Encounter', 'undone'));
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    await store.put(putOf('Patient', 'last'));

    const { versions } = await readFeed(store, start.cursor, 10);
    expect(versions.map(key)).toEqual([
      'Patient/a/1',
      'Observation/o/1',
      'Patient/a/2',
      'Observation/o/2 deleted',
      'Encounter/t1/1',
      'Encounter/t2/1',
      'Group/b1/1',
      'Group/b2/1',
      'Group/b3/1',
      'Patient/last/1',
    ]);
    // Versions as history has them: content with meta, deletions without.
    expect(versions[0]!.resource).toMatchObject({ resourceType: 'Patient', id: 'a', meta: { versionId: '1', lastUpdated: versions[0]!.lastUpdated } });
    expect(versions[0]!.method).toBe('PUT');
    expect(versions[3]).toMatchObject({ deleted: true, method: 'DELETE', resource: undefined });
  });

  it('pages by limit and resumes from a cursor on another instance, after a restart too', async () => {
    const start = (await store.changes({ limit: 10 })).cursor;
    for (let i = 0; i < 5; i++) await store.put(putOf('Patient', `p${i}`));
    const first = await readFeed(store, start, 2, 2);
    expect(first.versions.map((v) => v.id)).toEqual(['p0', 'p1']);
    // The same cursor, read by another node (or this one restarted), goes on from there.
    const peer = (await storage.peer()).resources;
    const rest = await readFeed(peer, first.cursor, 3, 2);
    expect(rest.versions.map((v) => v.id)).toEqual(['p2', 'p3', 'p4']);
    // Reading again from a cursor gives the same versions again; at the end there is nothing new.
    expect((await readFeed(store, first.cursor, 3)).versions.map((v) => v.id)).toEqual(['p2', 'p3', 'p4']);
    const end = await store.changes({ after: rest.cursor, limit: 10 });
    expect(end.versions).toEqual([]);
    await peer.put(putOf('Patient', 'from-peer'));
    expect((await readFeed(store, end.cursor, 1)).versions.map(key)).toEqual(['Patient/from-peer/1']);
  });

  it('tells commit listeners after each committed write, not after a refused one', async () => {
    let calls = 0;
    const stop = store.onCommit(() => calls++);
    await store.put(putOf('Patient', 'a'));
    expect(calls).toBe(1);
    await store.delete({ resourceType: 'Patient', id: 'a' });
    expect(calls).toBe(2);
    await store.transaction(async (tx) => {
      await tx.put(putOf('Patient', 'b'));
      await tx.put(putOf('Patient', 'c'));
    });
    expect(calls).toBe(3);
    await store.bulkPut([putOf('Patient', 'd'), putOf('Patient', 'e')]);
    expect(calls).toBe(4);
    await expectStorageError(store.put(putOf('Patient', 'b', [], { mustBeNew: true })), 'conflict');
    await expect(store.transaction(() => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(calls).toBe(4);
    // A listener that throws does not fail the write.
    const stopThrowing = store.onCommit(() => {
      throw new Error('listener');
    });
    await store.put(putOf('Patient', 'f'));
    expect(calls).toBe(5);
    stop();
    stopThrowing();
    await store.put(putOf('Patient', 'g'));
    expect(calls).toBe(5);
  });

  it('refuses a cursor it did not make', async () => {
    await expectStorageError(store.changes({ after: 'not-a-cursor', limit: 10 }), 'invalid-cursor');
  });

  it.skipIf(impl.name !== 'mongodb')('follows a change stream on a replica set', async (ctx) => {
    const capabilities = (store as unknown as { capabilities?: { transactions: boolean } }).capabilities;
    if (!capabilities?.transactions) ctx.skip();
    const start = (await store.changes({ limit: 10 })).cursor;
    expect(start.startsWith('rt:')).toBe(true);
    await store.put(putOf('Patient', 'a'));
    await store.put(putOf('Patient', 'b'));
    const read = await readFeed(store, start, 2);
    expect(read.versions.map(key)).toEqual(['Patient/a/1', 'Patient/b/1']);
  });
});
