/**
 * The third-party sample data in ../shared/fhir-samples (Synthea, Inferno, HL7 examples). It is
 * not part of the repository: tests that need it are skipped (and reported as skipped) in a
 * user's clone, where it is absent.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export const SHARED_SAMPLES = process.env.BEDSIDE_SHARED_SAMPLES ?? path.resolve(ROOT, '../shared/fhir-samples');
export const hasSharedSamples = existsSync(path.join(SHARED_SAMPLES, 'synthea'));
export const sharedPath = (...parts: string[]) => path.join(SHARED_SAMPLES, ...parts);
