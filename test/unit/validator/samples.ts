/**
 * Every resource of the sample data, one by one, as a write would see it: the entries of the
 * Synthea and Inferno transaction Bundles, each HL7 R4 example file as it is (Bundles included),
 * and the entries of our own fhir-data Bundles.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { hasSharedSamples, sharedPath } from '../../support/shared-samples.js';

export interface Sample {
  /** `synthea/<file>#<entry>`, `hl7-r4-examples/<file>`, ... */
  readonly name: string;
  readonly source: 'synthea' | 'inferno-uscore' | 'hl7-r4-examples' | 'fhir-data';
  readonly resource: Record<string, unknown> & { resourceType: string };
}

const FHIR_DATA = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../fhir-data');
export const hasFhirData = existsSync(path.join(FHIR_DATA, 'shared.json'));
export { hasSharedSamples };

const readJson = (file: string) => JSON.parse(readFileSync(file, 'utf8')) as Sample['resource'] & { entry?: Array<{ resource?: Sample['resource'] }> };
const jsonFiles = (dir: string) =>
  existsSync(dir)
    ? readdirSync(dir)
        .filter((f) => f.endsWith('.json'))
        .sort()
    : [];

function* entriesOf(source: Sample['source'], dir: string, files: string[]): Generator<Sample> {
  for (const file of files) {
    const bundle = readJson(path.join(dir, file));
    for (const [i, entry] of (bundle.entry ?? []).entries()) {
      if (entry.resource) yield { name: `${source}/${file}#${i}`, source, resource: entry.resource };
    }
  }
}

export function* sharedSamples(sources: ReadonlyArray<Sample['source']> = ['synthea', 'inferno-uscore', 'hl7-r4-examples']): Generator<Sample> {
  if (!hasSharedSamples) return;
  for (const source of sources) {
    const dir = sharedPath(source);
    if (source === 'hl7-r4-examples') {
      for (const file of jsonFiles(dir)) yield { name: `${source}/${file}`, source, resource: readJson(path.join(dir, file)) };
    } else if (source !== 'fhir-data') yield* entriesOf(source, dir, jsonFiles(dir));
  }
}

export function* fhirDataSamples(): Generator<Sample> {
  if (!hasFhirData) return;
  yield* entriesOf('fhir-data', FHIR_DATA, ['shared.json']);
  yield* entriesOf('fhir-data', path.join(FHIR_DATA, 'patients'), jsonFiles(path.join(FHIR_DATA, 'patients')));
}

export function allSamples(): Sample[] {
  return [...sharedSamples(), ...fhirDataSamples()];
}
