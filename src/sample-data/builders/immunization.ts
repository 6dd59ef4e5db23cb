/**
 * Immunization (US Core): CVX-coded, given at one of our visits (primary source) or reported from
 * the patient's vaccination card (not primary source, with its origin).
 */
import type { Immunization, Reference } from 'fhir/r4';
import type { Rng } from '../random.js';
import { VACCINES, type VaccineDef, type VaccineKey } from '../terminology/vaccines.js';
import { SYSTEM, type Code } from '../terminology/systems.js';
import { DAY_MS, formatDate, formatDateTime } from '../time.js';
import { US_CORE, claims } from '../us-core.js';
import { concept, quantity } from './common.js';

const ROUTE: Record<VaccineDef['route'], Code> = {
  IM: { system: SYSTEM.route, code: 'IM', display: 'Injection, intramuscular' },
  SC: { system: SYSTEM.route, code: 'SC', display: 'Injection, subcutaneous' },
  PO: { system: SYSTEM.route, code: 'PO', display: 'Swallow, oral' },
};
const SITES: Record<'arm' | 'thigh', readonly Code[]> = {
  arm: [
    { system: SYSTEM.actSite, code: 'LA', display: 'left arm' },
    { system: SYSTEM.actSite, code: 'RA', display: 'right arm' },
  ],
  thigh: [
    { system: SYSTEM.actSite, code: 'LT', display: 'left thigh' },
    { system: SYSTEM.actSite, code: 'RT', display: 'right thigh' },
  ],
};
const ADMINISTERING = { system: SYSTEM.immunizationFunction, code: 'AP', display: 'Administering Provider' };
const WRITTEN_RECORD = { system: SYSTEM.immunizationOrigin, code: 'record', display: 'Written Record' };

export interface GivenHere {
  readonly encounter: Reference;
  readonly performer: Reference;
  readonly location: Reference;
  /** Infants are vaccinated in the thigh, everyone else in the arm. */
  readonly infant: boolean;
}

/** A vaccination given at one of our visits (`givenHere`) or reported from elsewhere. */
export function buildImmunization(
  id: string,
  vaccineKey: VaccineKey,
  doseNumber: number | undefined,
  patient: Reference,
  occurred: number,
  rng: Rng,
  givenHere: GivenHere | undefined,
): Immunization {
  const vaccine: VaccineDef = VACCINES[vaccineKey];
  const lot = `${vaccineKey.slice(0, 2).toUpperCase()}${rng.int(1000, 9999)}${String.fromCharCode(65 + rng.int(0, 25))}`;
  const common = {
    resourceType: 'Immunization' as const,
    id,
    meta: claims(US_CORE.immunization),
    status: 'completed' as const,
    vaccineCode: concept(vaccine.code),
    patient,
  };
  if (!givenHere) {
    return {
      ...common,
      occurrenceDateTime: formatDate(occurred),
      primarySource: false,
      reportOrigin: concept(WRITTEN_RECORD),
      ...(doseNumber ? { protocolApplied: [{ doseNumberPositiveInt: doseNumber }] } : {}),
    };
  }
  return {
    ...common,
    encounter: givenHere.encounter,
    occurrenceDateTime: formatDateTime(occurred),
    recorded: formatDateTime(occurred),
    primarySource: true,
    location: givenHere.location,
    lotNumber: lot,
    expirationDate: formatDate(occurred + rng.int(120, 540) * DAY_MS),
    ...(vaccine.route === 'PO' ? {} : { site: concept(rng.pick(SITES[givenHere.infant ? 'thigh' : 'arm'])) }),
    route: concept(ROUTE[vaccine.route]),
    doseQuantity: quantity(vaccine.doseMl, 'mL'),
    performer: [{ function: concept(ADMINISTERING), actor: givenHere.performer }],
    ...(doseNumber ? { protocolApplied: [{ doseNumberPositiveInt: doseNumber }] } : {}),
  };
}
