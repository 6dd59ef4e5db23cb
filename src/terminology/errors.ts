/**
 * Terminology answers Bedside cannot give, in FHIR's vocabulary: a value set that draws on a code
 * system Bedside does not hold (LOINC, SNOMED CT, RxNorm ...) is refused with a message naming
 * that system, never answered with a guess.
 */
import { FhirError } from '../r4/errors.js';

/** Names of code systems people meet, for messages. https://hl7.org/fhir/R4/terminologies-systems.html */
const KNOWN_SYSTEMS: Record<string, string> = {
  'http://loinc.org': 'LOINC',
  'http://snomed.info/sct': 'SNOMED CT',
  'http://www.nlm.nih.gov/research/umls/rxnorm': 'RxNorm',
  'http://hl7.org/fhir/sid/cvx': 'CVX',
  'http://hl7.org/fhir/sid/ndc': 'NDC',
  'http://hl7.org/fhir/sid/icd-10-cm': 'ICD-10-CM',
  'http://hl7.org/fhir/sid/icd-10': 'ICD-10',
  'http://www.ama-assn.org/go/cpt': 'CPT',
  'http://unitsofmeasure.org': 'UCUM',
  'urn:ietf:bcp:47': 'BCP-47 language tags',
  'urn:ietf:bcp:13': 'MIME types',
  'urn:iso:std:iso:3166': 'ISO 3166 country codes',
  'urn:oid:2.16.840.1.113883.6.238': 'CDC Race & Ethnicity',
  'http://nucc.org/provider-taxonomy': 'NUCC provider taxonomy',
  'https://nahdo.org/sopt': 'Source of Payment Typology',
};

/** `http://loinc.org (LOINC)` */
export function describeSystem(system: string): string {
  const name = KNOWN_SYSTEMS[system];
  return name ? `${system} (${name})` : system;
}

/** A code system or value set Bedside would need and does not hold. */
export class MissingTerminology extends FhirError {
  constructor(
    message: string,
    readonly missingSystem: string | undefined,
    readonly missingValueSet: string | undefined,
    status: 404 | 422 = 422,
  ) {
    super(status, status === 404 ? 'not-found' : 'not-supported', message);
    this.name = 'MissingTerminology';
  }
}

export function missingSystem(system: string, what: string): MissingTerminology {
  return new MissingTerminology(
    `${what} needs the code system ${describeSystem(system)}, which Bedside does not hold (load a FHIR package that defines it completely)`,
    system,
    undefined,
  );
}

export function missingValueSet(url: string): MissingTerminology {
  return new MissingTerminology(`The value set ${url} is not known to Bedside (neither in R4 core nor in a loaded package)`, undefined, url, 404);
}
