/** The resources every patient record points at: the hospital, its locations and clinicians, and Groups. */
import type { Group, Location, Organization, Practitioner, PractitionerRole, Reference } from 'fhir/r4';
import { asciiSlug } from '../people/names.js';
import { LOCATIONS, ORGANIZATION, STAFF, type LocationDef, type StaffDef, type StaffKey } from '../people/staff.js';
import { SYSTEM } from '../terminology/systems.js';
import { US_CORE, claims } from '../us-core.js';
import { concept, organizationReference, reference } from './common.js';

const address = () => ({ use: 'work' as const, ...ORGANIZATION.address, line: [...ORGANIZATION.address.line] });

/** Organization/bedside-general. */
export function buildOrganization(): Organization {
  return {
    resourceType: 'Organization',
    id: ORGANIZATION.id,
    meta: claims(US_CORE.organization),
    identifier: [{ system: SYSTEM.npi, value: ORGANIZATION.npi }],
    active: true,
    type: [concept({ system: SYSTEM.organizationType, code: 'prov', display: 'Healthcare Provider' })],
    name: ORGANIZATION.name,
    alias: ['BGH'],
    telecom: [
      { system: 'phone', value: ORGANIZATION.phone, use: 'work' },
      { system: 'email', value: ORGANIZATION.email, use: 'work' },
    ],
    address: [address()],
  };
}

/** One of the hospital's locations. */
export function buildLocation(def: LocationDef): Location {
  return {
    resourceType: 'Location',
    id: def.id,
    meta: claims(US_CORE.location),
    status: 'active',
    name: def.name,
    description: def.description,
    mode: 'instance',
    type: [concept(def.type)],
    telecom: [{ system: 'phone', value: def.phone, use: 'work' }],
    address: address(),
    physicalType: concept(def.physicalType),
    position: { ...def.position },
    managingOrganization: organizationReference(),
  };
}

/** A clinician with NPI, degree and work contacts. */
export function buildPractitioner(def: StaffDef): Practitioner {
  const doctor = def.degree.code !== 'RN';
  return {
    resourceType: 'Practitioner',
    id: def.id,
    meta: claims(US_CORE.practitioner),
    identifier: [{ system: SYSTEM.npi, value: def.npi }],
    active: true,
    name: [
      {
        use: 'official',
        text: doctor ? `Dr. ${def.given} ${def.family}` : `${def.given} ${def.family}, ${def.degree.code}`,
        family: def.family,
        given: [def.given],
        ...(doctor ? { prefix: ['Dr.'] } : {}),
        suffix: [def.degree.code],
      },
    ],
    telecom: [
      { system: 'email', value: `${asciiSlug(def.given)}.${asciiSlug(def.family)}@bedside-general.example.org`, use: 'work' },
      { system: 'phone', value: LOCATIONS[def.location].phone, use: 'work' },
    ],
    address: [address()],
    gender: def.gender,
    birthDate: def.birthDate,
    qualification: [{ code: concept(def.degree), issuer: { display: 'Massachusetts Board of Registration in Medicine' } }],
  };
}

/** What a clinician does where: role, NUCC specialty and location at Bedside General. */
export function buildPractitionerRole(key: StaffKey): PractitionerRole {
  const def: StaffDef = STAFF[key];
  const location = LOCATIONS[def.location];
  return {
    resourceType: 'PractitionerRole',
    id: `${def.id}-role`,
    meta: claims(US_CORE.practitionerRole),
    active: true,
    practitioner: reference('Practitioner', def.id),
    organization: organizationReference(),
    code: [concept(def.role)],
    specialty: [concept(def.specialty)],
    location: [reference('Location', location.id, location.name)],
    telecom: [{ system: 'phone', value: location.phone, use: 'work' }],
  };
}

export interface GroupDef {
  readonly id: string;
  readonly name: string;
  /** What members have in common, for the characteristic. */
  readonly characteristic?: Group['characteristic'];
}

/** A Group of actual patients, for bulk export (`GET /Group/[id]/$export`). */
export function buildGroup(def: GroupDef, members: readonly string[]): Group {
  const refs: Reference[] = members.map((id) => reference('Patient', id));
  return {
    resourceType: 'Group',
    id: def.id,
    active: true,
    type: 'person',
    actual: true,
    name: def.name,
    quantity: refs.length,
    managingEntity: organizationReference(),
    ...(def.characteristic ? { characteristic: def.characteristic } : {}),
    ...(refs.length > 0 ? { member: refs.map((entity) => ({ entity })) } : {}),
  };
}
