/**
 * UCUM canonical units for quantity search: `5.4 mg` is also indexed as `0.0054 g`, so
 * `value-quantity=5400|http://unitsofmeasure.org|ug` finds it. Conversion factors come from the
 * UCUM library that FHIRPath.js ships (@lhncbc/ucum-lhc); units with an offset (Cel, [degF]) and
 * arbitrary units ([IU]) are not converted.
 *
 * https://hl7.org/fhir/R4/search.html#quantity
 */
import fhirpath from 'fhirpath';
import { LRUCache } from 'lru-cache';

export const UCUM_SYSTEM = 'http://unitsofmeasure.org';

/** A unit expressed in UCUM base units: value × factor is the value in `code`. */
export interface CanonicalUnit {
  /** Base units with exponents, sorted, e.g. `g.m-3`; `1` for dimensionless. */
  code: string;
  factor: number;
}

interface BaseUnitsResult {
  status: string;
  magnitude?: number;
  unitToExp?: Record<string, number>;
  fromUnitIsSpecial?: boolean;
}

const MAX_CACHED = 5000;
// Unit codes come from data and queries: bound the memo rather than let it grow forever.
const cache = new LRUCache<string, CanonicalUnit | false>({ max: MAX_CACHED });

function compute(code: string): CanonicalUnit | null {
  let result: BaseUnitsResult;
  try {
    result = fhirpath.ucumUtils.convertToBaseUnits(code, 1) as BaseUnitsResult;
  } catch {
    return null;
  }
  if (result.status !== 'succeeded' || result.fromUnitIsSpecial || !result.unitToExp) return null;
  const factor = result.magnitude;
  if (typeof factor !== 'number' || !Number.isFinite(factor) || factor === 0) return null;
  const parts = Object.entries(result.unitToExp)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([unit, exp]) => (exp === 1 ? unit : `${unit}${exp}`));
  return { code: parts.length > 0 ? parts.join('.') : '1', factor };
}

/** The canonical form of a UCUM unit code, or undefined when it has none (invalid, special, arbitrary). */
export function canonicalUnit(code: string): CanonicalUnit | undefined {
  let hit = cache.get(code);
  if (hit === undefined) {
    hit = (code.length > 0 && code.length <= 64 && compute(code)) || false;
    cache.set(code, hit);
  }
  return hit || undefined;
}
