/**
 * The ResourceStore contract (src/storage/resource-store.ts), run on every implementation
 * from test/support/stores.ts. Index rows are written by hand (fixtures.ts).
 */
import type { Patient, Resource } from 'fhir/r4';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { PutRequest, ResourceStore, SearchRequest, StoredVersion } from '../../src/storage/resource-store.js';
import type { Condition, IndexEntry, IndexField, IndexTable, SortKey } from '../../src/storage/search-index.js';
import { storeImplementations, type OpenStore, type StoreImplementation } from '../support/stores.js';
import {
  ALL,
  and,
  comp,
  date,
  expectStorageError,
  idsOf,
  LOINC,
  msOf,
  not,
  num,
  or,
  p,
  putOf,
  qty,
  ref,
  row,
  str,
  tick,
  tok,
  UCUM,
  uri,
  yearRange,
} from './fixtures.js';

/** Opens a fresh, empty store before each test of the enclosing describe. */
function freshStore(impl: StoreImplementation): { readonly store: ResourceStore; readonly storage: OpenStore } {
  let storage: OpenStore | undefined;
  beforeEach(async () => {
    storage = await impl.open();
  });
  afterEach(async () => {
    await storage?.dispose();
    storage = undefined;
  });
  return {
    get store() {
      return storage!.resources;
    },
    get storage() {
      return storage!;
    },
  };
}

describe.each(storeImplementations())('ResourceStore contract on $name', (impl) => {
  describe('versions', () => {
    const ctx = freshStore(impl);

    it('creates, reads and vreads, stamping meta on a copy', async () => {
      const resource: Patient = { resourceType: 'Patient', id: 'a', meta: { profile: ['http://example.org/p'] }, active: true };
      const { version, created } = await ctx.store.put({ resourceType: 'Patient', id: 'a', resource, index: [], method: 'POST' });
      expect(created).toBe(true);
      expect(version).toMatchObject({ resourceType: 'Patient', id: 'a', versionId: '1', deleted: false, method: 'POST' });
      expect(version.lastUpdated).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      expect(version.resource).toEqual({
        resourceType: 'Patient',
        id: 'a',
        meta: { profile: ['http://example.org/p'], versionId: '1', lastUpdated: version.lastUpdated },
        active: true,
      });
      expect(resource.meta).toEqual({ profile: ['http://example.org/p'] });

      const read = await ctx.store.read('Patient', 'a');
      expect(read?.resource).toEqual(version.resource);
      expect(read).toMatchObject({ versionId: '1', lastUpdated: version.lastUpdated, deleted: false, method: 'POST' });
      expect((await ctx.store.vread('Patient', 'a', '1'))?.resource).toEqual(version.resource);
      expect(await ctx.store.read('Patient', 'nope')).toBeUndefined();
      expect(await ctx.store.read('Observation', 'a')).toBeUndefined();
    });

    it('numbers versions, keeps old ones and never moves lastUpdated backwards', async () => {
      const versions: StoredVersion[] = [];
      for (let i = 0; i < 4; i++) {
        const result = await ctx.store.put({ ...putOf('Patient', 'a'), resource: { resourceType: 'Patient', id: 'a', active: i % 2 === 0 } as Resource });
        expect(result.created).toBe(i === 0);
        versions.push(result.version);
      }
      expect(versions.map((v) => v.versionId)).toEqual(['1', '2', '3', '4']);
      for (let i = 1; i < versions.length; i++) expect(msOf(versions[i]!)).toBeGreaterThanOrEqual(msOf(versions[i - 1]!));
      expect(((await ctx.store.vread('Patient', 'a', '2'))!.resource as Patient).active).toBe(false);
      expect(((await ctx.store.vread('Patient', 'a', '3'))!.resource as Patient).active).toBe(true);
      expect((await ctx.store.read('Patient', 'a'))?.versionId).toBe('4');
      for (const bad of ['5', '0', 'abc', '1.0', '', '99999999999999999999']) expect(await ctx.store.vread('Patient', 'a', bad)).toBeUndefined();
    });

    it('deletes as a version of its own, and an update after a delete creates again', async () => {
      await ctx.store.put(putOf('Patient', 'a', [str('name', 'x')]));
      await ctx.store.put(putOf('Patient', 'a', [str('name', 'x')]));
      const deleted = await ctx.store.delete({ resourceType: 'Patient', id: 'a' });
      expect(deleted).toMatchObject({ versionId: '3', deleted: true, method: 'DELETE', resource: undefined });
      expect(await ctx.store.read('Patient', 'a')).toMatchObject({ versionId: '3', deleted: true, resource: undefined });
      expect(await ctx.store.vread('Patient', 'a', '3')).toMatchObject({ deleted: true, method: 'DELETE' });
      expect(await ctx.store.delete({ resourceType: 'Patient', id: 'a' })).toBeUndefined();
      expect(await ctx.store.delete({ resourceType: 'Patient', id: 'never' })).toBeUndefined();
      expect(idsOf(await ctx.store.search({ types: ['Patient'], where: row('string', 'name', p('value', 'eq', 'x')), sort: [], limit: 10 }))).toEqual([]);

      const again = await ctx.store.put(putOf('Patient', 'a', [str('name', 'x')]));
      expect(again).toMatchObject({ created: true, version: { versionId: '4', deleted: false } });
      const history = await ctx.store.history({ resourceType: 'Patient', id: 'a', limit: 10 });
      expect(history.versions.map((v) => [v.versionId, v.method, v.deleted])).toEqual([
        ['4', 'PUT', false],
        ['3', 'DELETE', true],
        ['2', 'PUT', false],
        ['1', 'PUT', false],
      ]);
      expect(history.versions[1]!.resource).toBeUndefined();
      expect(history.total).toBe(4);
    });

    it('applies If-Match to puts and deletes (412 on any mismatch)', async () => {
      await expectStorageError(ctx.store.put(putOf('Patient', 'a', [], { ifMatch: '1' })), 'precondition-failed');
      await ctx.store.put(putOf('Patient', 'a'));
      expect((await ctx.store.put(putOf('Patient', 'a', [], { ifMatch: '1' }))).version.versionId).toBe('2');
      await expectStorageError(ctx.store.put(putOf('Patient', 'a', [], { ifMatch: '1' })), 'precondition-failed');
      await expectStorageError(ctx.store.put(putOf('Patient', 'a', [], { ifMatch: 'W/"2"' })), 'precondition-failed');
      await expectStorageError(ctx.store.delete({ resourceType: 'Patient', id: 'a', ifMatch: '1' }), 'precondition-failed');
      expect((await ctx.store.read('Patient', 'a'))?.versionId).toBe('2');
      expect(await ctx.store.delete({ resourceType: 'Patient', id: 'a', ifMatch: '2' })).toMatchObject({ versionId: '3', deleted: true });
      await expectStorageError(ctx.store.put(putOf('Patient', 'a', [], { ifMatch: '3' })), 'precondition-failed');
      await expectStorageError(ctx.store.delete({ resourceType: 'Patient', id: 'a', ifMatch: '3' }), 'precondition-failed');
      await expectStorageError(ctx.store.delete({ resourceType: 'Patient', id: 'never', ifMatch: '1' }), 'precondition-failed');
    });

    it('refuses mustBeNew with 409 when the id was ever used', async () => {
      expect((await ctx.store.put(putOf('Patient', 'a', [], { mustBeNew: true }))).created).toBe(true);
      await expectStorageError(ctx.store.put(putOf('Patient', 'a', [], { mustBeNew: true })), 'conflict');
      await ctx.store.delete({ resourceType: 'Patient', id: 'a' });
      await expectStorageError(ctx.store.put(putOf('Patient', 'a', [], { mustBeNew: true })), 'conflict');
      expect((await ctx.store.put(putOf('Patient', 'b', [], { mustBeNew: true }))).created).toBe(true);
    });

    it('reads many at once, leaving out missing and deleted ones', async () => {
      await ctx.store.put(putOf('Patient', 'a'));
      await ctx.store.put(putOf('Patient', 'b'));
      await ctx.store.put(putOf('Observation', 'a'));
      await ctx.store.delete({ resourceType: 'Patient', id: 'b' });
      const many = await ctx.store.readMany([
        { resourceType: 'Observation', id: 'a' },
        { resourceType: 'Patient', id: 'b' },
        { resourceType: 'Patient', id: 'x' },
        { resourceType: 'Patient', id: 'a' },
      ]);
      expect(many.map((v) => `${v.resourceType}/${v.id}`).sort()).toEqual(['Observation/a', 'Patient/a']);
      expect(await ctx.store.readMany([])).toEqual([]);
    });

    it('decides concurrent writes to one resource atomically', async () => {
      const creates = await Promise.allSettled(Array.from({ length: 6 }, () => ctx.store.put(putOf('Patient', 'new', [], { mustBeNew: true }))));
      expect(creates.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      for (const r of creates) if (r.status === 'rejected') expect(r.reason).toMatchObject({ code: 'conflict' });

      const puts = await Promise.all(Array.from({ length: 6 }, () => ctx.store.put(putOf('Patient', 'p'))));
      expect(puts.map((r) => r.version.versionId).sort((a, b) => Number(a) - Number(b))).toEqual(['1', '2', '3', '4', '5', '6']);
      expect(puts.filter((r) => r.created)).toHaveLength(1);

      const matched = await Promise.allSettled(Array.from({ length: 6 }, () => ctx.store.put(putOf('Patient', 'p', [], { ifMatch: '6' }))));
      expect(matched.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      for (const r of matched) if (r.status === 'rejected') expect(r.reason).toMatchObject({ code: 'precondition-failed' });
      expect((await ctx.store.history({ resourceType: 'Patient', id: 'p', limit: 100 })).total).toBe(7);
    });

    it.skipIf(impl.lacks('in-process-peers'))('decides concurrent creates from two nodes atomically', async () => {
      const peer = (await ctx.storage.peer()).resources;
      const nodes = [ctx.store, peer, ctx.store, peer, ctx.store, peer];
      const creates = await Promise.allSettled(nodes.map((node) => node.put(putOf('Patient', 'new', [], { mustBeNew: true }))));
      expect(creates.filter((r) => r.status === 'fulfilled')).toHaveLength(1);

      const puts = await Promise.all(nodes.map((node) => node.put(putOf('Patient', 'p', [str('name', 'x')]))));
      expect(puts.map((r) => Number(r.version.versionId)).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6]);
      expect(puts.filter((r) => r.created)).toHaveLength(1);
      const page = await peer.search({ types: ['Patient'], where: row('string', 'name', p('value', 'eq', 'x')), sort: [], limit: 10, total: 'accurate' });
      expect(page.total).toBe(1);
      expect((await ctx.store.history({ resourceType: 'Patient', id: 'p', limit: 100 })).versions.map((v) => v.versionId)).toEqual([
        '6',
        '5',
        '4',
        '3',
        '2',
        '1',
      ]);
    });
  });

  describe('history', () => {
    const ctx = freshStore(impl);

    it('lists versions newest first at instance, type and system level', async () => {
      await ctx.store.put(putOf('Patient', 'a'));
      await tick();
      await ctx.store.put(putOf('Observation', 'o'));
      await tick();
      await ctx.store.put(putOf('Patient', 'a'));
      await tick();
      await ctx.store.delete({ resourceType: 'Observation', id: 'o' });
      await tick();
      await ctx.store.put(putOf('Patient', 'b'));
      const key = (v: StoredVersion) => `${v.resourceType}/${v.id}/${v.versionId}`;
      expect((await ctx.store.history({ limit: 10 })).versions.map(key)).toEqual([
        'Patient/b/1',
        'Observation/o/2',
        'Patient/a/2',
        'Observation/o/1',
        'Patient/a/1',
      ]);
      expect((await ctx.store.history({ resourceType: 'Patient', limit: 10 })).versions.map(key)).toEqual(['Patient/b/1', 'Patient/a/2', 'Patient/a/1']);
      expect((await ctx.store.history({ resourceType: 'Patient', id: 'a', limit: 10 })).versions.map(key)).toEqual(['Patient/a/2', 'Patient/a/1']);
      expect(await ctx.store.history({ resourceType: 'Patient', id: 'zz', limit: 10 })).toMatchObject({ versions: [], total: 0 });
      const system = await ctx.store.history({ limit: 10 });
      expect(system.total).toBe(5);
      expect(system.next).toBeUndefined();
    });

    it('filters by since and before (inclusive)', async () => {
      const v: StoredVersion[] = [];
      for (const id of ['a', 'b', 'c', 'd']) {
        v.push((await ctx.store.put(putOf('Patient', id))).version);
        await tick();
      }
      const ids = async (request: { since?: number; before?: number }) =>
        (await ctx.store.history({ resourceType: 'Patient', limit: 10, ...request })).versions.map((x) => x.id);
      expect(await ids({ since: msOf(v[1]!) })).toEqual(['d', 'c', 'b']);
      expect(await ids({ before: msOf(v[1]!) })).toEqual(['b', 'a']);
      expect(await ids({ since: msOf(v[1]!), before: msOf(v[2]!) })).toEqual(['c', 'b']);
      expect((await ctx.store.history({ since: msOf(v[3]!) + 1, limit: 10 })).versions).toEqual([]);
    });

    it('pages with a cursor without gaps or repeats, even while versions are added', async () => {
      for (let i = 0; i < 7; i++) {
        await ctx.store.put(putOf('Patient', `p${i % 3}`));
        if (i % 2 === 0) await tick(1);
      }
      const all = (await ctx.store.history({ limit: 100 })).versions.map((v) => `${v.id}/${v.versionId}`);
      expect(all).toHaveLength(7);
      const seen: string[] = [];
      let page = await ctx.store.history({ limit: 2 });
      expect(page.total).toBe(7);
      for (;;) {
        seen.push(...page.versions.map((v) => `${v.id}/${v.versionId}`));
        // Newer versions land before the cursor: they must not show up on later pages.
        await ctx.store.put(putOf('Patient', 'late'));
        if (!page.next) break;
        page = await ctx.store.history({ limit: 2, cursor: page.next });
      }
      expect(seen).toEqual(all);
      await expectStorageError(ctx.store.history({ limit: 2, cursor: 'not-a-cursor' }), 'invalid-cursor');
    });
  });

  describe('transactions', () => {
    const ctx = freshStore(impl);
    const code = (c: string): Condition => row('token', 'code', p('code', 'eq', c));
    const searchIds = async (store: Pick<ResourceStore, 'search'>, where: Condition) =>
      idsOf(await store.search({ types: ['Observation'], where, sort: [], limit: 100 }));

    it('commits every write together and returns the work result', async () => {
      const result = await ctx.store.transaction(async (tx) => {
        await tx.put(putOf('Observation', 'a', [tok('code', LOINC, 'x')]));
        await tx.put(putOf('Observation', 'b', [tok('code', LOINC, 'x')]));
        // Reads inside see the transaction's own writes.
        expect((await tx.read('Observation', 'a'))?.versionId).toBe('1');
        expect(await searchIds(tx, code('x'))).toEqual(['a', 'b']);
        expect((await tx.history({ resourceType: 'Observation', limit: 10 })).total).toBe(2);
        expect(await tx.readMany([{ resourceType: 'Observation', id: 'b' }])).toHaveLength(1);
        return 42;
      });
      expect(result).toBe(42);
      expect(await searchIds(ctx.store, code('x'))).toEqual(['a', 'b']);
    });

    it('rolls back every write, index rows and history included, when the work throws', async () => {
      await ctx.store.put(putOf('Observation', 'a', [tok('code', LOINC, 'old')]));
      await ctx.store.put(putOf('Observation', 'c', [tok('code', LOINC, 'c')]));
      const before = await ctx.store.countByType();
      const failure = new Error('boom');
      await expect(
        ctx.store.transaction(async (tx) => {
          await tx.put(putOf('Observation', 'a', [tok('code', LOINC, 'new')]));
          await tx.put(putOf('Observation', 'a', [tok('code', LOINC, 'newer')]));
          await tx.put(putOf('Observation', 'b', [tok('code', LOINC, 'new')]));
          await tx.delete({ resourceType: 'Observation', id: 'c' });
          expect(await searchIds(tx, code('new'))).toEqual(['b']);
          throw failure;
        }),
      ).rejects.toBe(failure);

      expect((await ctx.store.read('Observation', 'a'))?.versionId).toBe('1');
      expect(await ctx.store.vread('Observation', 'a', '2')).toBeUndefined();
      expect(await ctx.store.read('Observation', 'b')).toBeUndefined();
      expect((await ctx.store.read('Observation', 'c'))?.deleted).toBe(false);
      expect(await searchIds(ctx.store, code('new'))).toEqual([]);
      expect(await searchIds(ctx.store, code('newer'))).toEqual([]);
      expect(await searchIds(ctx.store, code('old'))).toEqual(['a']);
      expect(await searchIds(ctx.store, code('c'))).toEqual(['c']);
      expect((await ctx.store.history({ limit: 10 })).versions.map((v) => `${v.id}/${v.versionId}`)).toEqual(['c/1', 'a/1']);
      expect(await ctx.store.countByType()).toEqual(before);
      // Version numbers continue from what was committed.
      expect((await ctx.store.put(putOf('Observation', 'a'))).version.versionId).toBe('2');
      expect((await ctx.store.put(putOf('Observation', 'b', [], { mustBeNew: true }))).created).toBe(true);
    });

    it('rolls back when a precondition fails midway', async () => {
      await ctx.store.put(putOf('Observation', 'a'));
      await expectStorageError(
        ctx.store.transaction(async (tx) => {
          await tx.put(putOf('Observation', 'b', [tok('code', LOINC, 'x')]));
          await tx.put(putOf('Observation', 'a', [], { ifMatch: '7' }));
        }),
        'precondition-failed',
      );
      expect(await ctx.store.read('Observation', 'b')).toBeUndefined();
      expect(await searchIds(ctx.store, code('x'))).toEqual([]);
    });

    it('forgets search parameters first seen in a rolled-back transaction', async () => {
      await expect(
        ctx.store.transaction(async (tx) => {
          await tx.put(putOf('Observation', 'a', [tok('fresh', null, 'x')]));
          throw new Error('boom');
        }),
      ).rejects.toThrow('boom');
      await ctx.store.put(putOf('Observation', 'b', [tok('other', null, 'x')]));
      await ctx.store.put(putOf('Observation', 'c', [tok('fresh', null, 'x')]));
      const find = (store: Pick<ResourceStore, 'search'>, param: string) => searchIds(store, row('token', param, p('code', 'eq', 'x')));
      expect(await find(ctx.store, 'other')).toEqual(['b']);
      expect(await find(ctx.store, 'fresh')).toEqual(['c']);
      // A node started later knows only what was committed.
      const later = (await ctx.storage.peer()).resources;
      expect(await find(later, 'other')).toEqual(['b']);
      expect(await find(later, 'fresh')).toEqual(['c']);
    });

    it.skipIf(impl.lacks('isolation'))('hides uncommitted writes from readers outside the transaction', async () => {
      await ctx.store.put(putOf('Observation', 'a', [tok('code', LOINC, 'old')]));
      await ctx.store.transaction(async (tx) => {
        await tx.put(putOf('Observation', 'a', [tok('code', LOINC, 'new')]));
        await tx.put(putOf('Observation', 'b', [tok('code', LOINC, 'new')]));
        expect((await ctx.store.read('Observation', 'a'))?.versionId).toBe('1');
        expect(await ctx.store.read('Observation', 'b')).toBeUndefined();
        expect(await searchIds(ctx.store, code('new'))).toEqual([]);
        expect((await ctx.store.history({ limit: 10 })).total).toBe(1);
      });
      expect(await searchIds(ctx.store, code('new'))).toEqual(['a', 'b']);
    });

    it('keeps writes made outside a failing transaction while it runs', async () => {
      await ctx.store.put(putOf('Observation', 'a'));
      let outside: Promise<unknown> | undefined;
      await expect(
        ctx.store.transaction(async (tx) => {
          await tx.put(putOf('Observation', 'a', [tok('code', LOINC, 'tx')]));
          outside = Promise.all([ctx.store.put(putOf('Observation', 'a', [tok('code', LOINC, 'outside')])), ctx.store.put(putOf('Observation', 'z'))]);
          await tick(20);
          throw new Error('boom');
        }),
      ).rejects.toThrow('boom');
      await outside;
      expect((await ctx.store.read('Observation', 'a'))?.versionId).toBe('2');
      expect(await searchIds(ctx.store, code('outside'))).toEqual(['a']);
      expect(await searchIds(ctx.store, code('tx'))).toEqual([]);
      expect((await ctx.store.read('Observation', 'z'))?.versionId).toBe('1');
    });

    it.skipIf(impl.lacks('rollback-under-concurrency') || impl.lacks('in-process-peers'))(
      'keeps another node’s write made while a transaction fails',
      async () => {
        const peer = (await ctx.storage.peer()).resources;
        await ctx.store.put(putOf('Observation', 'a'));
        let outside: Promise<unknown> | undefined;
        await expect(
          ctx.store.transaction(async (tx) => {
            await tx.put(putOf('Observation', 'a', [tok('code', LOINC, 'tx')]));
            outside = peer.put(putOf('Observation', 'a', [tok('code', LOINC, 'peer')]));
            await tick(50);
            throw new Error('boom');
          }),
        ).rejects.toThrow('boom');
        await outside;
        const history = await ctx.store.history({ resourceType: 'Observation', id: 'a', limit: 10 });
        expect(history.versions.map((v) => v.versionId)).toEqual(['2', '1']);
        expect(await searchIds(ctx.store, code('peer'))).toEqual(['a']);
        expect(await searchIds(ctx.store, code('tx'))).toEqual([]);
      },
    );
  });

  describe('bulk writes, counts and scans', () => {
    const ctx = freshStore(impl);

    it('bulkPut writes in batches, in order, with repeated ids becoming new versions', async () => {
      await ctx.store.put(putOf('Patient', 'existing'));
      const requests: PutRequest[] = [];
      for (let i = 0; i < 1100; i++) requests.push(putOf(i % 10 === 0 ? 'Patient' : 'Observation', `r${i}`, [tok('code', LOINC, `c${i % 7}`)]));
      requests.push(
        putOf('Observation', 'r5'),
        putOf('Observation', 'r5', [tok('code', LOINC, 'twice')]),
        putOf('Patient', 'existing'),
        putOf('Observation', 'r1099'),
      );
      const results = await ctx.store.bulkPut(requests);
      expect(results).toHaveLength(requests.length);
      results.forEach((r, i) => {
        expect(r.version.id).toBe(requests[i]!.id);
        expect(r.version.resourceType).toBe(requests[i]!.resourceType);
      });
      expect(results.slice(0, 1100).every((r) => r.created && r.version.versionId === '1')).toBe(true);
      expect(results.slice(1100).map((r) => [r.version.versionId, r.created])).toEqual([
        ['2', false],
        ['3', false],
        ['2', false],
        ['2', false],
      ]);
      expect(await ctx.store.countByType()).toEqual({ Observation: 990, Patient: 111 });
      const page = await ctx.store.search({ types: ['Observation'], where: row('token', 'code', p('code', 'eq', 'c3')), sort: [], limit: 0 });
      expect(page.total).toBe(requests.slice(0, 1100).filter((r, i) => r.resourceType === 'Observation' && i % 7 === 3).length);
      expect(idsOf(await ctx.store.search({ types: ['Observation'], where: row('token', 'code', p('code', 'eq', 'twice')), sort: [], limit: 5 }))).toEqual([
        'r5',
      ]);
      expect((await ctx.store.history({ resourceType: 'Observation', id: 'r5', limit: 10 })).versions.map((v) => v.versionId)).toEqual(['3', '2', '1']);
    });

    it('bulkPut applies mustBeNew and If-Match, writing nothing of the failing batch', async () => {
      await ctx.store.put(putOf('Patient', 'a'));
      await expectStorageError(ctx.store.bulkPut([putOf('Patient', 'fresh'), putOf('Patient', 'a', [], { mustBeNew: true })]), 'conflict');
      await expectStorageError(ctx.store.bulkPut([putOf('Patient', 'fresh'), putOf('Patient', 'a', [], { ifMatch: '3' })]), 'precondition-failed');
      expect(await ctx.store.read('Patient', 'fresh')).toBeUndefined();
      expect((await ctx.store.read('Patient', 'a'))?.versionId).toBe('1');
      expect(await ctx.store.bulkPut([])).toEqual([]);
    });

    it('counts live resources per type', async () => {
      expect(await ctx.store.countByType()).toEqual({});
      await ctx.store.put(putOf('Patient', 'a'));
      await ctx.store.put(putOf('Patient', 'b'));
      await ctx.store.put(putOf('Observation', 'a'));
      await ctx.store.delete({ resourceType: 'Patient', id: 'b' });
      expect(await ctx.store.countByType()).toEqual({ Observation: 1, Patient: 1 });
    });

    it('scans one type in batches, with since and where', async () => {
      for (let i = 0; i < 25; i++) await ctx.store.put(putOf('Patient', `p${i}`, [tok('code', LOINC, i % 2 ? 'odd' : 'even')]));
      await ctx.store.put(putOf('Observation', 'o'));
      await ctx.store.delete({ resourceType: 'Patient', id: 'p3' });
      await ctx.store.delete({ resourceType: 'Patient', id: 'p4' });
      const scanned: string[] = [];
      for await (const v of ctx.store.scan({ resourceType: 'Patient', batchSize: 4 })) {
        expect(v.deleted).toBe(false);
        scanned.push(v.id);
      }
      expect(scanned.sort()).toEqual(
        Array.from({ length: 25 }, (_, i) => `p${i}`)
          .filter((id) => id !== 'p3' && id !== 'p4')
          .sort(),
      );

      const odd: string[] = [];
      for await (const v of ctx.store.scan({ resourceType: 'Patient', batchSize: 3, where: row('token', 'code', p('code', 'eq', 'odd')) })) odd.push(v.id);
      expect(odd.sort()).toEqual(['p1', 'p11', 'p13', 'p15', 'p17', 'p19', 'p21', 'p23', 'p5', 'p7', 'p9']);

      await tick();
      const late = await ctx.store.put(putOf('Patient', 'p7'));
      const since: string[] = [];
      for await (const v of ctx.store.scan({ resourceType: 'Patient', since: msOf(late.version) })) since.push(`${v.id}/${v.versionId}`);
      expect(since).toEqual(['p7/2']);
    });
  });

  describe('reindex', () => {
    const ctx = freshStore(impl);

    it('replaces the index rows of live resources of one type, writing no version', async () => {
      for (let i = 0; i < 7; i++) await ctx.store.put(putOf('Patient', `p${i}`, [tok('code', LOINC, 'old')]));
      await ctx.store.put(putOf('Observation', 'o', [tok('code', LOINC, 'old')]));
      await ctx.store.delete({ resourceType: 'Patient', id: 'p6' });
      const reindexed = await ctx.store.reindex({
        resourceType: 'Patient',
        batchSize: 3,
        index: (r) => [tok('code', LOINC, `new-${r.id}`), tok('colour', null, 'red')],
      });
      expect(reindexed).toBe(6);
      const search = (where: Condition, types = ['Patient']) => ctx.store.search({ types, where, sort: [], limit: 100 }).then(idsOf);
      expect(await search(row('token', 'code', p('code', 'eq', 'old')))).toEqual([]);
      expect(await search(row('token', 'code', p('code', 'eq', 'new-p2')))).toEqual(['p2']);
      expect((await search(row('token', 'colour', p('code', 'eq', 'red')))).sort()).toEqual(['p0', 'p1', 'p2', 'p3', 'p4', 'p5']);
      // Other types and versions are untouched.
      expect(await search(row('token', 'code', p('code', 'eq', 'old')), ['Observation'])).toEqual(['o']);
      expect((await ctx.store.read('Patient', 'p1'))?.versionId).toBe('1');
      expect((await ctx.store.history({ resourceType: 'Patient', limit: 100 })).versions).toHaveLength(8);
      // Sorting uses the new rows too.
      const sorted = await ctx.store.search({
        types: ['Patient'],
        where: ALL,
        sort: [{ by: 'param', table: 'token', param: 'code', field: 'code', descending: true }],
        limit: 2,
      });
      expect(idsOf(sorted)).toEqual(['p5', 'p4']);
    });
  });

  describe('full text and positions', () => {
    const ctx = freshStore(impl);
    const words = (param: string, terms: string): IndexEntry => ({ table: 'text', param, terms });
    const at = (param: string, latitude: number, longitude: number): IndexEntry => ({ table: 'position', param, latitude, longitude });
    const phrase = (param: string, ...list: string[]) => row('text', param, p('terms', 'phrase', list));
    const search = (where: Condition, extra: Partial<SearchRequest> = {}) =>
      ctx.store.search({ types: ['Location'], where, sort: [], limit: 100, ...extra }).then(idsOf);

    it('finds phrases in the words of the current version only, and keeps the word index in step with writes', async () => {
      await ctx.store.put(putOf('Location', 'a', [words('_text', 'heart attack clinic'), words('_content', 'zoe muller 日本 heart')]));
      await ctx.store.put(putOf('Location', 'b', [words('_text', 'attack heart')]));
      expect(await search(phrase('_text', 'heart', 'attack'))).toEqual(['a']);
      expect((await search(phrase('_text', 'heart'))).sort()).toEqual(['a', 'b']);
      expect(await search(phrase('_content', '日本'))).toEqual(['a']);
      expect(await search(phrase('_content', 'attack'))).toEqual([]);
      // A new version replaces the words; a deletion removes them.
      await ctx.store.put(putOf('Location', 'a', [words('_text', 'lung clinic')]));
      expect(await search(phrase('_text', 'heart', 'attack'))).toEqual([]);
      expect(await search(phrase('_text', 'lung'))).toEqual(['a']);
      await ctx.store.delete({ resourceType: 'Location', id: 'b' });
      expect(await search(phrase('_text', 'heart'))).toEqual([]);
      // With other conditions, negated, counted.
      expect(await search(and(phrase('_text', 'clinic'), { op: 'id', ids: ['a'] }))).toEqual(['a']);
      expect(await search(not(phrase('_text', 'lung')))).toEqual([]);
      expect((await ctx.store.search({ types: ['Location'], where: phrase('_text', 'clinic'), sort: [], limit: 0, total: 'accurate' })).total).toBe(1);
    });

    it('refuses words it cannot index the same way as the rows, and sorting on words', async () => {
      await ctx.store.put(putOf('Location', 'a', [words('_text', 'heart')]));
      for (const list of [[], ['Upper'], ['two words'], ['"quote'], ['star*']]) {
        await expectStorageError(ctx.store.search({ types: ['Location'], where: phrase('_text', ...list), sort: [], limit: 10 }), 'invalid-query');
      }
      await expectStorageError(
        ctx.store.search({ types: ['Location'], where: row('text', '_text', p('terms', 'eq', 'x')), sort: [], limit: 10 }),
        'invalid-query',
      );
      await expectStorageError(
        ctx.store.search({
          types: ['Location'],
          where: ALL,
          sort: [{ by: 'param', table: 'text', param: '_text', field: 'terms', descending: false }],
          limit: 10,
        }),
        'invalid-query',
      );
    });

    it('finds positions within a great-circle distance, across the antimeridian, and sorts and pages by distance', async () => {
      await ctx.store.put(putOf('Location', 'boston', [at('near', 42.3601, -71.0589)]));
      await ctx.store.put(putOf('Location', 'cambridge', [at('near', 42.3736, -71.119)]));
      await ctx.store.put(putOf('Location', 'worcester', [at('near', 42.2626, -71.8023)]));
      await ctx.store.put(putOf('Location', 'suva', [at('near', -18.1416, 178.4419)]));
      await ctx.store.put(putOf('Location', 'taveuni', [at('near', -16.8, -179.9)]));
      await ctx.store.put(putOf('Location', 'two', [at('near', 0, 0), at('near', 42.36, -71.06)]));
      await ctx.store.put(putOf('Location', 'none', [str('name', 'nowhere')]));
      const near = (latitude: number, longitude: number, distance: number): Condition => ({ op: 'near', param: 'near', latitude, longitude, distance });
      const nearest = (latitude: number, longitude: number, descending = false): SortKey => ({
        by: 'distance',
        param: 'near',
        latitude,
        longitude,
        descending,
      });
      expect(await search(near(42.3601, -71.0589, 6000), { sort: [nearest(42.3601, -71.0589)] })).toEqual(['boston', 'two', 'cambridge']);
      expect(await search(near(42.3601, -71.0589, 5000), { sort: [nearest(42.3601, -71.0589)] })).toEqual(['boston', 'two']);
      expect(await search(near(-16.8, -179.9, 250_000), { sort: [nearest(-16.8, -179.9)] })).toEqual(['taveuni', 'suva']);
      expect(await search(not(near(42.3601, -71.0589, 100_000)))).toEqual(['suva', 'taveuni', 'none']);
      // Counted, and streamed by scan ($export) with the same answer.
      expect((await ctx.store.search({ types: ['Location'], where: near(-16.8, -179.9, 250_000), sort: [], limit: 0, total: 'accurate' })).total).toBe(2);
      const scanned: string[] = [];
      for await (const version of ctx.store.scan({ resourceType: 'Location', where: near(42.3601, -71.0589, 6000), batchSize: 2 })) scanned.push(version.id);
      expect(scanned.sort()).toEqual(['boston', 'cambridge', 'two']);
      // Sorting without a near condition: by the nearest position; none last, both ways.
      expect(await search(ALL, { sort: [nearest(0, 0)] })).toEqual(['two', 'boston', 'cambridge', 'worcester', 'suva', 'taveuni', 'none']);
      expect(await search(ALL, { sort: [nearest(0, 0, true)] })).toEqual(['taveuni', 'suva', 'worcester', 'cambridge', 'two', 'boston', 'none']);
      // Pages by distance, forwards and back.
      const first = await ctx.store.search({ types: ['Location'], where: ALL, sort: [nearest(42.3601, -71.0589)], limit: 3 });
      expect(idsOf(first)).toEqual(['boston', 'two', 'cambridge']);
      const second = await ctx.store.search({ types: ['Location'], where: ALL, sort: [nearest(42.3601, -71.0589)], limit: 3, cursor: first.next! });
      expect(idsOf(second)).toEqual(['worcester', 'taveuni', 'suva']);
      const back = await ctx.store.search({ types: ['Location'], where: ALL, sort: [nearest(42.3601, -71.0589)], limit: 3, cursor: second.previous! });
      expect(idsOf(back)).toEqual(['boston', 'two', 'cambridge']);
    });

    it('records the index version, and reindex replaces or removes full-text and position rows', async () => {
      expect(await ctx.store.indexVersion()).toBe(0);
      await ctx.store.put(putOf('Location', 'a', [words('_text', 'heart'), at('near', 1, 1)]));
      await ctx.store.reindex({ resourceType: 'Location', index: () => [words('_text', 'lung')] });
      expect(await search(phrase('_text', 'heart'))).toEqual([]);
      expect(await search(phrase('_text', 'lung'))).toEqual(['a']);
      expect(await search({ op: 'near', param: 'near', latitude: 1, longitude: 1, distance: 10 })).toEqual([]);
      await ctx.store.setIndexVersion(7);
      expect(await ctx.store.indexVersion()).toBe(7);
      await ctx.store.setIndexVersion(8);
      expect(await ctx.store.indexVersion()).toBe(8);
    });
  });

  describe('integrity check', () => {
    const ctx = freshStore(impl);
    // The rows a resource "should" have: here, a token row per identifier value.
    const reindex = (resource: Resource): IndexEntry[] =>
      ((resource as Patient).identifier ?? []).map(
        (i) => ({ table: 'token', param: 'identifier', system: i.system ?? null, code: i.value ?? null, text: null }) as IndexEntry,
      );
    const patient = (id: string, value: string): PutRequest => {
      const resource: Patient = { resourceType: 'Patient', id, identifier: [{ system: 'urn:x', value }] };
      return { resourceType: 'Patient', id, resource, index: reindex(resource), method: 'PUT' };
    };

    it('finds no problem after creates, updates, deletes and a rolled-back transaction', async () => {
      await ctx.store.put(patient('i1', 'a'));
      await ctx.store.put(patient('i1', 'b'));
      await ctx.store.put(patient('i2', 'c'));
      await ctx.store.delete({ resourceType: 'Patient', id: 'i2' });
      await ctx.store.put(patient('i3', 'd'));
      await expect(
        ctx.store.transaction(async (tx) => {
          await tx.put(patient('i4', 'e'));
          await tx.put(patient('i1', 'f'));
          throw new Error('roll back');
        }),
      ).rejects.toThrow('roll back');
      const report = await ctx.store.verifyIntegrity({ reindex });
      expect(report.problems).toEqual([]);
      expect(report.resources).toBe(3);
      expect(report.versions).toBe(5);
      expect(report.indexRows).toBe(2);
    });

    it('reports index rows that differ from the content', async () => {
      await ctx.store.put(patient('j1', 'a'));
      const report = await ctx.store.verifyIntegrity({ reindex: (r) => [...reindex(r), { table: 'string', param: 'name', value: 'x', exact: 'x' }] });
      expect(report.problems).toHaveLength(1);
      expect(report.problems[0]!.resource).toBe('Patient/j1');
      expect(report.problems[0]!.problem).toContain('1 missing');
    });
  });

  describe('search conditions', () => {
    let storage: OpenStore;
    let store: ResourceStore;
    const written = new Map<string, StoredVersion>();

    // One fixture for every case below; each resource's rows are listed with it.
    beforeAll(async () => {
      storage = await impl.open();
      store = storage.resources;
      const y2019 = yearRange(2019);
      const y2020 = yearRange(2020);
      const y2021 = yearRange(2021);
      const june2020 = yearRange(2020, 6);
      const fixture: Array<[string, string, IndexEntry[]]> = [
        ['Organization', 'org1', [str('name', 'acme')]],
        ['Organization', 'org2', [str('name', 'globex')]],
        ['Patient', 'p1', [str('name', 'smith'), ref('organization', 'Organization/org1')]],
        ['Patient', 'p2', [str('name', 'jones'), ref('organization', 'Organization/org2')]],
        ['Patient', 'p3', [str('name', 'smith'), ref('organization', 'Organization/org1')]],
        ['Encounter', 'e1', [ref('subject', 'Patient/p1')]],
        [
          'Observation',
          'o1',
          [
            str('name', 'alpha', 'Alpha'),
            str('name', 'common', 'Common'),
            tok('code', LOINC, '1234-5', { text: 'blood pressure' }),
            tok('identifier', 'urn:sys', 'A1', { ofType: 'http://hl7.org/v2-0203|MR' }),
            date('date', ...y2019),
            date('date', ...y2021),
            num('value', 1.45, 1.55),
            qty('qty', 5, 5, UCUM, 'mg', true),
            ref('subject', 'Patient/p1'),
            uri('source', 'http://example.org/a'),
            comp('bp', { system: LOINC, code: '8480-6' }, { low: 120, high: 120 }),
            comp('bp', { system: LOINC, code: '8462-4' }, { low: 80, high: 80 }),
          ],
        ],
        [
          'Observation',
          'o2',
          [
            str('name', 'beta', 'Beta'),
            tok('code', 'http://snomed.info/sct', '1234-5', { text: 'heart rate' }),
            tok('code', null, 'X'),
            date('date', ...y2020),
            num('value', 9.5, 10.5),
            qty('qty', 7, 7, UCUM, 'g', false),
            ref('subject', 'Patient/p2'),
            uri('source', 'http://example.org/b'),
            comp('bp', { system: LOINC, code: '8480-6' }, { low: 80, high: 80 }),
            comp('bp', { system: LOINC, code: '8462-4' }, { low: 120, high: 120 }),
          ],
        ],
        [
          'Observation',
          'o3',
          [
            tok('code', LOINC, null, { text: 'just text' }),
            date('date', ...june2020),
            ref('subject', null, { identifierSystem: 'urn:ids', identifierValue: 'X-1' }),
            ref('performer', 'http://other.org/fhir/Practitioner/9'),
          ],
        ],
        ['Observation', 'o4', [str('name', 'a.*+?^${}()|[]\\b'), str('name', `o'neil "q"`)]],
        ['Observation', 'o5', [str('name', 'zürich 日本 😀'), str('name', '100%_done')]],
        ['Observation', 'o6', [str('name', '100x done'), str('name', 'a-b'), str('name', 'ab\uff01x')]],
        ['Observation', 'o7', [ref('subject', 'Patient/p3'), tok('code', LOINC, 'other')]],
        ['Observation', 'o8', [ref('encounter', 'Encounter/e1'), tok('code', LOINC, 'enc-code')]],
        ['Observation', 'o9', [ref('subject', 'Patient/p2'), tok('code', LOINC, 'deleted-code')]],
      ];
      for (const [type, id, index] of fixture) {
        written.set(id, (await store.put(putOf(type, id, index))).version);
        await tick(2);
      }
      await store.delete({ resourceType: 'Patient', id: 'p3' });
      await store.delete({ resourceType: 'Observation', id: 'o9' });
    });
    afterAll(async () => {
      await storage?.dispose();
    });

    const code = (c: string) => row('token', 'code', p('code', 'eq', c));
    const name = (cmp: 'eq' | 'prefix' | 'contains' | 'lt' | 'ge', value: string) => row('string', 'name', p('value', cmp, value));
    const [y2020Low, y2020High] = yearRange(2020);
    const [juneLow, juneHigh] = yearRange(2020, 6);

    // [what, condition, Observation ids in creation order]
    const observationCases: Array<[string, Condition, string[]]> = [
      ['token code', code('1234-5'), ['o1', 'o2']],
      ['token system and code on one row', row('token', 'code', p('system', 'eq', LOINC), p('code', 'eq', '1234-5')), ['o1']],
      ['token without system', row('token', 'code', p('system', 'null'), p('code', 'eq', 'X')), ['o2']],
      ['token system only', row('token', 'code', p('system', 'notnull'), p('code', 'null')), ['o3']],
      ['token system and code never on one row', row('token', 'code', p('system', 'eq', 'http://snomed.info/sct'), p('code', 'eq', 'X')), []],
      ['token ne (a row with another or no code)', row('token', 'code', p('code', 'ne', '1234-5')), ['o2', 'o3', 'o7', 'o8']],
      ['token in', row('token', 'code', p('code', 'in', ['X', '1234-5', 'nope'])), ['o1', 'o2']],
      ['token in empty list', row('token', 'code', p('code', 'in', [])), []],
      ['token text contains', row('token', 'code', p('text', 'contains', 'pressure')), ['o1']],
      ['token text prefix', row('token', 'code', p('text', 'prefix', 'heart')), ['o2']],
      ['token of-type', row('token', 'identifier', p('ofType', 'eq', 'http://hl7.org/v2-0203|MR'), p('code', 'eq', 'A1')), ['o1']],
      ['string prefix', name('prefix', 'al'), ['o1']],
      ['string exact', row('string', 'name', p('exact', 'eq', 'Beta')), ['o2']],
      ['string exact is case-sensitive', row('string', 'name', p('exact', 'eq', 'beta')), []],
      ['string contains', name('contains', 'ph'), ['o1']],
      ['string lt', name('lt', 'b'), ['o1', 'o4', 'o5', 'o6']],
      ['string ge beyond ASCII', name('ge', 'zz'), ['o5']],
      ['string contains empty', name('contains', ''), ['o1', 'o2', 'o4', 'o5', 'o6']],
      ['string eq', name('eq', 'common'), ['o1']],
      ['string contains "."', name('contains', '.'), ['o4']],
      ['string contains ".*"', name('contains', '.*'), ['o4']],
      ['string contains "+?"', name('contains', '+?'), ['o4']],
      ['string contains "^$"', name('contains', '^$'), ['o4']],
      ['string contains "{}()"', name('contains', '{}()'), ['o4']],
      ['string contains "|[]"', name('contains', '|[]'), ['o4']],
      ['string contains backslash', name('contains', '\\'), ['o4']],
      ['string contains "]\\b"', name('contains', ']\\b'), ['o4']],
      ['string eq with metacharacters', name('eq', 'a.*+?^${}()|[]\\b'), ['o4']],
      ['string prefix with metacharacters', name('prefix', 'a.*'), ['o4']],
      ['string prefix "a."', name('prefix', 'a.'), ['o4']],
      ['string contains quotes', name('contains', `'neil "q"`), ['o4']],
      ['string contains "%"', name('contains', '%'), ['o5']],
      ['string contains "_"', name('contains', '_'), ['o5']],
      ['string contains "%_"', name('contains', '%_'), ['o5']],
      ['string prefix "100%"', name('prefix', '100%'), ['o5']],
      ['string prefix "100_"', name('prefix', '100_'), []],
      ['string prefix "100"', name('prefix', '100'), ['o5', 'o6']],
      ['string contains "-"', name('contains', '-'), ['o6']],
      ['string contains non-ASCII', name('contains', 'ü'), ['o5']],
      ['string contains CJK', name('contains', '日本'), ['o5']],
      ['string contains emoji', name('contains', '😀'), ['o5']],
      ['string prefix non-ASCII', name('prefix', 'zür'), ['o5']],
      ['string prefix followed by a fullwidth character', name('prefix', 'ab'), ['o6']],
      ['date range on one row only', row('date', 'date', p('low', 'ge', y2020Low), p('high', 'le', y2020High)), ['o2', 'o3']],
      ['date lt', row('date', 'date', p('low', 'lt', y2020Low)), ['o1']],
      ['date gt', row('date', 'date', p('high', 'gt', y2020High)), ['o1']],
      ['date row containing a month', row('date', 'date', p('low', 'le', juneLow), p('high', 'ge', juneHigh)), ['o2', 'o3']],
      ['date eq', row('date', 'date', p('low', 'eq', juneLow)), ['o3']],
      ['date ne', row('date', 'date', p('low', 'ne', juneLow)), ['o1', 'o2']],
      ['number within range', row('number', 'value', p('low', 'le', 1.5), p('high', 'ge', 1.5)), ['o1']],
      ['number gt', row('number', 'value', p('low', 'gt', 5)), ['o2']],
      ['number eq', row('number', 'value', p('low', 'eq', 9.5)), ['o2']],
      ['quantity with unit on one row', row('quantity', 'qty', p('low', 'ge', 6), p('code', 'eq', 'g')), ['o2']],
      ['quantity with unit never on one row', row('quantity', 'qty', p('low', 'ge', 6), p('code', 'eq', 'mg')), []],
      ['quantity canonical true', row('quantity', 'qty', p('canonical', 'eq', true)), ['o1']],
      ['quantity not canonical', row('quantity', 'qty', p('canonical', 'null')), ['o2']],
      ['quantity system', row('quantity', 'qty', p('system', 'eq', UCUM)), ['o1', 'o2']],
      ['reference value', row('reference', 'subject', p('value', 'eq', 'Patient/p1')), ['o1']],
      ['reference target type', row('reference', 'subject', p('targetType', 'eq', 'Patient')), ['o1', 'o2', 'o7']],
      ['reference target id', row('reference', 'subject', p('targetId', 'in', ['p2', 'p3'])), ['o2', 'o7']],
      ['reference identifier', row('reference', 'subject', p('identifierSystem', 'eq', 'urn:ids'), p('identifierValue', 'eq', 'X-1')), ['o3']],
      ['reference without value', row('reference', 'subject', p('value', 'null')), ['o3']],
      ['reference absolute URL prefix', row('reference', 'performer', p('value', 'prefix', 'http://other.org/')), ['o3']],
      ['uri eq', row('uri', 'source', p('value', 'eq', 'http://example.org/a')), ['o1']],
      ['uri prefix', row('uri', 'source', p('value', 'prefix', 'http://example.org/')), ['o1', 'o2']],
      ['uri in', row('uri', 'source', p('value', 'in', ['http://example.org/b', 'x'])), ['o2']],
      ['uri gt', row('uri', 'source', p('value', 'gt', 'http://example.org/a')), ['o2']],
      ['composite components on one row', row('composite', 'bp', p('code', 'eq', '8480-6', 0), p('low', 'ge', 100, 1)), ['o1']],
      ['composite other component pair', row('composite', 'bp', p('code', 'eq', '8462-4', 0), p('low', 'ge', 100, 1)), ['o2']],
      ['composite first component system', row('composite', 'bp', p('system', 'eq', LOINC, 0)), ['o1', 'o2']],
      ['composite absent third component', row('composite', 'bp', p('code', 'null', undefined, 2)), ['o1', 'o2']],
      ['composite component range', row('composite', 'bp', p('low', 'gt', 90, 1), p('high', 'lt', 130, 1)), ['o1', 'o2']],
      ['not', not(code('1234-5')), ['o3', 'o4', 'o5', 'o6', 'o7', 'o8']],
      ['not not', not(not(code('X'))), ['o2']],
      ['missing true', { op: 'missing', table: 'string', param: 'name', missing: true }, ['o3', 'o7', 'o8']],
      ['missing false', { op: 'missing', table: 'string', param: 'name', missing: false }, ['o1', 'o2', 'o4', 'o5', 'o6']],
      ['missing in another table', { op: 'missing', table: 'token', param: 'name', missing: false }, []],
      ['id', { op: 'id', ids: ['o2', 'o4', 'o9', 'zz'] }, ['o2', 'o4']],
      ['id none', { op: 'id', ids: [] }, []],
      ['type', { op: 'type', types: ['Observation', 'Patient'] }, ['o1', 'o2', 'o3', 'o4', 'o5', 'o6', 'o7', 'o8']],
      ['type other', { op: 'type', types: ['Patient'] }, []],
      ['true', ALL, ['o1', 'o2', 'o3', 'o4', 'o5', 'o6', 'o7', 'o8']],
      ['false', { op: 'false' }, []],
      ['empty and', and(), ['o1', 'o2', 'o3', 'o4', 'o5', 'o6', 'o7', 'o8']],
      ['empty or', or(), []],
      ['or', or(name('prefix', 'al'), code('X')), ['o1', 'o2']],
      [
        'and with not',
        and(row('uri', 'source', p('value', 'prefix', 'http://example.org/')), not(row('uri', 'source', p('value', 'eq', 'http://example.org/a')))),
        ['o2'],
      ],
      ['and across tables', and(code('1234-5'), row('quantity', 'qty', p('canonical', 'eq', true))), ['o1']],
      ['chain', { op: 'chain', param: 'subject', targetTypes: ['Patient'], where: name('eq', 'smith') }, ['o1']],
      ['chain to a deleted target', { op: 'chain', param: 'subject', targetTypes: ['Patient'], where: { op: 'id', ids: ['p3'] } }, []],
      [
        'chain two levels',
        {
          op: 'chain',
          param: 'subject',
          targetTypes: ['Patient'],
          where: { op: 'chain', param: 'organization', targetTypes: ['Organization'], where: name('eq', 'globex') },
        },
        ['o2'],
      ],
      ['chain other target type', { op: 'chain', param: 'subject', targetTypes: ['Group'], where: ALL }, []],
      ['chain no target type', { op: 'chain', param: 'subject', targetTypes: [], where: ALL }, []],
      ['chain to anything', { op: 'chain', param: 'subject', targetTypes: ['Patient'], where: ALL }, ['o1', 'o2']],
      ['not chain', not({ op: 'chain', param: 'subject', targetTypes: ['Patient'], where: ALL }), ['o3', 'o4', 'o5', 'o6', 'o7', 'o8']],
    ];

    it.each(observationCases)('%s', async (_what, where, expected) => {
      expect(idsOf(await store.search({ types: ['Observation'], where, sort: [], limit: 100 }))).toEqual(expected);
    });

    const patientCases: Array<[string, Condition, string[]]> = [
      ['has', { op: 'has', sourceType: 'Observation', param: 'subject', where: code('1234-5') }, ['p1', 'p2']],
      ['has from a deleted source', { op: 'has', sourceType: 'Observation', param: 'subject', where: code('deleted-code') }, []],
      ['has on another parameter', { op: 'has', sourceType: 'Observation', param: 'performer', where: ALL }, []],
      [
        'has nested',
        { op: 'has', sourceType: 'Encounter', param: 'subject', where: { op: 'has', sourceType: 'Observation', param: 'encounter', where: code('enc-code') } },
        ['p1'],
      ],
      ['not has', not({ op: 'has', sourceType: 'Encounter', param: 'subject', where: ALL }), ['p2']],
      [
        'has and chain',
        {
          op: 'has',
          sourceType: 'Observation',
          param: 'subject',
          where: { op: 'chain', param: 'subject', targetTypes: ['Patient'], where: name('eq', 'jones') },
        },
        ['p2'],
      ],
    ];

    it.each(patientCases)('%s', async (_what, where, expected) => {
      expect(idsOf(await store.search({ types: ['Patient'], where, sort: [], limit: 100 }))).toEqual(expected);
    });

    it('lastUpdated', async () => {
      const from = msOf(written.get('o5')!);
      const to = msOf(written.get('o7')!);
      const where: Condition = {
        op: 'lastUpdated',
        where: [
          { cmp: 'ge', value: from },
          { cmp: 'lt', value: to },
        ],
      };
      expect(idsOf(await store.search({ types: ['Observation'], where, sort: [], limit: 100 }))).toEqual(['o5', 'o6']);
      const open: Condition = {
        op: 'lastUpdated',
        where: [
          { cmp: 'gt', value: from },
          { cmp: 'le', value: to },
        ],
      };
      expect(idsOf(await store.search({ types: ['Observation'], where: open, sort: [], limit: 100 }))).toEqual(['o6', 'o7']);
    });

    it('searches every type when types is undefined', async () => {
      const page = await store.search({ where: name('prefix', 'a'), sort: [], limit: 100, total: 'accurate' });
      expect(page.resources.map((r) => `${r.resourceType}/${r.id}`)).toEqual(['Organization/org1', 'Observation/o1', 'Observation/o4', 'Observation/o6']);
      expect(page.total).toBe(4);
      const smiths = await store.search({ where: and({ op: 'type', types: ['Patient'] }, name('eq', 'smith')), sort: [], limit: 100 });
      expect(idsOf(smiths)).toEqual(['p1']);
      expect(await store.search({ types: [], where: ALL, sort: [], limit: 10 })).toEqual({ resources: [] });
    });

    it('counts matches, and only counts when the limit is 0', async () => {
      const page = await store.search({ types: ['Observation'], where: ALL, sort: [], limit: 3, total: 'accurate' });
      expect(page.resources).toHaveLength(3);
      expect(page.total).toBe(8);
      expect(await store.search({ types: ['Observation'], where: code('1234-5'), sort: [], limit: 0 })).toEqual({ resources: [], total: 2 });
      expect((await store.search({ types: ['Observation'], where: ALL, sort: [], limit: 3 })).total).toBeUndefined();
    });

    it('refuses a cursor it did not make', async () => {
      for (const cursor of ['x', Buffer.from('[1,2,3]').toString('base64url'), Buffer.from('["a",[],"zz"]').toString('base64url')]) {
        await expectStorageError(store.search({ types: ['Observation'], where: ALL, sort: [], limit: 3, cursor }), 'invalid-cursor');
      }
    });

    it('returns current versions with their JSON', async () => {
      const [o1] = (await store.search({ types: ['Observation'], where: { op: 'id', ids: ['o1'] }, sort: [], limit: 1 })).resources;
      expect(o1).toMatchObject({ resourceType: 'Observation', id: 'o1', versionId: '1', deleted: false });
      expect(o1!.resource).toEqual({ resourceType: 'Observation', id: 'o1', meta: { versionId: '1', lastUpdated: o1!.lastUpdated } });
    });
  });

  describe('sorting and paging', () => {
    const ctx = freshStore(impl);
    const sortBy = (table: IndexTable, param: string, field: IndexField, descending: boolean): SortKey => ({ by: 'param', table, param, field, descending });
    const search = (request: Partial<SearchRequest>) => ctx.store.search({ types: ['Observation'], where: ALL, sort: [], limit: 100, ...request });

    // Per table, a row maker for values v0 < v1 < ... < v4. Resource s1 has rows [v3, v1],
    // s2 [v2], s3 none, s4 [v0, v4]: ascending (smallest value) s4 s1 s2 s3, descending
    // (largest value) s4 s1 s2 s3 as well, the resource without a value last both ways.
    // s5 [v1, v2] then ties s1 ascending and s2 descending: ties go in write order.
    const sortCases: Array<[IndexTable, IndexField, (v: number) => IndexEntry]> = [
      ['string', 'value', (v) => str('k', `v${'abcde'[v]}`)],
      ['string', 'exact', (v) => str('k', 'same', `E${'abcde'[v]}`)],
      ['token', 'code', (v) => tok('k', LOINC, `c${v}`)],
      ['token', 'system', (v) => tok('k', `urn:s${v}`, 'c')],
      ['date', 'low', (v) => date('k', v * 1000, 10_000)],
      ['date', 'high', (v) => date('k', 0, v * 1000)],
      ['number', 'low', (v) => num('k', v - 0.5, v + 0.5)],
      ['quantity', 'low', (v) => qty('k', v * 2, v * 2, UCUM, 'mg')],
      ['reference', 'value', (v) => ref('k', `Patient/r${v}`)],
      ['uri', 'value', (v) => uri('k', `http://x/${v}`)],
      ['composite', 'code', (v) => comp('k', { code: `c${v}` }, { low: 1, high: 1 })],
      ['composite', 'low', (v) => comp('k', { code: 'c', low: v, high: v })],
    ];

    it.each(sortCases)('sorts by %s %s, smallest value ascending, largest descending, missing last', async (table, field, make) => {
      await ctx.store.put(putOf('Observation', 's1', [make(3), make(1)]));
      await ctx.store.put(putOf('Observation', 's2', [make(2)]));
      await ctx.store.put(putOf('Observation', 's3', [str('other', 'x')]));
      await ctx.store.put(putOf('Observation', 's4', [make(0), make(4)]));
      expect(idsOf(await search({ sort: [sortBy(table, 'k', field, false)] }))).toEqual(['s4', 's1', 's2', 's3']);
      expect(idsOf(await search({ sort: [sortBy(table, 'k', field, true)] }))).toEqual(['s4', 's1', 's2', 's3']);
      // Only the smallest (ascending) or largest (descending) value counts.
      await ctx.store.put(putOf('Observation', 's5', [make(1), make(2)]));
      expect(idsOf(await search({ sort: [sortBy(table, 'k', field, false)] }))).toEqual(['s4', 's1', 's5', 's2', 's3']);
      expect(idsOf(await search({ sort: [sortBy(table, 'k', field, true)] }))).toEqual(['s4', 's1', 's2', 's5', 's3']);
    });

    it('sorts by id in code point order, and by lastUpdated', async () => {
      for (const id of ['b', 'a', 'C', 'c', 'B1', 'a-2', 'a.1']) {
        await ctx.store.put(putOf('Observation', id));
        await tick(2);
      }
      const byId = ['B1', 'C', 'a', 'a-2', 'a.1', 'b', 'c'];
      expect(idsOf(await search({ sort: [{ by: 'id', descending: false }] }))).toEqual(byId);
      expect(idsOf(await search({ sort: [{ by: 'id', descending: true }] }))).toEqual([...byId].reverse());
      await ctx.store.put(putOf('Observation', 'C'));
      const byTime = ['b', 'a', 'c', 'B1', 'a-2', 'a.1', 'C'];
      expect(idsOf(await search({ sort: [{ by: 'lastUpdated', descending: false }] }))).toEqual(byTime);
      expect(idsOf(await search({ sort: [{ by: 'lastUpdated', descending: true }] }))).toEqual([...byTime].reverse());
    });

    it('sorts by several keys, ties in write order', async () => {
      const rows: Array<[string, string, number]> = [
        ['m1', 'b', 5],
        ['m2', 'a', 1],
        ['m3', 'b', 9],
        ['m4', 'a', 1],
        ['m5', 'a', 3],
      ];
      for (const [id, c, d] of rows) await ctx.store.put(putOf('Observation', id, [tok('code', LOINC, c), date('date', d, d)]));
      const sort = [sortBy('token', 'code', 'code', false), sortBy('date', 'date', 'low', true)];
      expect(idsOf(await search({ sort }))).toEqual(['m5', 'm2', 'm4', 'm3', 'm1']);
      expect(idsOf(await search({ sort: [sortBy('token', 'code', 'code', true), { by: 'id', descending: false }] }))).toEqual(['m1', 'm3', 'm2', 'm4', 'm5']);
      expect(idsOf(await search({ sort: [] }))).toEqual(['m1', 'm2', 'm3', 'm4', 'm5']);
    });

    /** Follows `next` from the first page, returning the pages' ids. */
    async function walk(request: Partial<SearchRequest>, between?: (page: number) => Promise<void>): Promise<string[][]> {
      const pages: string[][] = [];
      let page = await search(request);
      for (;;) {
        pages.push(idsOf(page));
        if (!page.next) return pages;
        await between?.(pages.length);
        page = await search({ ...request, cursor: page.next });
      }
    }

    it('pages forwards and backwards with cursors', async () => {
      for (let i = 0; i < 7; i++) await ctx.store.put(putOf('Observation', `q${i}`, [str('name', `n${(i * 3) % 7}`)]));
      const sort = [sortBy('string', 'name', 'value', false)];
      const expected = ['q0', 'q5', 'q3', 'q1', 'q6', 'q4', 'q2'];
      expect(idsOf(await search({ sort }))).toEqual(expected);
      const first = await search({ sort, limit: 3 });
      expect(idsOf(first)).toEqual(expected.slice(0, 3));
      expect(first.previous).toBeUndefined();
      const second = await search({ sort, limit: 3, cursor: first.next! });
      expect(idsOf(second)).toEqual(expected.slice(3, 6));
      const third = await search({ sort, limit: 3, cursor: second.next! });
      expect(idsOf(third)).toEqual(expected.slice(6));
      expect(third.next).toBeUndefined();
      const back = await search({ sort, limit: 3, cursor: third.previous! });
      expect(idsOf(back)).toEqual(expected.slice(3, 6));
      const backAgain = await search({ sort, limit: 3, cursor: back.previous! });
      expect(idsOf(backAgain)).toEqual(expected.slice(0, 3));
      expect(backAgain.previous).toBeUndefined();
      expect(idsOf(await search({ sort, limit: 3, cursor: backAgain.next! }))).toEqual(expected.slice(3, 6));
      expect(await walk({ sort: [sortBy('string', 'name', 'value', true)], limit: 2 })).toEqual([['q2', 'q4'], ['q6', 'q1'], ['q3', 'q5'], ['q0']]);
    });

    it('pages through ties and by every sort form without skipping or repeating', async () => {
      for (let i = 0; i < 9; i++) {
        await ctx.store.put(putOf('Observation', `t${i}`, i % 4 === 0 ? [] : [tok('code', LOINC, `c${i % 2}`), date('date', i % 3, i % 3)]));
        await tick(1);
      }
      const sorts: SortKey[][] = [
        [],
        [{ by: 'id', descending: true }],
        [{ by: 'lastUpdated', descending: false }],
        [sortBy('token', 'code', 'code', false)],
        [sortBy('token', 'code', 'code', true), sortBy('date', 'date', 'high', false)],
        [sortBy('date', 'date', 'low', true), { by: 'id', descending: false }],
      ];
      for (const sort of sorts) {
        const all = idsOf(await search({ sort }));
        expect(all).toHaveLength(9);
        for (const limit of [1, 2, 4]) expect((await walk({ sort, limit })).flat()).toEqual(all);
      }
    });

    it('neither skips nor repeats when resources are added or deleted between pages', async () => {
      for (const [id, n] of [
        ['a', 'b'],
        ['b', 'd'],
        ['c', 'f'],
        ['d', 'h'],
        ['e', 'j'],
        ['f', 'l'],
      ] as const) {
        await ctx.store.put(putOf('Observation', id, [str('name', n)]));
      }
      const sort = [sortBy('string', 'name', 'value', false)];
      const pages = await walk({ sort, limit: 2 }, async (page) => {
        if (page === 1) {
          // Before the cursor: not seen. After it: seen in order. A later one deleted: gone.
          await ctx.store.put(putOf('Observation', 'early', [str('name', 'a')]));
          await ctx.store.put(putOf('Observation', 'later', [str('name', 'i')]));
          await ctx.store.delete({ resourceType: 'Observation', id: 'e' });
        }
      });
      expect(pages.flat()).toEqual(['a', 'b', 'c', 'd', 'later', 'f']);
    });

    it('pages backwards after deletions without repeating', async () => {
      for (let i = 0; i < 6; i++) await ctx.store.put(putOf('Observation', `r${i}`, [num('n', i, i)]));
      const sort = [sortBy('number', 'n', 'low', false)];
      const first = await search({ sort, limit: 2 });
      const second = await search({ sort, limit: 2, cursor: first.next! });
      await ctx.store.delete({ resourceType: 'Observation', id: 'r1' });
      const back = await search({ sort, limit: 2, cursor: second.previous! });
      expect(idsOf(back)).toEqual(['r0']);
      expect(idsOf(await search({ sort, limit: 2, cursor: back.next! }))).toEqual(['r2', 'r3']);
    });
  });
});
