/**
 * The shared resources: Organization, Locations, Practitioners, PractitionerRoles and the Groups
 * used for bulk export. Group membership comes from patient profiles, which are cheap to draw, so
 * this never generates a full patient record.
 */
import type { Group, Resource } from 'fhir/r4';
import { buildGroup, buildLocation, buildOrganization, buildPractitioner, buildPractitionerRole, type GroupDef } from './builders/shared.js';
import { concept, quantity } from './builders/common.js';
import { LOCATIONS, STAFF, type StaffKey } from './people/staff.js';
import { drawProfile, type PatientProfile } from './profile.js';
import type { ResolvedOptions } from './options.js';
import { CHRONIC_CONDITIONS, type ChronicConditionKey } from './terminology/conditions.js';
import { buildCommunitySites } from './sites.js';
import { ageAt } from './time.js';

const hasCondition =
  (key: ChronicConditionKey) =>
  (p: PatientProfile): boolean =>
    p.chronic.some((c) => c.key === key);

const conditionCharacteristic = (key: ChronicConditionKey): Group['characteristic'] => [
  { code: { text: 'Condition on the problem list' }, valueCodeableConcept: concept(CHRONIC_CONDITIONS[key].code), exclude: false },
];

/** The Groups, with who belongs to each. Ids are part of the team contract. */
const GROUPS: readonly (readonly [GroupDef, (p: PatientProfile) => boolean])[] = [
  [{ id: 'all-patients', name: 'All patients' }, () => true],
  [{ id: 'diabetes-cohort', name: 'Patients with type 2 diabetes', characteristic: conditionCharacteristic('diabetes') }, hasCondition('diabetes')],
  [{ id: 'hypertension-cohort', name: 'Patients with hypertension', characteristic: conditionCharacteristic('hypertension') }, hasCondition('hypertension')],
  [
    {
      id: 'pediatric-cohort',
      name: 'Patients under 18',
      characteristic: [{ code: { text: 'Age' }, valueQuantity: { ...quantity(18, 'a', 'years'), comparator: '<' }, exclude: false }],
    },
    (p) => ageAt(p.birthDate, p.today) < 18,
  ],
];

/** Organization, Locations (the hospital's, then the community sites), Practitioners, PractitionerRoles, then the Groups. */
export function buildSharedResources(options: ResolvedOptions): Resource[] {
  const members = GROUPS.map(() => [] as string[]);
  for (let index = 1; index <= options.patients; index++) {
    const profile = drawProfile(options, index);
    GROUPS.forEach(([, isMember], g) => {
      if (isMember(profile)) members[g]?.push(profile.id);
    });
  }
  const staff = Object.keys(STAFF) as StaffKey[];
  return [
    buildOrganization(),
    ...Object.values(LOCATIONS).map(buildLocation),
    ...buildCommunitySites(options),
    ...staff.map((key) => buildPractitioner(STAFF[key])),
    ...staff.map(buildPractitionerRole),
    ...GROUPS.map(([def], g) => buildGroup(def, members[g] ?? [])),
  ];
}
