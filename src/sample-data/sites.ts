/**
 * Community health sites: Locations of Bedside General's outreach network around Boston, one per
 * ten patients (at least one), each with a position, so that `near` has something to find at
 * every data set size. Deterministic: site n is in town n of the list (cycling), a few hundred
 * metres from the town's centre, by the seed.
 */
import type { Location } from 'fhir/r4';
import { concept, organizationReference } from './builders/common.js';
import type { ResolvedOptions } from './options.js';
import { Rng } from './random.js';
import { SYSTEM } from './terminology/systems.js';
import { US_CORE, claims } from './us-core.js';

/** Massachusetts towns and the approximate position of their centre (WGS84 degrees). */
const TOWNS: ReadonlyArray<readonly [name: string, latitude: number, longitude: number]> = [
  ['Boston', 42.3601, -71.0589],
  ['Cambridge', 42.3736, -71.1097],
  ['Somerville', 42.3876, -71.0995],
  ['Quincy', 42.2529, -71.0023],
  ['Newton', 42.337, -71.2092],
  ['Brookline', 42.3318, -71.1212],
  ['Waltham', 42.3765, -71.2356],
  ['Medford', 42.4184, -71.1062],
  ['Malden', 42.4251, -71.0662],
  ['Revere', 42.4084, -71.012],
  ['Lynn', 42.4668, -70.9495],
  ['Salem', 42.5195, -70.8967],
  ['Lowell', 42.6334, -71.3162],
  ['Lawrence', 42.707, -71.1631],
  ['Framingham', 42.2793, -71.4162],
  ['Worcester', 42.2626, -71.8023],
  ['Brockton', 42.0834, -71.0184],
  ['Plymouth', 41.9584, -70.6673],
  ['Weymouth', 42.218, -70.941],
  ['Dedham', 42.2418, -71.1662],
  ['Needham', 42.2809, -71.2378],
  ['Wellesley', 42.2968, -71.2924],
  ['Lexington', 42.4473, -71.2245],
  ['Woburn', 42.4793, -71.1523],
  ['Burlington', 42.5048, -71.1956],
  ['Peabody', 42.5279, -70.9287],
  ['Beverly', 42.5584, -70.88],
  ['Gloucester', 42.6159, -70.662],
  ['Haverhill', 42.7762, -71.0773],
  ['Attleboro', 41.9445, -71.2856],
];

/** Patients per community site. */
const PATIENTS_PER_SITE = 10;

const round = (value: number) => Math.round(value * 1e6) / 1e6;

/** Location/community-site-0001 ... : name, town, position, part of the hospital's organization. */
export function buildCommunitySites(options: ResolvedOptions): Location[] {
  const count = Math.max(1, Math.ceil(options.patients / PATIENTS_PER_SITE));
  const width = Math.max(4, String(count).length);
  const rng = new Rng(`${options.seed}/community-sites`);
  return Array.from({ length: count }, (_, i) => {
    const [town, latitude, longitude] = TOWNS[i % TOWNS.length]!;
    const number = String(i + 1).padStart(width, '0');
    return {
      resourceType: 'Location',
      id: `community-site-${number}`,
      meta: claims(US_CORE.location),
      status: 'active',
      name: `Bedside Community Health ${town} ${number}`,
      description: `Community health site in ${town}: vaccinations, blood pressure checks and follow-up visits`,
      mode: 'instance',
      type: [concept({ system: SYSTEM.roleCode, code: 'COMM', display: 'Community Location' })],
      address: { use: 'work', city: town, state: 'MA', country: 'US' },
      physicalType: concept({ system: SYSTEM.locationPhysicalType, code: 'bu', display: 'Building' }),
      position: { latitude: round(latitude + rng.float(-0.01, 0.01)), longitude: round(longitude + rng.float(-0.01, 0.01)) },
      managingOrganization: organizationReference(),
    };
  });
}
