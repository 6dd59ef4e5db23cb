/**
 * Distances on the earth for `near` searches, shared by the stores and the reference evaluator
 * so that all of them compute the same number: the great-circle distance on a sphere of the
 * earth's mean radius (haversine formula), and a latitude/longitude box that contains every
 * point within a distance (what the indexes can look up before the exact check).
 *
 * https://hl7.org/fhir/R4/location.html#positional (WGS84 coordinates, distances in km by default)
 */

/** The earth's mean radius in metres (IUGG). Distances on the WGS84 ellipsoid differ by up to 0.5%. */
export const EARTH_RADIUS_M = 6_371_008.8;

/** Degrees to radians; the MongoDB expression (mongo/geo-expression.ts) multiplies by the same constant. */
export const RADIANS_PER_DEGREE = Math.PI / 180;

/**
 * Great-circle distance in metres between two points in decimal degrees. The operations and
 * their order are mirrored by the MongoDB expression, so that both give the same result.
 */
export function greatCircleMeters(lat1: number, lon1: number, lat2: number, lon2: number): number {
  const sinLat = Math.sin(((lat2 - lat1) * RADIANS_PER_DEGREE) / 2);
  const sinLon = Math.sin(((lon2 - lon1) * RADIANS_PER_DEGREE) / 2);
  const a = sinLat * sinLat + Math.cos(lat1 * RADIANS_PER_DEGREE) * Math.cos(lat2 * RADIANS_PER_DEGREE) * sinLon * sinLon;
  return 2 * EARTH_RADIUS_M * Math.asin(Math.sqrt(Math.min(1, a)));
}

/** Longitude ranges in degrees, each [from, to] with from <= to. */
export type LongitudeRanges = Array<[number, number]>;

export interface BoundingBox {
  minLatitude: number;
  maxLatitude: number;
  /** One range, or two when the box crosses the antimeridian; every longitude when it holds a pole. */
  longitudes: LongitudeRanges;
}

/** Slack in degrees (about 1 cm) so that rounding never leaves a point at the edge outside the box. */
const SLACK = 1e-7;

/**
 * A box of latitudes and longitudes holding every point within `meters` of (latitude,
 * longitude); it holds more (its corners), so the exact distance is checked afterwards.
 */
export function boundingBox(latitude: number, longitude: number, meters: number): BoundingBox {
  const angle = meters / EARTH_RADIUS_M;
  const everywhere: BoundingBox = { minLatitude: -90, maxLatitude: 90, longitudes: [[-180, 180]] };
  if (!(angle < Math.PI)) return everywhere;
  const degrees = angle / RADIANS_PER_DEGREE;
  const minLatitude = latitude - degrees - SLACK;
  const maxLatitude = latitude + degrees + SLACK;
  // A circle around a pole holds every longitude.
  if (minLatitude <= -90 || maxLatitude >= 90)
    return { minLatitude: Math.max(-90, minLatitude), maxLatitude: Math.min(90, maxLatitude), longitudes: [[-180, 180]] };
  // The widest longitude span of the circle (at the latitude where its edge is tangent to a meridian).
  const ratio = Math.sin(angle) / Math.cos(latitude * RADIANS_PER_DEGREE);
  if (ratio >= 1) return { minLatitude, maxLatitude, longitudes: [[-180, 180]] };
  const span = Math.asin(ratio) / RADIANS_PER_DEGREE + SLACK;
  const west = longitude - span;
  const east = longitude + span;
  if (west < -180)
    return {
      minLatitude,
      maxLatitude,
      longitudes: [
        [west + 360, 180],
        [-180, east],
      ],
    };
  if (east > 180)
    return {
      minLatitude,
      maxLatitude,
      longitudes: [
        [west, 180],
        [-180, east - 360],
      ],
    };
  return { minLatitude, maxLatitude, longitudes: [[west, east]] };
}
