/**
 * A StructureDefinition's snapshot as a tree: each element with its children and, where it is
 * sliced, its slices (each with its own children). The snapshot lists an element, then its
 * children, then its slices, each followed by their own children
 * (https://hl7.org/fhir/R4/elementdefinition.html#interpretation and #slicing), so one pass
 * over the list builds the tree.
 */
import type { ElementDefinition, StructureDefinition } from 'fhir/r4';

export interface SnapshotNode {
  readonly element: ElementDefinition;
  /** Last segment of the path: `value[x]`, `coding`. */
  readonly name: string;
  readonly children: SnapshotNode[];
  /** The slices of this element (in snapshot order), when it is sliced. */
  readonly slices: SnapshotNode[];
}

const nameOf = (path: string) => path.slice(path.lastIndexOf('.') + 1);

/** The root of the snapshot tree, or undefined when the StructureDefinition has no snapshot. */
export function snapshotTree(sd: StructureDefinition): SnapshotNode | undefined {
  const elements = sd.snapshot?.element ?? [];
  if (elements.length === 0) return undefined;
  let i = 0;
  const node = (): SnapshotNode => {
    const element = elements[i++]!;
    const out: SnapshotNode = { element, name: nameOf(element.path), children: [], slices: [] };
    const prefix = `${element.path}.`;
    while (i < elements.length && elements[i]!.path.startsWith(prefix)) out.children.push(withSlices());
    return out;
  };
  const withSlices = (): SnapshotNode => {
    const entry = node();
    while (i < elements.length && elements[i]!.path === entry.element.path && elements[i]!.sliceName !== undefined) entry.slices.push(node());
    return entry;
  };
  return withSlices();
}

/** The value of the element's `fixed[x]` or `pattern[x]` (`fixedUri`, `patternCodeableConcept`, ...). */
export function valueOfPrefix(element: ElementDefinition, prefix: 'fixed' | 'pattern'): unknown {
  for (const key in element) {
    if (key.startsWith(prefix) && key.length > prefix.length && key.charCodeAt(prefix.length) <= 90)
      return (element as unknown as Record<string, unknown>)[key];
  }
  return undefined;
}

const FHIR_TYPE_EXTENSION = 'http://hl7.org/fhir/StructureDefinition/structuredefinition-fhir-type';

/** The type code, with `http://hl7.org/fhirpath/System.String` read as the FHIR type its extension names. */
export function typeCode(type: NonNullable<ElementDefinition['type']>[number]): string {
  if (!type.code.startsWith('http://hl7.org/fhirpath/System.')) return type.code;
  return (type.extension?.find((e) => e.url === FHIR_TYPE_EXTENSION) as { valueUrl?: string } | undefined)?.valueUrl ?? 'string';
}
