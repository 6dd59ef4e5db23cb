/** Allergies and reactions (SNOMED CT), https://hl7.org/fhir/R4/allergyintolerance.html */
import { snomed, type Code } from './systems.js';

export type ReactionKey = keyof typeof REACTIONS;

export const REACTIONS = {
  anaphylaxis: { code: snomed('39579001', 'Anaphylaxis'), text: 'Anaphylaxis', severity: 'severe' },
  hives: { code: snomed('247472004', 'Wheal'), text: 'Hives', severity: 'moderate' },
  rash: { code: snomed('271807003', 'Eruption of skin'), text: 'Skin rash', severity: 'mild' },
  itching: { code: snomed('418290006', 'Itching'), text: 'Itching', severity: 'mild' },
  nausea: { code: snomed('422587007', 'Nausea'), text: 'Nausea', severity: 'mild' },
  dyspnea: { code: snomed('267036007', 'Dyspnea'), text: 'Shortness of breath', severity: 'moderate' },
  sneezing: { code: snomed('76067001', 'Sneezing'), text: 'Sneezing', severity: 'mild' },
} as const satisfies Record<string, { code: Code; text: string; severity: 'mild' | 'moderate' | 'severe' }>;

export interface AllergyDef {
  readonly code: Code;
  readonly text: string;
  readonly category: 'food' | 'medication' | 'environment';
  /** Typical reactions, most severe first; the first one sets the criticality. */
  readonly reactions: readonly ReactionKey[];
  /** Relative frequency among children and among adults. */
  readonly weightChild: number;
  readonly weightAdult: number;
}

export const ALLERGIES = {
  penicillin: {
    code: snomed('91936005', 'Allergy to penicillin'),
    text: 'Penicillin allergy',
    category: 'medication',
    reactions: ['hives', 'rash'],
    weightChild: 3,
    weightAdult: 10,
  },
  peanut: {
    code: snomed('91935009', 'Allergy to peanuts'),
    text: 'Peanut allergy',
    category: 'food',
    reactions: ['anaphylaxis', 'hives'],
    weightChild: 8,
    weightAdult: 3,
  },
  shellfish: {
    code: snomed('300913006', 'Shellfish allergy'),
    text: 'Shellfish allergy',
    category: 'food',
    reactions: ['hives', 'nausea'],
    weightChild: 2,
    weightAdult: 5,
  },
  eggs: {
    code: snomed('91930004', 'Allergy to eggs'),
    text: 'Egg allergy',
    category: 'food',
    reactions: ['hives', 'nausea'],
    weightChild: 4,
    weightAdult: 1,
  },
  fish: {
    code: snomed('417532002', 'Allergy to fish'),
    text: 'Fish allergy',
    category: 'food',
    reactions: ['hives', 'itching'],
    weightChild: 1,
    weightAdult: 2,
  },
  latex: {
    code: snomed('300916003', 'Latex allergy'),
    text: 'Latex allergy',
    category: 'environment',
    reactions: ['rash', 'itching'],
    weightChild: 1,
    weightAdult: 2,
  },
  beeVenom: {
    code: snomed('424213003', 'Allergy to bee venom'),
    text: 'Bee sting allergy',
    category: 'environment',
    reactions: ['anaphylaxis', 'hives'],
    weightChild: 1,
    weightAdult: 2,
  },
  grassPollen: {
    code: snomed('418689008', 'Allergy to grass pollen'),
    text: 'Grass pollen allergy',
    category: 'environment',
    reactions: ['sneezing', 'itching'],
    weightChild: 4,
    weightAdult: 6,
  },
  dander: {
    code: snomed('232347008', 'Dander (animal) allergy'),
    text: 'Cat and dog dander allergy',
    category: 'environment',
    reactions: ['sneezing', 'dyspnea'],
    weightChild: 3,
    weightAdult: 4,
  },
} as const satisfies Record<string, AllergyDef>;

export type AllergyKey = keyof typeof ALLERGIES;

/** Recorded when the patient was asked and has no allergies (as in HL7's "nka" example). */
export const NO_KNOWN_ALLERGY = snomed('716186003', 'No known allergy');
