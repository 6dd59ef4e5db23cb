/**
 * Bedside's deterministic FHIR R4 sample-data generator.
 *
 * ```ts
 * import { generatePatients, generateShared } from './sample-data/index.js';
 * const shared = generateShared({ patients: 100 });           // load these first
 * for (const { patientId, resources } of generatePatients({ patients: 100 })) { ... }
 * ```
 *
 * The same options always produce the same resources, byte for byte. References are relative
 * (`Type/id`); patient records point at the shared resources, and the Groups point at patients.
 * The CLI (`npm run generate`) writes the same data to files; see fhir-data/README.md.
 */
export { generatePatients, generateShared, type PatientRecord } from './generate.js';
export { DEFAULT_OPTIONS, MAX_PATIENTS, patientId, resolveOptions, type GeneratorOptions, type ResolvedOptions } from './options.js';
export {
  transactionBundle,
  writeSampleData,
  type OutputFormat,
  type WriteOptions,
  type WriteSummary,
} from './output/write.js';
