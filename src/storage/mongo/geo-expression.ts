/**
 * `near` on MongoDB as aggregation expressions: the great-circle distance written with the same
 * operations in the same order as storage/geo.ts, so MongoDB (and CongoDB, which evaluates it in
 * JavaScript) computes the number the embedded store and the reference evaluator compute.
 *
 * The 2dsphere index is not used: CongoDB has no geo operators ($geoWithin, $nearSphere and
 * $geoNear are "unknown operators" there, measured), and `$geoNear` must be the first stage of
 * a pipeline and cannot be combined with our keyset paging. The bounding box (index-schema.ts
 * lookup `position_latitude`) narrows the candidates on both servers instead.
 */
import type { Document } from 'mongodb';
import { EARTH_RADIUS_M, RADIANS_PER_DEGREE } from '../geo.js';
import type { Condition } from '../search-index.js';

type Expression = string | number | Document;

/** Great-circle metres from (lat1, lon1) to (lat2, lon2): storage/geo.ts greatCircleMeters. */
export function distanceExpression(lat1: Expression, lon1: Expression, lat2: Expression, lon2: Expression): Document {
  const half = (a: Expression, b: Expression) => ({ $sin: { $divide: [{ $multiply: [{ $subtract: [b, a] }, RADIANS_PER_DEGREE] }, 2] } });
  return {
    $let: {
      vars: { sinLat: half(lat1, lat2), sinLon: half(lon1, lon2) },
      in: {
        $multiply: [
          2,
          EARTH_RADIUS_M,
          {
            $asin: {
              $sqrt: {
                $min: [
                  1,
                  {
                    $add: [
                      { $multiply: ['$$sinLat', '$$sinLat'] },
                      {
                        $multiply: [
                          { $cos: { $multiply: [lat1, RADIANS_PER_DEGREE] } },
                          { $cos: { $multiply: [lat2, RADIANS_PER_DEGREE] } },
                          '$$sinLon',
                          '$$sinLon',
                        ],
                      },
                    ],
                  },
                ],
              },
            },
          },
        ],
      },
    },
  };
}

/** The distances of the document's position rows of `param` from a point, as an array. */
export function distancesExpression(param: string, latitude: number, longitude: number): Document {
  return {
    $map: {
      input: { $filter: { input: { $ifNull: ['$ix_position', []] }, as: 'row', cond: { $eq: ['$$row.p', { $literal: param }] } } },
      as: 'position',
      in: distanceExpression('$$position.latitude', '$$position.longitude', latitude, longitude),
    },
  };
}

/** True when some position row of the condition's parameter is within its distance. */
export function withinExpression(condition: Extract<Condition, { op: 'near' }>): Document {
  return {
    $anyElementTrue: [
      {
        $map: {
          input: distancesExpression(condition.param, condition.latitude, condition.longitude),
          as: 'meters',
          in: { $lte: ['$$meters', condition.distance] },
        },
      },
    ],
  };
}
