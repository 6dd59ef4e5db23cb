/**
 * `near` on Location: `near=[latitude]|[longitude]|[distance]|[units]` (WGS84 decimal degrees),
 * matching locations whose `position` is within the distance of the point along the earth's
 * surface, nearest first when the search has no `_sort`.
 *
 * - Units are UCUM lengths (`km`, `m`, `[mi_i]`, `[ft_i]` ...; `mi` is read as `[mi_i]`); without
 *   units, kilometres, as R4 says.
 * - Without a distance, R4 leaves "near" to the server: {@link DEFAULT_DISTANCE_KM} kilometres.
 * - Distances are great-circle distances on a sphere of the earth's mean radius
 *   (storage/geo.ts), within 0.5% of distances on the WGS84 ellipsoid.
 *
 * https://hl7.org/fhir/R4/location.html#positional and the Location `near` SearchParameter
 */
import { badRequest } from '../r4/errors.js';
import type { Condition, SortKey } from '../storage/search-index.js';
import { splitEscaped, unescapeValue } from './escape.js';
import { parseDecimal } from './numbers.js';
import { canonicalUnit } from './ucum.js';

/** The distance when a `near` value gives none. */
export const DEFAULT_DISTANCE_KM = 10;

/** Common unit names that are not UCUM codes, and the UCUM code they stand for. */
const UNIT_ALIASES: Readonly<Record<string, string>> = { mi: '[mi_i]' };

function degrees(text: string, name: string, what: 'latitude' | 'longitude'): number {
  const limit = what === 'latitude' ? 90 : 180;
  const value = parseDecimal(text.trim())?.value;
  if (value === undefined || Math.abs(value) > limit)
    throw badRequest(`The ${what} "${text}" in the value of "${name}" is not a number from -${limit} to ${limit}`);
  return value;
}

function meters(distance: string | undefined, units: string | undefined, name: string): number {
  if (distance === undefined || distance.trim() === '') return DEFAULT_DISTANCE_KM * 1000;
  const value = parseDecimal(distance.trim())?.value;
  if (value === undefined || value < 0) throw badRequest(`The distance "${distance}" in the value of "${name}" is not a non-negative number`);
  const code = units === undefined || units.trim() === '' ? 'km' : units.trim();
  const unit = canonicalUnit(UNIT_ALIASES[code] ?? code);
  if (unit?.code !== 'm') throw badRequest(`The units "${code}" in the value of "${name}" are not a UCUM length (such as km, m or [mi_i])`);
  return value * unit.factor;
}

/** One `near` value as a condition on the position rows of `param`. */
function nearValue(param: string, name: string, raw: string): Extract<Condition, { op: 'near' }> {
  const parts = splitEscaped(raw, '|').map(unescapeValue);
  if (parts.length < 2 || parts.length > 4) throw badRequest(`The value of "${name}" must be latitude|longitude[|distance[|units]]`);
  return {
    op: 'near',
    param,
    latitude: degrees(parts[0]!, name, 'latitude'),
    longitude: degrees(parts[1]!, name, 'longitude'),
    distance: meters(parts[2], parts[3], name),
  };
}

/**
 * `near=v1,v2`: within the distance of any of the points; `near:missing=true|false`: without or
 * with a position. Undefined for an empty value.
 */
export function nearCondition(param: string, name: string, modifier: string | undefined, value: string): Condition | undefined {
  if (modifier === 'missing') {
    if (value !== 'true' && value !== 'false') throw badRequest(`The value of "${name}" must be true or false`);
    return { op: 'missing', table: 'position', param, missing: value === 'true' };
  }
  if (modifier !== undefined) throw badRequest(`The parameter "${name}" takes no modifier other than :missing`);
  const points = splitEscaped(value, ',')
    .filter((v) => v !== '')
    .map((v) => nearValue(param, name, v));
  if (points.length === 0) return undefined;
  return points.length === 1 ? points[0]! : { op: 'or', of: points };
}

/**
 * The order of a search without `_sort`: nearest first when its criteria (ANDed at the top)
 * hold exactly one `near` with one point; otherwise none.
 */
export function nearestFirst(criteria: readonly Condition[]): SortKey[] {
  const nears = criteria.flatMap((c) => (c.op === 'and' ? c.of : [c])).filter((c) => c.op === 'near');
  if (nears.length !== 1) return [];
  const near = nears[0] as Extract<Condition, { op: 'near' }>;
  return [{ by: 'distance', param: near.param, latitude: near.latitude, longitude: near.longitude, descending: false }];
}
