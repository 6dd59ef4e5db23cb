/**
 * Vaccines (CVX, https://www2.cdc.gov/vaccines/iis/iisstandards/vaccines.asp?rpt=cvx) and the
 * childhood schedule the generator follows (a simplified CDC schedule).
 */
import { cvx, type Code } from './systems.js';

export interface VaccineDef {
  readonly code: Code;
  readonly route: 'IM' | 'SC' | 'PO';
  readonly doseMl: number;
}

const im = (code: Code, doseMl = 0.5): VaccineDef => ({ code, route: 'IM', doseMl });

export const VACCINES = {
  hepBPediatric: im(cvx('08', 'Hep B, adolescent or pediatric')),
  rotavirus: { code: cvx('119', 'rotavirus, monovalent'), route: 'PO', doseMl: 1 },
  dtap: im(cvx('20', 'DTaP')),
  hib: im(cvx('49', 'Hib (PRP-OMP)')),
  pcv13: im(cvx('133', 'Pneumococcal conjugate PCV 13')),
  ipv: im(cvx('10', 'IPV')),
  mmr: { code: cvx('03', 'MMR'), route: 'SC', doseMl: 0.5 },
  varicella: { code: cvx('21', 'varicella'), route: 'SC', doseMl: 0.5 },
  hepA: im(cvx('83', 'Hep A, ped/adol, 2 dose')),
  tdap: im(cvx('115', 'Tdap')),
  hpv: im(cvx('165', 'HPV9')),
  meningococcal: im(cvx('114', 'meningococcal MCV4P')),
  influenza: im(cvx('140', 'Influenza, seasonal, injectable, preservative free')),
  influenzaMultiDose: im(cvx('141', 'Influenza, seasonal, injectable')),
  influenzaHighDose: im(cvx('197', 'Influenza, high-dose, quadrivalent, PF'), 0.7),
  td: im(cvx('113', 'Td (adult) preservative free')),
  pneumococcal23: im(cvx('33', 'pneumococcal polysaccharide vaccine, 23 valent')),
  zoster: im(cvx('187', 'zoster vaccine recombinant')),
  covidPfizer: im(cvx('208', 'SARS-COV-2 (COVID-19) vaccine, mRNA, spike protein, LNP, preservative free, 30 mcg/0.3mL dose'), 0.3),
  covidModerna: im(cvx('207', 'SARS-COV-2 (COVID-19) vaccine, mRNA, spike protein, LNP, preservative free, 100 mcg/0.5mL dose')),
} as const satisfies Record<string, VaccineDef>;

export type VaccineKey = keyof typeof VACCINES;

/** One dose of the childhood series, given at the well-child visit at `ageMonths`. */
export interface ScheduledDose {
  readonly vaccine: VaccineKey;
  readonly ageMonths: number;
  readonly doseNumber: number;
}

const series = (vaccine: VaccineKey, ...ages: number[]): ScheduledDose[] => ages.map((ageMonths, i) => ({ vaccine, ageMonths, doseNumber: i + 1 }));

export const CHILDHOOD_SCHEDULE: readonly ScheduledDose[] = [
  ...series('hepBPediatric', 0, 1, 6),
  ...series('rotavirus', 2, 4),
  ...series('dtap', 2, 4, 6, 15, 48),
  ...series('hib', 2, 4, 12),
  ...series('pcv13', 2, 4, 6, 12),
  ...series('ipv', 2, 4, 6, 48),
  ...series('mmr', 12, 48),
  ...series('varicella', 12, 48),
  ...series('hepA', 12, 18),
  ...series('tdap', 132),
  ...series('hpv', 132, 144),
  ...series('meningococcal', 132, 192),
];

/** Ages (months) of the well-child visits; yearly from 4 years. Newborn visit is day 3-5. */
export const WELL_CHILD_AGES_MONTHS: readonly number[] = [0, 1, 2, 4, 6, 9, 12, 15, 18, 24, 30, 36, ...Array.from({ length: 14 }, (_, i) => 48 + i * 12)];
