/**
 * Standing searches on the change feed (src/access/change-feed.ts): a change's content comes out
 * only for a search whose criteria it satisfies AND whose policy may search and read it. Run on
 * a real embedded store, with policies compiled from scopes as tokens carry them.
 */
import type { Resource } from 'fhir/r4';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Change, ChangeFeed, StandingSearch } from '../../../src/access/change-feed.js';
import type { PolicyCompiler } from '../../../src/access/resource-access.js';
import { createResourceAccess } from '../../../src/access/resource-access.js';
import { matches } from '../../../src/search/evaluate.js';
import { extractIndex } from '../../../src/search/extract.js';
import { parseSearch } from '../../../src/search/parse.js';
import { parseScopes, type ResourceScope } from '../../../src/smart/scopes.js';
import { openStorage, type Storage } from '../../../src/storage/open.js';

const BASE = 'http://localhost/fhir';
const dir = mkdtempSync(path.join(tmpdir(), 'bedside-feed-'));
let storage: Storage;
let feed: ChangeFeed;
let policies: PolicyCompiler;

beforeAll(async () => {
  storage = await openStorage({ kind: 'embedded', dataDir: dir });
  ({ changes: feed, policies } = createResourceAccess(storage.resources, { fhirBaseUrl: BASE, referenceWindowMs: 0 }));
});
afterAll(async () => {
  await storage.close();
  rmSync(dir, { recursive: true, force: true });
});

function policy(scope: string, context: { patient?: string; fhirUser?: string } = {}) {
  const scopes = parseScopes(scope).scopes.filter((s): s is ResourceScope => s.kind === 'resource');
  return policies.compile({ scopes, clientId: 'c', subject: 's', scopeStrings: scope.split(' '), ...context });
}

function search(scope: string, criteria: string, context: { patient?: string } = {}): StandingSearch {
  const [type, query] = criteria.split('?') as [string, string | undefined];
  return {
    policy: policy(scope, context),
    resourceType: type,
    where: parseSearch(type, new URLSearchParams(query ?? ''), { baseUrl: BASE, strict: true, maxCount: 1, defaultCount: 1 }).where,
  };
}

async function write(resource: Resource): Promise<void> {
  await storage.resources.put({
    resourceType: resource.resourceType,
    id: resource.id!,
    resource,
    index: extractIndex(resource, { baseUrl: BASE }),
    method: 'PUT',
  });
}

/** Writes `resources` and returns the changes they made. */
async function changesOf(work: () => Promise<void>): Promise<Change[]> {
  const { cursor } = await feed.read({ limit: 1 });
  await work();
  return (await feed.read({ after: cursor, limit: 100 })).changes;
}

const obs = (id: string, patient: string, code: string, category = 'laboratory'): Resource =>
  ({
    resourceType: 'Observation',
    id,
    status: 'final',
    category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: category }] }],
    code: { coding: [{ system: 'http://loinc.org', code }] },
    subject: { reference: `Patient/${patient}` },
  }) as Resource;

describe('standing searches on the change feed', () => {
  it('hands a version out only where criteria, search filter and read permission all allow it', async () => {
    const changes = await changesOf(async () => {
      await write({ resourceType: 'Patient', id: 'A', name: [{ family: 'Alpha' }] } as Resource);
      await write({ resourceType: 'Patient', id: 'B', name: [{ family: 'Beta' }] } as Resource);
      await write(obs('a1', 'A', '1234-5'));
      await write(obs('b1', 'B', '1234-5'));
      await write(obs('a2', 'A', '9999-9', 'vital-signs'));
    });
    expect(changes.map((c) => `${c.resourceType}/${c.id}`)).toEqual(['Patient/A', 'Patient/B', 'Observation/a1', 'Observation/b1', 'Observation/a2']);
    // The change itself carries no content.
    expect(Object.keys(changes[2]!).sort()).toEqual(['deleted', 'id', 'lastUpdated', 'method', 'resourceType', 'versionId']);

    const searches = {
      system: search('system/Observation.rs', 'Observation?code=1234-5'),
      patientA: search('patient/Observation.rs', 'Observation?code=1234-5', { patient: 'A' }),
      patientAAll: search('patient/Observation.rs', 'Observation', { patient: 'A' }),
      patientB: search('patient/Observation.rs', 'Observation?code=1234-5', { patient: 'B' }),
      // Criteria naming another patient do not widen a patient token's reach.
      patientAasksB: search('patient/Observation.rs', 'Observation?subject=Patient/B', { patient: 'A' }),
      granularVitals: search('patient/Observation.rs?category=vital-signs', 'Observation', { patient: 'A' }),
      // Search without read: nothing is handed out.
      searchOnly: search('system/Observation.s', 'Observation'),
      otherType: search('system/Patient.rs', 'Patient'),
      // A chain runs as a search on the bound store.
      chained: search('system/Observation.rs system/Patient.rs', 'Observation?subject:Patient.family=Alpha'),
      chainedByB: search('patient/Observation.rs patient/Patient.rs', 'Observation?subject:Patient.family=Alpha', { patient: 'B' }),
    };
    const names = Object.keys(searches) as Array<keyof typeof searches>;
    const matched: Record<string, string[]> = Object.fromEntries(names.map((n) => [n, []]));
    for (const change of changes) {
      const versions = await feed.match(change, Object.values(searches));
      versions.forEach((v, i) => {
        if (v) {
          expect(v).toMatchObject({ resourceType: change.resourceType, id: change.id, versionId: change.versionId });
          matched[names[i]!]!.push(`${v.resourceType}/${v.id}`);
        }
      });
    }
    expect(matched).toEqual({
      system: ['Observation/a1', 'Observation/b1'],
      patientA: ['Observation/a1'],
      patientAAll: ['Observation/a1', 'Observation/a2'],
      patientB: ['Observation/b1'],
      patientAasksB: [],
      granularVitals: ['Observation/a2'],
      searchOnly: [],
      otherType: ['Patient/A', 'Patient/B'],
      chained: ['Observation/a1', 'Observation/a2'],
      chainedByB: [],
    });
  });

  it('matches no deletion, and refuses changes it did not read', async () => {
    const changes = await changesOf(async () => {
      await write(obs('gone', 'A', '1234-5'));
      await storage.resources.delete({ resourceType: 'Observation', id: 'gone' });
    });
    const all = search('system/Observation.rs', 'Observation');
    expect((await feed.match(changes[0]!, [all]))[0]?.versionId).toBe('1');
    expect(changes[1]!.deleted).toBe(true);
    expect(await feed.match(changes[1]!, [all])).toEqual([undefined]);
    const forged: Change = { ...changes[0]! };
    await expect(feed.match(forged, [all])).rejects.toThrow(/changes read from this feed/);
  });

  it('decides many searches at once exactly as one by one (routing by required values changes no answer)', async () => {
    const criteria = [
      ...Array.from({ length: 30 }, (_, k) => `Observation?subject=Patient/r${k}`),
      ...Array.from({ length: 10 }, (_, k) => `Observation?patient=r${k}&code=http://loinc.org|1234-5`),
      'Observation?code=1234-5,9999-9',
      'Observation?code=http://loinc.org|9999-9',
      'Observation?code:not=1234-5',
      'Observation?status=final',
      'Observation?subject=Patient/r3,Patient/r4',
      'Observation?category=vital-signs&subject=Patient/r5',
      'Observation',
      'Observation?_id=nothing',
    ];
    const searches = criteria.map((c) => search('system/Observation.rs', c));
    const written: Resource[] = [];
    const changes = await changesOf(async () => {
      for (let k = 0; k < 12; k++) {
        const resource = obs(`route-${k}`, `r${k}`, k % 3 === 0 ? '9999-9' : '1234-5', k % 2 ? 'vital-signs' : 'laboratory');
        written.push(resource);
        await write(resource);
      }
    });
    for (const [n, change] of changes.entries()) {
      const together = (await feed.match(change, searches)).map((v) => v !== undefined);
      const stored = { ...written[n]!, meta: { lastUpdated: change.lastUpdated } } as Resource;
      // The oracle: every search evaluated on every index row of the resource.
      const oracle = searches.map((s) =>
        matches(
          s.where,
          { resourceType: 'Observation', id: change.id, lastUpdated: Date.parse(change.lastUpdated), index: extractIndex(stored, { baseUrl: BASE }) },
          { get: () => undefined, ofType: () => [] },
        ),
      );
      expect(together, change.id).toEqual(oracle);
      expect(together.filter(Boolean).length, change.id).toBeGreaterThanOrEqual(2);
    }
  });
});
