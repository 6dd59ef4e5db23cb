/** The two generator entry points; index.ts documents and re-exports them. */
import type { Resource } from 'fhir/r4';
import { withNarrative } from './narrative.js';
import { resolveOptions, type GeneratorOptions } from './options.js';
import { drawProfile } from './profile.js';
import { buildPatientRecord } from './record.js';
import { buildSharedResources } from './shared.js';

/** One patient's resources, the Patient first. */
export interface PatientRecord {
  readonly patientId: string;
  readonly resources: Resource[];
}

/**
 * Generates the patients one at a time, so millions can be streamed without holding them all.
 * Patient n depends only on the seed, `today` and n, not on the other patients.
 *
 * @throws RangeError on invalid options (see {@link resolveOptions}).
 */
export function* generatePatients(options: Partial<GeneratorOptions> = {}): Generator<PatientRecord, void, undefined> {
  const resolved = resolveOptions(options);
  for (let index = 1; index <= resolved.patients; index++) {
    const profile = drawProfile(resolved, index);
    yield { patientId: profile.id, resources: buildPatientRecord(profile, resolved.seed).map(withNarrative) };
  }
}

/**
 * The resources patient records refer to: Organization/bedside-general, its Locations,
 * Practitioners (Practitioner/practitioner-001 is Dr. Alice Carter) and PractitionerRoles, and
 * the Groups `all-patients`, `diabetes-cohort`, `hypertension-cohort` and `pediatric-cohort`.
 *
 * @throws RangeError on invalid options (see {@link resolveOptions}).
 */
export function generateShared(options: Partial<GeneratorOptions> = {}): Resource[] {
  return buildSharedResources(resolveOptions(options)).map(withNarrative);
}
