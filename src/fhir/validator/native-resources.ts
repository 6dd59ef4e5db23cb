/**
 * Native invariants of the resources most writes are made of (Observation, Condition,
 * AllergyIntolerance, Organization, Patient, CarePlan, Goal, Immunization), and of the two that
 * FHIRPath.js cannot evaluate as R4 means them (ctm-1, que-7). See native-invariants.ts.
 *
 * https://hl7.org/fhir/R4/observation.html#invs (and the invariants section of each resource)
 */
import { parseReferenceTail } from '../../r4/ids.js';
import {
  DEFER,
  equals,
  exists,
  existsChoice,
  hasCoding,
  isObject,
  items,
  present,
  type NativeCheck,
  type NativeEnv,
  type NativeInvariant,
} from './native-logic.js';

/** `where(use = 'home').empty()` on one ContactPoint or Address. */
const notHome: NativeCheck = (node) => (node.use === 'home' ? false : node.use === undefined || typeof node.use === 'string' ? true : DEFER);

/** Structurally equal Codings (FHIRPath `=` on complex types, for `intersect`). */
function sameCoding(a: unknown, b: unknown): boolean | undefined {
  if (!isObject(a) || !isObject(b)) return false;
  if (a.system !== b.system || a.code !== b.code) return false;
  return DEFER;
}

/**
 * The resource type a Reference points to, read from the reference itself: a contained resource
 * (`#id`) or the `Type/id` at the end of a relative or absolute literal reference. Anything else
 * cannot be resolved inside one resource, and `resolve()` is then empty.
 */
function referencedType(reference: unknown, env: NativeEnv): string | undefined {
  if (!isObject(reference) || typeof reference.reference !== 'string') return undefined;
  const ref = reference.reference;
  if (ref.startsWith('#')) {
    const root = env.rootResource;
    const target = isObject(root) ? items(root.contained).find((c) => isObject(c) && c.id === ref.slice(1)) : undefined;
    return isObject(target) && typeof target.resourceType === 'string' ? target.resourceType : undefined;
  }
  return parseReferenceTail(ref)?.type;
}

export const RESOURCES: NativeInvariant[] = [
  {
    key: 'que-7',
    expression: "operator = 'exists' implies (answer is Boolean)",
    // `Boolean` names System.Boolean, which FHIRPath.js does not see a FHIR boolean as; R4 means
    // the answer's type (the official example Questionnaire-bb has operator exists and answerBoolean).
    nativeOnly: true,
    check: (n) => {
      const exists = equals(n, 'operator', 'exists');
      if (exists !== true) return exists === false ? true : null;
      if (present(n.answerBoolean) || present(n._answerBoolean)) return true;
      return existsChoice(n, 'answer') ? false : null;
    },
  },
  {
    key: 'ctm-1',
    expression: 'onBehalfOf.exists() implies (member.resolve().iif(empty(), true, ofType(Practitioner).exists()))',
    // FHIRPath.js resolves references only asynchronously (by fetching them); here resolve() is
    // the reference's own type, which is all ofType() needs.
    nativeOnly: true,
    check: (n, env) => {
      if (!present(n.onBehalfOf)) return true;
      const type = referencedType(n.member, env);
      return type === undefined ? true : type === 'Practitioner';
    },
  },
  { key: 'obs-3', expression: 'low.exists() or high.exists() or text.exists()', check: (n) => present(n.low) || present(n.high) || exists(n, 'text') },
  { key: 'obs-6', expression: 'dataAbsentReason.empty() or value.empty()', check: (n) => !present(n.dataAbsentReason) || !existsChoice(n, 'value') },
  {
    key: 'obs-7',
    expression: 'value.empty() or component.code.where(coding.intersect(%resource.code.coding).exists()).empty()',
    check: (n) => {
      if (!existsChoice(n, 'value') || n.component === undefined) return true;
      const own = isObject(n.code) ? items(n.code.coding) : [];
      for (const component of items(n.component)) {
        if (!isObject(component) || !isObject(component.code)) continue;
        for (const coding of items(component.code.coding)) for (const o of own) if (sameCoding(coding, o) !== false) return DEFER;
      }
      return true;
    },
  },
  {
    key: 'pat-1',
    expression: 'name.exists() or telecom.exists() or address.exists() or organization.exists()',
    check: (n) => present(n.name) || present(n.telecom) || present(n.address) || present(n.organization),
  },
  {
    key: 'org-1',
    expression: '(identifier.count() + name.count()) > 0',
    check: (n) => (present(n.identifier) || present(n.name) ? true : n._name !== undefined ? DEFER : false),
  },
  { key: 'org-2', expression: "where(use = 'home').empty()", check: notHome },
  { key: 'org-3', expression: "where(use = 'home').empty()", check: notHome },
  {
    key: 'ait-1',
    expression:
      "verificationStatus.coding.where(system = 'http://terminology.hl7.org/CodeSystem/allergyintolerance-verification' and code = 'entered-in-error').exists() or clinicalStatus.exists()",
    check: (n) =>
      hasCoding(n.verificationStatus, 'http://terminology.hl7.org/CodeSystem/allergyintolerance-verification', ['entered-in-error']) ||
      present(n.clinicalStatus),
  },
  {
    key: 'ait-2',
    expression:
      "verificationStatus.coding.where(system = 'http://terminology.hl7.org/CodeSystem/allergyintolerance-verification' and code = 'entered-in-error').empty() or clinicalStatus.empty()",
    check: (n) =>
      !hasCoding(n.verificationStatus, 'http://terminology.hl7.org/CodeSystem/allergyintolerance-verification', ['entered-in-error']) ||
      !present(n.clinicalStatus),
  },
  { key: 'con-1', expression: 'summary.exists() or assessment.exists()', check: (n) => present(n.summary) || present(n.assessment) },
  { key: 'con-2', expression: 'code.exists() or detail.exists()', check: (n) => present(n.code) || present(n.detail) },
  {
    key: 'con-4',
    expression:
      "abatement.empty() or clinicalStatus.coding.where(system='http://terminology.hl7.org/CodeSystem/condition-clinical' and (code='resolved' or code='remission' or code='inactive')).exists()",
    check: (n) =>
      !existsChoice(n, 'abatement') ||
      hasCoding(n.clinicalStatus, 'http://terminology.hl7.org/CodeSystem/condition-clinical', ['resolved', 'remission', 'inactive']),
  },
  {
    key: 'con-5',
    expression:
      "verificationStatus.coding.where(system='http://terminology.hl7.org/CodeSystem/condition-ver-status' and code='entered-in-error').empty() or clinicalStatus.empty()",
    check: (n) =>
      !hasCoding(n.verificationStatus, 'http://terminology.hl7.org/CodeSystem/condition-ver-status', ['entered-in-error']) || !present(n.clinicalStatus),
  },
  { key: 'cpl-3', expression: 'detail.empty() or reference.empty()', check: (n) => !present(n.detail) || !present(n.reference) },
  {
    key: 'gol-1',
    expression: '(detail.exists() and measure.exists()) or detail.exists().not()',
    check: (n) => !existsChoice(n, 'detail') || present(n.measure),
  },
  { key: 'imm-1', expression: 'documentType.exists() or reference.exists()', check: (n) => exists(n, 'documentType') || exists(n, 'reference') },
];
