/** AllergyIntolerance (US Core): a coded allergy with reaction and criticality, or "no known allergy". */
import type { AllergyIntolerance, Reference } from 'fhir/r4';
import type { AllergyProblem } from '../profile.js';
import { ALLERGIES, NO_KNOWN_ALLERGY, REACTIONS, type AllergyDef } from '../terminology/allergies.js';
import { SYSTEM, type Code } from '../terminology/systems.js';
import { formatDate, formatDateTime } from '../time.js';
import { US_CORE, claims } from '../us-core.js';
import { concept } from './common.js';

const ACTIVE: Code = { system: SYSTEM.allergyClinical, code: 'active', display: 'Active' };
const CONFIRMED: Code = { system: SYSTEM.allergyVerification, code: 'confirmed', display: 'Confirmed' };

export interface AllergyContext {
  readonly patient: Reference;
  readonly recorder: Reference;
  readonly recorded: number;
}

/** A confirmed allergy with its typical reactions; the worst one sets the reaction severity. */
export function buildAllergy(id: string, allergy: AllergyProblem, ctx: AllergyContext): AllergyIntolerance {
  const def: AllergyDef = ALLERGIES[allergy.key];
  const manifestations = def.reactions.map((key) => REACTIONS[key]);
  const worst = manifestations[0];
  return {
    resourceType: 'AllergyIntolerance',
    id,
    meta: claims(US_CORE.allergy),
    clinicalStatus: concept(ACTIVE),
    verificationStatus: concept(CONFIRMED),
    type: 'allergy',
    category: [def.category],
    criticality: allergy.criticality,
    code: concept(def.code, def.text),
    patient: ctx.patient,
    onsetDateTime: formatDate(allergy.onset),
    recordedDate: formatDateTime(ctx.recorded),
    recorder: ctx.recorder,
    reaction: [
      {
        manifestation: manifestations.map((r) => concept(r.code, r.text)),
        ...(worst ? { severity: worst.severity } : {}),
      },
    ],
  };
}

/** "No known allergy": the patient was asked, which is not the same as nothing recorded. */
export function buildNoKnownAllergy(id: string, ctx: AllergyContext): AllergyIntolerance {
  return {
    resourceType: 'AllergyIntolerance',
    id,
    meta: claims(US_CORE.allergy),
    clinicalStatus: concept(ACTIVE),
    verificationStatus: concept(CONFIRMED),
    code: concept(NO_KNOWN_ALLERGY, 'No known allergies'),
    patient: ctx.patient,
    recordedDate: formatDateTime(ctx.recorded),
    recorder: ctx.recorder,
  };
}
