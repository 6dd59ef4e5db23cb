/**
 * Bedside General Hospital: the one organization, its locations and its clinicians. Ids here are
 * part of the team contract (Practitioner/practitioner-001 is the sample practitioner user;
 * Organization/bedside-general owns every record), so never renumber them; append instead.
 */
import { SYSTEM, type Code } from '../terminology/systems.js';

export const ORGANIZATION = {
  id: 'bedside-general',
  name: 'Bedside General Hospital',
  npi: npiWithCheckDigit('146756000'),
  phone: '(617) 555-0100',
  email: 'info@bedside-general.example.org',
  address: { line: ['1 Bedside Way'], city: 'Boston', state: 'MA', postalCode: '02114', country: 'US' },
} as const;

export interface LocationDef {
  readonly id: string;
  readonly name: string;
  readonly description: string;
  readonly type: Code;
  readonly physicalType: Code;
  readonly phone: string;
  /** Where the wing is on the campus (WGS84 degrees), for `near`. */
  readonly position: { readonly latitude: number; readonly longitude: number };
}

const roleCode = (code: string, display: string): Code => ({ system: SYSTEM.roleCode, code, display });
const physical = (code: string, display: string): Code => ({ system: SYSTEM.locationPhysicalType, code, display });

export const LOCATIONS = {
  clinic: {
    id: 'bedside-general-clinic',
    name: 'Bedside General Outpatient Clinic',
    description: 'Primary care and specialty clinics, 2nd floor',
    type: roleCode('OF', 'Outpatient facility'),
    physicalType: physical('wi', 'Wing'),
    phone: '(617) 555-0110',
    position: { latitude: 42.3627, longitude: -71.0688 },
  },
  pediatrics: {
    id: 'bedside-general-pediatrics',
    name: 'Bedside General Pediatrics Clinic',
    description: 'Well-child visits and pediatric care, 1st floor',
    type: roleCode('PEDC', 'Pediatrics clinic'),
    physicalType: physical('wi', 'Wing'),
    phone: '(617) 555-0120',
    position: { latitude: 42.3629, longitude: -71.0693 },
  },
  emergency: {
    id: 'bedside-general-ed',
    name: 'Bedside General Emergency Department',
    description: 'Emergency department, open 24/7, ground floor',
    type: roleCode('ER', 'Emergency room'),
    physicalType: physical('wi', 'Wing'),
    phone: '(617) 555-0130',
    position: { latitude: 42.3624, longitude: -71.0696 },
  },
  ward: {
    id: 'bedside-general-ward',
    name: 'Bedside General Inpatient Ward 4B',
    description: 'Medical and surgical inpatient ward, 4th floor',
    type: roleCode('HOSP', 'Hospital'),
    physicalType: physical('wa', 'Ward'),
    phone: '(617) 555-0140',
    position: { latitude: 42.3626, longitude: -71.0691 },
  },
} as const satisfies Record<string, LocationDef>;

export type LocationKey = keyof typeof LOCATIONS;

export interface StaffDef {
  readonly id: string;
  readonly given: string;
  readonly family: string;
  readonly gender: 'female' | 'male';
  readonly birthDate: string;
  /** Degree (v2-0360). */
  readonly degree: Code;
  readonly role: Code;
  /** NUCC provider taxonomy. */
  readonly specialty: Code;
  readonly location: LocationKey;
  readonly npi: string;
}

const degree = (code: string, display: string): Code => ({ system: SYSTEM.degreeLicense, code, display });
const role = (code: string, display: string): Code => ({ system: SYSTEM.practitionerRole, code, display });
const nucc = (code: string, display: string): Code => ({ system: SYSTEM.nucc, code, display });
const MD = degree('MD', 'Doctor of Medicine');
const DOCTOR = role('doctor', 'Doctor');

/** Appends the NPI check digit (Luhn over the "80840" prefix plus the 9 base digits). */
export function npiWithCheckDigit(base9: string): string {
  const digits = `80840${base9}`;
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = Number(digits[digits.length - 1 - i]);
    // Double every second digit counting from the right of the payload (the check digit's neighbour first).
    if (i % 2 === 0) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return `${base9}${(10 - (sum % 10)) % 10}`;
}

/** The clinicians; the key says what the generator uses each one for. */
export const STAFF = {
  generalPractice: {
    id: 'practitioner-001',
    given: 'Alice',
    family: 'Carter',
    gender: 'female',
    birthDate: '1978-04-17',
    degree: MD,
    role: DOCTOR,
    specialty: nucc('208D00000X', 'General Practice'),
    location: 'clinic',
    npi: npiWithCheckDigit('123456701'),
  },
  pediatrics: {
    id: 'practitioner-002',
    given: 'Samuel',
    family: 'Okafor',
    gender: 'male',
    birthDate: '1975-09-02',
    degree: MD,
    role: DOCTOR,
    specialty: nucc('208000000X', 'Pediatrics'),
    location: 'pediatrics',
    npi: npiWithCheckDigit('123456702'),
  },
  emergency: {
    id: 'practitioner-003',
    given: 'María',
    family: 'Fernández',
    gender: 'female',
    birthDate: '1983-01-25',
    degree: MD,
    role: DOCTOR,
    specialty: nucc('207P00000X', 'Emergency Medicine'),
    location: 'emergency',
    npi: npiWithCheckDigit('123456703'),
  },
  cardiology: {
    id: 'practitioner-004',
    given: 'James',
    family: 'Whitaker',
    gender: 'male',
    birthDate: '1969-11-30',
    degree: MD,
    role: DOCTOR,
    specialty: nucc('207RC0000X', 'Cardiovascular Disease'),
    location: 'clinic',
    npi: npiWithCheckDigit('123456704'),
  },
  endocrinology: {
    id: 'practitioner-005',
    given: 'Hannah',
    family: 'Schmidt',
    gender: 'female',
    birthDate: '1980-06-08',
    degree: MD,
    role: DOCTOR,
    specialty: nucc('207RE0101X', 'Endocrinology, Diabetes & Metabolism'),
    location: 'clinic',
    npi: npiWithCheckDigit('123456705'),
  },
  hospitalist: {
    id: 'practitioner-006',
    given: 'Kenji',
    family: 'Tanaka',
    gender: 'male',
    birthDate: '1985-03-14',
    degree: MD,
    role: DOCTOR,
    specialty: nucc('207R00000X', 'Internal Medicine'),
    location: 'ward',
    npi: npiWithCheckDigit('123456706'),
  },
  nurse: {
    id: 'practitioner-007',
    given: 'Grace',
    family: 'Kim',
    gender: 'female',
    birthDate: '1990-12-19',
    degree: degree('RN', 'Registered Nurse'),
    role: role('nurse', 'Nurse'),
    specialty: nucc('163W00000X', 'Registered Nurse'),
    location: 'clinic',
    npi: npiWithCheckDigit('123456707'),
  },
  familyMedicine: {
    id: 'practitioner-008',
    given: 'Olivia',
    family: 'Brooks',
    gender: 'female',
    birthDate: '1982-08-22',
    degree: degree('DO', 'Doctor of Osteopathy'),
    role: DOCTOR,
    specialty: nucc('207Q00000X', 'Family Medicine'),
    location: 'clinic',
    npi: npiWithCheckDigit('123456708'),
  },
  orthopedics: {
    id: 'practitioner-009',
    given: 'Rafael',
    family: 'Oliveira',
    gender: 'male',
    birthDate: '1972-05-05',
    degree: MD,
    role: DOCTOR,
    specialty: nucc('207X00000X', 'Orthopaedic Surgery'),
    location: 'ward',
    npi: npiWithCheckDigit('123456709'),
  },
} as const satisfies Record<string, StaffDef>;

export type StaffKey = keyof typeof STAFF;

/** "Dr. Alice Carter" / "Grace Kim, RN": the display used on references. */
export function staffDisplay(key: StaffKey): string {
  const s: StaffDef = STAFF[key];
  return s.degree.code === 'RN' ? `${s.given} ${s.family}, RN` : `Dr. ${s.given} ${s.family}`;
}
