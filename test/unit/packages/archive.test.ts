/**
 * Reading FHIR packages: folders and .tgz files give the same content; damaged archives, other
 * FHIR versions and broken files are refused with a message that names the package and why.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { readPackage } from '../../../src/packages/archive.js';
import { PackageError } from '../../../src/packages/errors.js';
import { EXAMPLE_PACKAGE, hasUsCore, packFolder, US_CORE_6 } from '../../support/packages.js';

const CONFORMANCE_FILES = 8; // every JSON file at the example package's root but package.json

describe('readPackage', () => {
  it('reads the manifest and the conformance resources of a folder, not the examples', async () => {
    const pkg = await readPackage(EXAMPLE_PACKAGE);
    expect(pkg.manifest).toEqual({
      name: 'bedside.example',
      version: '1.0.0',
      fhirVersions: ['4.0.1'],
      dependencies: { 'hl7.fhir.r4.core': '4.0.1', 'bedside.example.missing': '0.1.0' },
      canonical: 'http://bedside.example/fhir',
      title: 'Bedside example package (tests)',
    });
    expect(pkg.resources).toHaveLength(CONFORMANCE_FILES);
    expect(pkg.resources.map((r) => `${r.resourceType}/${r.id}`).sort()).toEqual([
      'CapabilityStatement/bedside-server',
      'CodeSystem/bedside-colours',
      'ImplementationGuide/bedside.example',
      'SearchParameter/bedside-favourite-colour',
      'StructureDefinition/bedside-patient',
      'ValueSet/bedside-all-loinc',
      'ValueSet/bedside-observation-codes',
      'ValueSet/bedside-warm-colours',
    ]);
    expect(pkg.resources.some((r) => r.resourceType === 'Patient')).toBe(false);
  });

  it('reads the same content, with the same digest, from a .tgz', async () => {
    const folder = await readPackage(EXAMPLE_PACKAGE);
    const tgz = await readPackage(await packFolder(EXAMPLE_PACKAGE));
    expect(tgz.manifest).toEqual(folder.manifest);
    expect(tgz.resources).toEqual(folder.resources);
    expect(tgz.digest).toBe(folder.digest);
  });

  it('skips a resource at the root that is not a conformance resource', async () => {
    const pkg = await readPackage(await packFolder(EXAMPLE_PACKAGE, { extra: { 'package/Patient-root.json': { resourceType: 'Patient', id: 'root' } } }));
    expect(pkg.resources).toHaveLength(CONFORMANCE_FILES);
    expect(pkg.skipped).toBe(1);
  });

  it.skipIf(!hasUsCore)('reads US Core 6.1.0: 210 conformance resources, the 178 examples left out', async () => {
    const pkg = await readPackage(US_CORE_6);
    expect(pkg.manifest.name).toBe('hl7.fhir.us.core');
    expect(pkg.manifest.version).toBe('6.1.0');
    const count = (type: string) => pkg.resources.filter((r) => r.resourceType === type).length;
    expect([count('StructureDefinition'), count('SearchParameter'), count('ValueSet'), count('CodeSystem'), count('CapabilityStatement')]).toEqual([
      59, 106, 36, 5, 2,
    ]);
    expect(pkg.resources).toHaveLength(210);
  });

  const refusals: Array<[string, () => Promise<string>, RegExp]> = [
    [
      'a truncated .tgz',
      async () => {
        const file = await packFolder(EXAMPLE_PACKAGE);
        const bytes = readFileSync(file);
        writeFileSync(file, bytes.subarray(0, Math.floor(bytes.length / 2)));
        return file;
      },
      /package\.tgz is not a readable package \(\.tgz\): unexpected end of file/,
    ],
    [
      'a file that is not gzip',
      async () => {
        const file = await packFolder(EXAMPLE_PACKAGE);
        writeFileSync(file, 'this is not a package');
        return file;
      },
      /is not a readable package \(\.tgz\): incorrect header check/,
    ],
    [
      'a package for FHIR R5',
      () => packFolder(EXAMPLE_PACKAGE, { edit: (n, j) => (n === 'package/package.json' ? { ...j, fhirVersions: ['5.0.0'] } : j) }),
      /bedside\.example#1\.0\.0 \(.*\) is for FHIR 5\.0\.0; Bedside serves FHIR R4 \(4\.0\.1\) and cannot load it/,
    ],
    [
      'a package for STU3 by its core dependency',
      () =>
        packFolder(EXAMPLE_PACKAGE, {
          edit: (n, j) =>
            n === 'package/package.json' ? { ...j, fhirVersions: undefined, dependencies: { 'hl7.fhir.r3.core': '3.0.2', 'hl7.fhir.r4.core': undefined } } : j,
        }),
      /does not say which FHIR version it is for/,
    ],
    [
      'an archive without package.json',
      () => packFolder(EXAMPLE_PACKAGE, { edit: (n, j) => (n === 'package/package.json' ? undefined : j) }),
      /has no package\/package\.json: it is not a FHIR package/,
    ],
    [
      'a resource file that is not JSON',
      () => packFolder(EXAMPLE_PACKAGE, { extra: { 'package/ValueSet-broken.json': '{"resourceType": "ValueSet",' } }),
      /ValueSet-broken\.json is not valid JSON/,
    ],
    ['a missing file', async () => '/nonexistent/package.tgz', /\/nonexistent\/package\.tgz: no such file or folder/],
  ];
  it.each(refusals)('refuses %s', async (_name, make, message) => {
    const file = await make();
    const error = await readPackage(file).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(PackageError);
    expect((error as Error).message).toMatch(message);
  });
});
