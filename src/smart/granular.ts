/**
 * Granular scopes offered on the consent page: when an app asks for `patient/Observation.rs` or
 * `patient/Condition.rs`, the user may grant only some categories instead (the ONC (g)(10)
 * "granular scope selection" of US Core 6+ / SMART v2).
 *
 * https://hl7.org/fhir/smart-app-launch/STU2.2/scopes-and-launch-context.html#finer-grained-resource-constraints-using-search-parameters
 */
import { formatScope, PERMISSION_ORDER, type ResourceScope } from './scopes.js';

export interface CategoryOption {
  system: string;
  code: string;
  /** What the consent page shows. */
  label: string;
}

const OBSERVATION_CATEGORY = 'http://terminology.hl7.org/CodeSystem/observation-category';
const US_CORE_CATEGORY = 'http://hl7.org/fhir/us/core/CodeSystem/us-core-category';
const CONDITION_CATEGORY = 'http://terminology.hl7.org/CodeSystem/condition-category';
const US_CORE_CONDITION_CATEGORY = 'http://hl7.org/fhir/us/core/CodeSystem/condition-category';

/** The categories offered per resource type, as data. */
export const GRANULAR_CATEGORIES: Readonly<Record<string, readonly CategoryOption[]>> = {
  Observation: [
    { system: OBSERVATION_CATEGORY, code: 'laboratory', label: 'Laboratory results' },
    { system: OBSERVATION_CATEGORY, code: 'vital-signs', label: 'Vital signs' },
    { system: OBSERVATION_CATEGORY, code: 'social-history', label: 'Social history' },
    { system: OBSERVATION_CATEGORY, code: 'survey', label: 'Surveys and assessments' },
    { system: US_CORE_CATEGORY, code: 'sdoh', label: 'Social determinants of health' },
  ],
  Condition: [
    { system: CONDITION_CATEGORY, code: 'encounter-diagnosis', label: 'Encounter diagnoses' },
    { system: US_CORE_CONDITION_CATEGORY, code: 'problem-list-item', label: 'Problem list' },
    { system: US_CORE_CONDITION_CATEGORY, code: 'health-concern', label: 'Health concerns' },
  ],
};

export interface GranularOption {
  scope: string;
  label: string;
}

/**
 * The category sub-scopes offered instead of `scope`: only for SMART v2 scopes without filters
 * that read or search one of the types above (v1 scopes stay v1: "v1 asked, v1 returned").
 */
export function granularOptions(scope: ResourceScope): GranularOption[] {
  if (scope.version !== 2 || scope.filters.length) return [];
  if (!scope.permissions.has('r') && !scope.permissions.has('s')) return [];
  const categories = GRANULAR_CATEGORIES[scope.resourceType];
  if (!categories) return [];
  const letters = PERMISSION_ORDER.filter((p) => scope.permissions.has(p));
  return categories.map((c) => {
    const sub: ResourceScope = { ...scope, permissions: new Set(letters), filters: [{ name: 'category', value: `${c.system}|${c.code}` }], raw: '' };
    return { scope: formatScope(sub), label: c.label };
  });
}
