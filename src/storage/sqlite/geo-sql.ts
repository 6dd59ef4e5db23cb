/**
 * `near` on the embedded store: the great-circle distance as an SQL function (the same
 * JavaScript function as everywhere else, storage/geo.ts), registered on each connection.
 */
import type { Condition } from '../search-index.js';
import { boundingBox, greatCircleMeters, type BoundingBox } from '../geo.js';
import type { Connection } from './database.js';

/** `bedside_distance(lat1, lon1, lat2, lon2)`: metres along the earth's surface; NULL if any is NULL. */
export const DISTANCE_FUNCTION = 'bedside_distance';

/** Makes {@link DISTANCE_FUNCTION} available to the connection's queries. */
export function registerGeoFunctions(db: Connection): void {
  db.function(DISTANCE_FUNCTION, { deterministic: true }, (lat1: unknown, lon1: unknown, lat2: unknown, lon2: unknown) =>
    typeof lat1 === 'number' && typeof lon1 === 'number' && typeof lat2 === 'number' && typeof lon2 === 'number'
      ? greatCircleMeters(lat1, lon1, lat2, lon2)
      : null,
  );
}

/** The box of latitudes and longitudes the index is searched in for a `near` condition. */
export function geoBox(condition: Extract<Condition, { op: 'near' }>): BoundingBox {
  return boundingBox(condition.latitude, condition.longitude, condition.distance);
}
