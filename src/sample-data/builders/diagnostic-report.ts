/** DiagnosticReport (US Core Laboratory): a lab panel grouping its result Observations. */
import type { DiagnosticReport, Reference } from 'fhir/r4';
import type { LabPanelDef } from '../terminology/observations.js';
import { SYSTEM } from '../terminology/systems.js';
import { US_CORE, claims } from '../us-core.js';
import { concept } from './common.js';

const LABORATORY = { system: SYSTEM.diagnosticService, code: 'LAB', display: 'Laboratory' };

export interface ReportContext {
  readonly patient: Reference;
  readonly encounter: Reference;
  readonly performer: Reference;
  /** FHIR dateTime and instant, formatted by the caller. */
  readonly effective: string;
  readonly issued: string;
}

/** The report for one lab panel; `results` are its member Observations. */
export function buildLabReport(id: string, panel: LabPanelDef, results: Reference[], ctx: ReportContext): DiagnosticReport {
  return {
    resourceType: 'DiagnosticReport',
    id,
    meta: claims(US_CORE.labReport),
    status: 'final',
    category: [concept(LABORATORY)],
    code: concept(panel.code, panel.text),
    subject: ctx.patient,
    encounter: ctx.encounter,
    effectiveDateTime: ctx.effective,
    issued: ctx.issued,
    performer: [ctx.performer],
    result: results,
  };
}
