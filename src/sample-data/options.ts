/** What a generation run is parameterised by, with defaults and validation. */
import { parseDate } from './time.js';

/** Options accepted by {@link generatePatients} and {@link generateShared}. */
export interface GeneratorOptions {
  /** How many patients (default 12, the committed fhir-data/ set). */
  readonly patients: number;
  /** Any string; the same seed and options give byte-identical output (default "bedside"). */
  readonly seed: string;
  /** The reference "today", YYYY-MM-DD: every record lies before it (default 2026-01-01). */
  readonly today: string;
}

export const DEFAULT_OPTIONS: GeneratorOptions = { patients: 12, seed: 'bedside', today: '2026-01-01' };

/** The largest set we support: ids must stay short, and the benchmark needs 10,000. */
export const MAX_PATIENTS = 1_000_000;

/** Options after defaults and validation, plus values derived from them. */
export interface ResolvedOptions extends GeneratorOptions {
  readonly todayMs: number;
  /** Zero-padded width of the patient number in ids: 3 for the default set, more for large sets. */
  readonly idWidth: number;
}

/** Applies defaults and rejects impossible values with a message fit for a CLI user. */
export function resolveOptions(options: Partial<GeneratorOptions> = {}): ResolvedOptions {
  const merged = { ...DEFAULT_OPTIONS, ...definedOnly(options) };
  if (!Number.isInteger(merged.patients) || merged.patients < 1 || merged.patients > MAX_PATIENTS) {
    throw new RangeError(`patients must be an integer from 1 to ${MAX_PATIENTS}, got ${merged.patients}`);
  }
  if (merged.seed.length === 0) throw new RangeError('seed must not be empty');
  const todayMs = parseDate(merged.today);
  return { ...merged, todayMs, idWidth: Math.max(3, String(merged.patients).length) };
}

function definedOnly(options: Partial<GeneratorOptions>): Partial<GeneratorOptions> {
  return Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
}

/** `patient-001` for patient 1 of the default set; `patient-00001` in a set of 10,000. */
export function patientId(index: number, idWidth: number): string {
  return `patient-${String(index).padStart(idWidth, '0')}`;
}
