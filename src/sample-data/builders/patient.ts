/** Patient, shaped like US Core Patient (race, ethnicity, birth sex, MRN). */
import type { Extension, HumanName, Patient, PatientContact } from 'fhir/r4';
import type { MaritalKey } from '../people/cast.js';
import { LANGUAGES } from '../people/names.js';
import type { PatientProfile } from '../profile.js';
import { SYSTEM, type Code } from '../terminology/systems.js';
import { formatDate } from '../time.js';
import { US_CORE, claims } from '../us-core.js';
import { coding, concept, organizationReference, staffReference } from './common.js';

const MARITAL: Record<MaritalKey, Code> = {
  married: { system: SYSTEM.maritalStatus, code: 'M', display: 'Married' },
  single: { system: SYSTEM.maritalStatus, code: 'S', display: 'Never Married' },
  divorced: { system: SYSTEM.maritalStatus, code: 'D', display: 'Divorced' },
  widowed: { system: SYSTEM.maritalStatus, code: 'W', display: 'Widowed' },
};

const MRN_TYPE: Code = { system: SYSTEM.identifierType, code: 'MR', display: 'Medical Record Number' };

/** US Core race/ethnicity extensions: an OMB category plus text. */
function ombExtension(url: string, category: Code): Extension {
  return {
    url,
    extension: [
      { url: 'ombCategory', valueCoding: coding(category) },
      { url: 'text', valueString: category.display },
    ],
  };
}

function names(profile: PatientProfile): HumanName[] {
  const adult = profile.parent === undefined;
  const official: HumanName = {
    use: 'official',
    text: `${profile.given.join(' ')} ${profile.family}`,
    family: profile.family,
    given: [...profile.given],
    ...(adult ? { prefix: [profile.gender === 'female' ? 'Ms.' : 'Mr.'] } : {}),
  };
  if (!profile.maidenName) return [official];
  return [official, { use: 'maiden', family: profile.maidenName, given: [...profile.given] }];
}

function guardian(profile: PatientProfile): PatientContact[] | undefined {
  const parent = profile.parent;
  if (!parent) return undefined;
  const role: Code =
    parent.relationship === 'mother'
      ? { system: SYSTEM.roleCode, code: 'MTH', display: 'mother' }
      : { system: SYSTEM.roleCode, code: 'FTH', display: 'father' };
  return [
    {
      relationship: [concept({ system: SYSTEM.contactRole, code: 'N', display: 'Next-of-Kin' }), concept(role)],
      name: { use: 'official', family: parent.family, given: [parent.given] },
      telecom: [{ system: 'phone', value: parent.phone, use: 'mobile' }],
    },
  ];
}

/** The Patient resource for a profile. */
export function buildPatient(profile: PatientProfile): Patient {
  const contact = guardian(profile);
  const ownLanguage = profile.language.code !== LANGUAGES.english.code;
  return {
    resourceType: 'Patient',
    id: profile.id,
    meta: claims(US_CORE.patient),
    extension: [
      ombExtension(SYSTEM.usCoreRace, profile.race),
      ombExtension(SYSTEM.usCoreEthnicity, profile.ethnicity),
      { url: SYSTEM.usCoreBirthSex, valueCode: profile.gender === 'female' ? 'F' : 'M' },
    ],
    identifier: [
      {
        use: 'usual',
        type: concept(MRN_TYPE, 'Medical Record Number'),
        system: SYSTEM.mrn,
        value: profile.mrn,
        assigner: organizationReference(),
      },
    ],
    active: true,
    name: names(profile),
    telecom: [
      { system: 'phone', value: profile.phone, use: contact ? 'home' : 'mobile' },
      ...(profile.email ? [{ system: 'email' as const, value: profile.email, use: 'home' as const }] : []),
    ],
    gender: profile.gender,
    birthDate: formatDate(profile.birthDate),
    address: [
      {
        use: 'home',
        type: 'both',
        line: [...profile.address.line],
        city: profile.address.city,
        state: 'MA',
        postalCode: profile.address.postalCode,
        country: 'US',
      },
    ],
    ...(profile.marital ? { maritalStatus: concept(MARITAL[profile.marital]) } : {}),
    multipleBirthBoolean: false,
    ...(contact ? { contact } : {}),
    communication: [
      { language: concept(profile.language), preferred: true },
      ...(ownLanguage ? [{ language: concept(LANGUAGES.english), preferred: false }] : []),
    ],
    generalPractitioner: [staffReference(profile.gp)],
    managingOrganization: organizationReference(),
  };
}
