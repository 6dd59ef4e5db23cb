/**
 * Installing FHIR packages into each store (embedded, and MongoDB on CongoDB or MONGODB_URI):
 * resources stored once as ordinary resources, idempotent re-installs, replacement by another
 * version, refusals that write nothing, missing dependencies, and the search parameters a
 * package adds (with reindexing of what was stored before).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Patient } from 'fhir/r4';
import { createLogger } from '../../../src/log.js';
import { PackageError } from '../../../src/packages/errors.js';
import { Packages } from '../../../src/packages/service.js';
import { extractIndex } from '../../../src/search/extract.js';
import type { ResourceStore } from '../../../src/storage/resource-store.js';
import { EXAMPLE_PACKAGE, exampleResource, packFolder } from '../../support/packages.js';
import { storeImplementations, type OpenStore } from '../../support/stores.js';

const BASE = 'http://bedside.test/fhir';
const COLOUR_EXTENSION = 'http://bedside.example/fhir/StructureDefinition/favourite-colour';
const colourful = (id: string, colour: string): Patient => ({
  resourceType: 'Patient',
  id,
  name: [{ family: id }],
  extension: [{ url: COLOUR_EXTENSION, valueCodeableConcept: { coding: [{ system: 'http://bedside.example/fhir/CodeSystem/colours', code: colour }] } }],
});

async function put(store: ResourceStore, resource: Patient, packages?: Packages) {
  const index = packages ? packages.index(resource) : extractIndex(resource, { baseUrl: BASE });
  await store.put({ resourceType: resource.resourceType, id: resource.id!, resource, index, method: 'PUT' });
}

async function byColour(store: ResourceStore, colour: string): Promise<string[]> {
  const page = await store.search({
    types: ['Patient'],
    where: { op: 'row', table: 'token', param: 'favourite-colour', where: [{ field: 'code', cmp: 'eq', value: colour }] },
    sort: [],
    limit: 100,
  });
  return page.resources.map((r) => r.id).sort();
}

describe.each(storeImplementations())('packages on the $name store', (implementation) => {
  let storage: OpenStore;
  let packages: Packages;
  const open = () => new Packages({ resources: storage.resources, documents: storage.documents, fhirBaseUrl: BASE, logger: createLogger('silent') });

  beforeEach(async () => {
    storage = await implementation.open();
    packages = open();
    await packages.refresh();
  });
  afterEach(async () => {
    await packages.close();
    await storage.dispose();
  });

  it('stores the conformance resources once, as ordinary resources with their own ids', async () => {
    const [report] = await packages.install([EXAMPLE_PACKAGE]);
    expect(report).toMatchObject({ status: 'installed', written: 8, deleted: 0, addedSearchParameters: ['Patient.favourite-colour'] });
    const counts = await storage.resources.countByType();
    expect(counts).toEqual({ CapabilityStatement: 1, CodeSystem: 1, ImplementationGuide: 1, SearchParameter: 1, StructureDefinition: 1, ValueSet: 3 });
    const stored = await storage.resources.read('ValueSet', 'bedside-warm-colours');
    expect(stored?.resource).toMatchObject({ ...exampleResource('ValueSet-bedside-warm-colours.json'), meta: { versionId: '1' } });
    expect(packages.installed()).toEqual([
      expect.objectContaining({ name: 'bedside.example', version: '1.0.0', fhirVersions: ['4.0.1'], canonical: 'http://bedside.example/fhir' }),
    ]);
    // The server-wide conformance view finds them by canonical URL, with or without the version.
    expect((await packages.conformance.valueSet('http://bedside.example/fhir/ValueSet/warm-colours'))?.id).toBe('bedside-warm-colours');
    expect((await packages.conformance.codeSystem('http://bedside.example/fhir/CodeSystem/colours|1.0.0'))?.id).toBe('bedside-colours');
    expect(await packages.conformance.codeSystem('http://bedside.example/fhir/CodeSystem/colours|9.9')).toBeUndefined();
    expect((await packages.conformance.structureDefinition('http://bedside.example/fhir/StructureDefinition/bedside-patient'))?.type).toBe('Patient');
    expect((await packages.conformance.implementationGuide('bedside.example'))?.url).toBe('http://bedside.example/fhir/ImplementationGuide/bedside.example');
    expect((await packages.conformance.searchParameters()).map((p) => p.code)).toEqual(['favourite-colour']);
  });

  it('installs the same package again without writing anything (folder or .tgz)', async () => {
    await packages.install([EXAMPLE_PACKAGE]);
    const tgz = await packFolder(EXAMPLE_PACKAGE);
    const reports = await packages.install([EXAMPLE_PACKAGE, tgz, tgz]);
    expect(reports.map((r) => [r.status, r.written])).toEqual([
      ['unchanged', 0],
      ['unchanged', 0],
      ['unchanged', 0],
    ]);
    const history = await storage.resources.history({ resourceType: 'ValueSet', limit: 100 });
    expect(history.versions).toHaveLength(3);
    // A second node (or a restart) sees what is installed.
    const other = open();
    await other.refresh();
    expect(other.installed().map((p) => `${p.name}#${p.version}`)).toEqual(['bedside.example#1.0.0']);
    expect(other.searchRegistry().get('Patient', 'favourite-colour')?.url).toBe('http://bedside.example/fhir/SearchParameter/bedside-favourite-colour');
    await other.close();
  });

  it('replaces an installed version by another: changed resources updated, dropped ones deleted', async () => {
    await packages.install([EXAMPLE_PACKAGE]);
    const next = await packFolder(EXAMPLE_PACKAGE, {
      edit: (name, json) => {
        if (name === 'package/package.json') return { ...json, version: '1.1.0' };
        if (name.endsWith('ValueSet-bedside-all-loinc.json')) return undefined;
        if (name.endsWith('CodeSystem-bedside-colours.json')) return { ...json, version: '1.1.0' };
        return json;
      },
    });
    const [report] = await packages.install([next]);
    expect(report).toMatchObject({ status: 'replaced', previous: '1.0.0', written: 1, deleted: 1 });
    expect((await storage.resources.read('ValueSet', 'bedside-all-loinc'))?.deleted).toBe(true);
    expect((await storage.resources.read('CodeSystem', 'bedside-colours'))?.versionId).toBe('2');
    expect((await storage.resources.read('ValueSet', 'bedside-warm-colours'))?.versionId).toBe('1');
    expect(packages.installed().map((p) => p.version)).toEqual(['1.1.0']);
  });

  it('refuses a duplicate canonical URL from another package, and writes nothing of it', async () => {
    await packages.install([EXAMPLE_PACKAGE]);
    const clash = await packFolder(EXAMPLE_PACKAGE, {
      edit: (name, json) => {
        if (name === 'package/package.json') return { ...json, name: 'other.package' };
        if (name.endsWith('ValueSet-bedside-warm-colours.json')) return { ...json, id: 'other-warm' };
        if (name.endsWith('CodeSystem-bedside-colours.json')) return { ...json, url: 'http://other.example/colours' };
        return name.startsWith('package/example/') ? json : undefined;
      },
    });
    const error = await packages.install([clash]).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(PackageError);
    const message = (error as Error).message;
    expect(message).toMatch(/^other\.package#1\.0\.0 cannot be loaded:/);
    expect(message).toContain(
      'duplicate canonical URL http://bedside.example/fhir/ValueSet/warm-colours (ValueSet/other-warm): already held by package bedside.example#1.0.0 (ValueSet/bedside-warm-colours)',
    );
    expect(message).toContain('CodeSystem/bedside-colours already exists, from package bedside.example#1.0.0');
    expect(message.split('\n')).toHaveLength(3);
    expect(await storage.resources.read('ValueSet', 'other-warm')).toBeUndefined();
    expect(packages.installed().map((p) => p.name)).toEqual(['bedside.example']);
  });

  it('refuses a package whose resource would overwrite one that came from no package', async () => {
    const posted = { ...exampleResource('ValueSet-bedside-warm-colours.json'), id: 'posted-warm' };
    await storage.resources.put({
      resourceType: 'ValueSet',
      id: 'posted-warm',
      resource: posted,
      index: extractIndex(posted, { baseUrl: BASE }),
      method: 'PUT',
    });
    const error = await packages.install([EXAMPLE_PACKAGE]).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect((error as Error).message).toContain(
      'duplicate canonical URL http://bedside.example/fhir/ValueSet/warm-colours (ValueSet/bedside-warm-colours): already held by ValueSet/posted-warm, which is not from a package',
    );
    expect(await storage.resources.countByType()).toEqual({ ValueSet: 1 });
  });

  it('leaves out a package search parameter whose expression does not compile, and keeps indexing', async () => {
    const broken = await packFolder(EXAMPLE_PACKAGE, {
      extra: {
        'package/SearchParameter-broken.json': {
          ...exampleResource('SearchParameter-bedside-favourite-colour.json'),
          id: 'broken',
          url: 'http://bedside.example/fhir/SearchParameter/broken',
          code: 'broken',
          expression: 'Patient.name.where(((',
        },
      },
    });
    const [report] = await packages.install([broken]);
    expect(report!.addedSearchParameters).toEqual(['Patient.favourite-colour']);
    expect(packages.searchRegistry().get('Patient', 'broken')).toBeUndefined();
    await put(storage.resources, colourful('still-indexed', 'red'), packages);
    expect(await byColour(storage.resources, 'red')).toEqual(['still-indexed']);
  });

  it('lists each dependency that is not installed (R4 core is built in)', async () => {
    await packages.install([EXAMPLE_PACKAGE]);
    expect(packages.missingDependencies()).toEqual([{ name: 'bedside.example.missing', versions: ['0.1.0'], neededBy: ['bedside.example#1.0.0'] }]);
  });

  it('reindexes resources stored before the package that adds their search parameter', async () => {
    await put(storage.resources, colourful('before-red', 'red'));
    await put(storage.resources, colourful('before-blue', 'blue'));
    expect(await byColour(storage.resources, 'red')).toEqual([]);
    const [report] = await packages.install([EXAMPLE_PACKAGE]);
    expect(report!.reindexed).toBe(2);
    expect(await byColour(storage.resources, 'red')).toEqual(['before-red']);
    // A version without the parameter takes its rows away again.
    const without = await packFolder(EXAMPLE_PACKAGE, {
      edit: (name, json) => (name === 'package/package.json' ? { ...json, version: '2.0.0' } : name.includes('SearchParameter-') ? undefined : json),
    });
    const [removed] = await packages.install([without]);
    expect(removed).toMatchObject({ status: 'replaced', deleted: 1, addedSearchParameters: [], reindexed: 2 });
    expect(await byColour(storage.resources, 'red')).toEqual([]);
    await packages.install([EXAMPLE_PACKAGE]);
    expect(await byColour(storage.resources, 'red')).toEqual(['before-red']);
    // Written after: indexed with the package's parameter from the start.
    await put(storage.resources, colourful('after-red', 'red'), packages);
    expect(await byColour(storage.resources, 'red')).toEqual(['after-red', 'before-red']);
    // Reindexing wrote no versions, and the rows are those the integrity check (npm run check) expects.
    expect((await storage.resources.read('Patient', 'before-red'))?.versionId).toBe('1');
    expect((await storage.resources.verifyIntegrity({ reindex: (r) => packages.index(r) })).problems).toEqual([]);
  });
});
