/**
 * A CodeSystem indexed for lookups: every concept by code, with its display, designations,
 * properties, and its place in the hierarchy (nested concepts, and the `parent`/`child`/
 * `subsumedBy` properties). Built once per stored version (see sources.ts).
 *
 * https://hl7.org/fhir/R4/codesystem.html#hierarchy
 */
import type { CodeSystem, CodeSystemConcept, CodeSystemConceptDesignation, CodeSystemConceptProperty } from 'fhir/r4';

export interface ConceptInfo {
  code: string;
  display?: string;
  definition?: string;
  designation: CodeSystemConceptDesignation[];
  property: CodeSystemConceptProperty[];
  parents: string[];
  children: string[];
  /** Retired or marked inactive. */
  inactive: boolean;
  /** Not for use in data (`notSelectable`, `abstract`): a grouper. */
  abstract: boolean;
}

/** Property codes R4 defines for the hierarchy (https://hl7.org/fhir/R4/codesystem-concept-properties.html). */
const PARENT_PROPERTIES = new Set(['parent', 'subsumedBy']);

export class CodeSystemIndex {
  readonly url: string;
  readonly version: string | undefined;
  readonly name: string | undefined;
  readonly title: string | undefined;
  /** CodeSystem.content: only `complete` systems can say a code is not in them. */
  readonly content: string;
  readonly caseSensitive: boolean;
  /** Concepts in definition order. */
  readonly concepts: ConceptInfo[] = [];
  readonly #byCode = new Map<string, ConceptInfo>();

  constructor(system: CodeSystem) {
    this.url = system.url ?? '';
    this.version = system.version;
    this.name = system.name;
    this.title = system.title;
    this.content = system.content ?? 'complete';
    // R4: "If this value is missing, then it is not specified whether a code system is case sensitive or not"; we compare exactly then.
    this.caseSensitive = system.caseSensitive !== false;
    const walk = (concepts: CodeSystemConcept[] | undefined, parent: ConceptInfo | undefined) => {
      for (const c of concepts ?? []) {
        const info = this.#add(c);
        if (parent) link(parent, info);
        walk(c.concept, info);
      }
    };
    walk(system.concept, undefined);
    for (const info of this.concepts) {
      for (const p of info.property) {
        const other = p.valueCode !== undefined ? this.find(p.valueCode) : undefined;
        if (!other) continue;
        if (PARENT_PROPERTIES.has(p.code)) link(other, info);
        else if (p.code === 'child') link(info, other);
      }
    }
  }

  /** True when the system lists every code it has (content `complete`). */
  get complete(): boolean {
    return this.content === 'complete';
  }

  find(code: string): ConceptInfo | undefined {
    return this.#byCode.get(this.caseSensitive ? code : code.toLowerCase());
  }

  /** Codes below `code` (transitively), not `code` itself. */
  descendants(code: string): ConceptInfo[] {
    return this.#closure(code, (c) => c.children);
  }

  /** Codes above `code` (transitively), not `code` itself. */
  ancestors(code: string): ConceptInfo[] {
    return this.#closure(code, (c) => c.parents);
  }

  /** Whether `a` subsumes `b`: the same concept, or an ancestor of it. */
  subsumes(a: string, b: string): boolean {
    const ca = this.find(a);
    const cb = this.find(b);
    if (!ca || !cb) return false;
    return ca === cb || this.ancestors(cb.code).includes(ca);
  }

  #closure(code: string, next: (c: ConceptInfo) => string[]): ConceptInfo[] {
    const start = this.find(code);
    if (!start) return [];
    const seen = new Set<ConceptInfo>([start]);
    const out: ConceptInfo[] = [];
    const queue = [start];
    while (queue.length > 0) {
      for (const c of next(queue.shift()!)) {
        const info = this.find(c);
        if (!info || seen.has(info)) continue;
        seen.add(info);
        out.push(info);
        queue.push(info);
      }
    }
    return out;
  }

  #add(c: CodeSystemConcept): ConceptInfo {
    const property = c.property ?? [];
    const flag = (name: string) => property.some((p) => p.code === name && p.valueBoolean === true);
    const status = property.find((p) => p.code === 'status')?.valueCode;
    const info: ConceptInfo = {
      code: c.code,
      ...(c.display !== undefined ? { display: c.display } : {}),
      ...(c.definition !== undefined ? { definition: c.definition } : {}),
      designation: c.designation ?? [],
      property,
      parents: [],
      children: [],
      inactive: flag('inactive') || status === 'retired' || status === 'inactive' || flag('deprecated'),
      abstract: flag('notSelectable') || flag('abstract'),
    };
    this.concepts.push(info);
    this.#byCode.set(this.caseSensitive ? c.code : c.code.toLowerCase(), info);
    return info;
  }
}

function link(parent: ConceptInfo, child: ConceptInfo): void {
  if (!parent.children.includes(child.code)) parent.children.push(child.code);
  if (!child.parents.includes(parent.code)) child.parents.push(parent.code);
}
