/** Encounter (US Core Encounter: class, type, participant, period, location, serviceProvider). */
import type { Encounter, Reference } from 'fhir/r4';
import { LOCATIONS } from '../people/staff.js';
import type { PlannedVisit } from '../timeline.js';
import { ENCOUNTER_CLASS, ENCOUNTER_TYPES } from '../terminology/encounters.js';
import { SYSTEM } from '../terminology/systems.js';
import { formatDateTime } from '../time.js';
import { US_CORE, claims } from '../us-core.js';
import { coding, concept, organizationReference, reference, staffReference } from './common.js';

const PRIMARY_PERFORMER = concept({ system: SYSTEM.participationType, code: 'PPRF', display: 'primary performer' });

/** A finished encounter; `reasons` are the Conditions it was for (none for check-ups). */
export function buildEncounter(id: string, patient: Reference, visit: PlannedVisit, reasons: Reference[]): Encounter {
  const period = { start: formatDateTime(visit.start), end: formatDateTime(visit.end) };
  const location = LOCATIONS[visit.location];
  return {
    resourceType: 'Encounter',
    id,
    meta: claims(US_CORE.encounter),
    status: 'finished',
    class: coding(ENCOUNTER_CLASS[visit.encounterClass]),
    type: [concept(ENCOUNTER_TYPES[visit.type])],
    subject: patient,
    participant: [{ type: [PRIMARY_PERFORMER], period, individual: staffReference(visit.practitioner) }],
    period,
    ...(reasons.length > 0 ? { reasonReference: reasons } : {}),
    ...(visit.encounterClass === 'inpatient'
      ? {
          hospitalization: {
            admitSource: concept(
              visit.type === 'emergencyAdmission'
                ? { system: SYSTEM.admitSource, code: 'emd', display: 'From accident/emergency department' }
                : { system: SYSTEM.admitSource, code: 'gp', display: 'General Practitioner referral' },
            ),
            dischargeDisposition: concept({ system: SYSTEM.dischargeDisposition, code: 'home', display: 'Home' }),
          },
        }
      : {}),
    location: [{ location: reference('Location', location.id, location.name), status: 'completed', period }],
    serviceProvider: organizationReference(),
  };
}
