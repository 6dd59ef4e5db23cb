/**
 * Profile validation: fetches the StructureDefinitions a validation needs (the profile, the
 * profiles and extension definitions it names, the extensions the instance carries), compiles
 * each once, walks the instance (walk.ts), then settles what the walk could not: extensions by
 * their definitions and bindings by the terminology service.
 *
 * Definitions come from R4 core (core.ts, built in) and from the loaded packages (an async
 * lookup by canonical URL). Compiled profiles and binding answers are reused; every
 * `recheckMs` the package definitions in use are fetched again, and a changed or newly added one
 * drops everything compiled, so a package added on any node is used within that time.
 *
 * https://hl7.org/fhir/R4/validation.html#profile
 * https://hl7.org/fhir/R4/terminologies.html#strength
 */
import type { StructureDefinition } from 'fhir/r4';
import { LRUCache } from 'lru-cache';
import { r4Shapes, type Issue } from '../index.js';
import { compileProfile, type CompiledProfile } from './compile.js';
import { baseTypeOf, coreStructureDefinition } from './core.js';
import { ProfileWalk, type PendingBinding, type ProfileSource } from './walk.js';
import { isObject } from './values.js';

/** A StructureDefinition of the loaded packages by canonical URL (`url` or `url|version`). */
export type StructureDefinitionLookup = (url: string) => Promise<StructureDefinition | undefined>;

/** A code to check against a value set. */
export interface CodeToCheck {
  system?: string;
  code: string;
}

/**
 * The terminology service's answer: in the value set, not in it, or `unknown` because a code
 * system (or the value set) is not held (https://hl7.org/fhir/R4/valueset-operation-validate-code.html).
 */
export interface CodeCheck {
  result: true | false | 'unknown';
  message: string;
  missingSystem?: string;
  missingValueSet?: string;
}

/** The binding check: is the code in the value set? */
export type ValidateCode = (valueSetUrl: string, code: CodeToCheck) => Promise<CodeCheck>;

export interface ProfileValidatorOptions {
  /** StructureDefinitions beyond R4 core (the loaded packages). */
  readonly structureDefinition?: StructureDefinitionLookup;
  /** Bindings are checked with it; without it they are not checked. */
  readonly validateCode?: ValidateCode;
  /** How long fetched definitions and binding answers are reused before asking again (ms, default 2000). */
  readonly recheckMs?: number;
}

export interface ProfileValidation {
  /** No issue of severity error. */
  readonly valid: boolean;
  readonly issues: readonly Issue[];
  /** The profiles checked. */
  readonly checked: readonly string[];
  /** The profiles asked for that are not known here (each has a warning among the issues). */
  readonly unknown: readonly string[];
}

/** Rounds of "fetch the definitions of the extensions found, check them" (complex extensions nest). */
const MAX_EXTENSION_ROUNDS = 8;
const MAX_MEMO = 20_000;
/** URLs remembered as unknown (instances may carry any extension URL: the set must stay bounded). */
const MAX_UNKNOWN = 2_000;

/** Validates resources against profiles; one per server (it holds the compiled profiles). */
export class ProfileValidator implements ProfileSource {
  private readonly fetched = new Map<string, StructureDefinition | null>();
  private readonly loading = new Map<string, Promise<void>>();
  private readonly compiledCache = new Map<string, CompiledProfile | null>();
  private readonly deepLoaded = new Set<string>();
  private unknownCount = 0;
  private memo = new LRUCache<string, Promise<CodeCheck>>({ max: MAX_MEMO });
  private answers = new LRUCache<string, boolean | 'unknown'>({ max: MAX_MEMO });
  private checkedAt = Date.now();
  private refreshing: Promise<void> | undefined;
  private readonly recheckMs: number;

  constructor(private readonly options: ProfileValidatorOptions = {}) {
    this.recheckMs = options.recheckMs ?? 2000;
  }

  /**
   * Checks a resource against each profile (canonical URLs, `|version` allowed). Only what the
   * profiles add is checked here: run the base validator (validateR4) for R4 itself. A profile
   * that is not known gives a warning, not an error.
   */
  async validate(resource: unknown, profiles: readonly string[]): Promise<ProfileValidation> {
    if (!isObject(resource) || typeof resource.resourceType !== 'string' || !r4Shapes().isResourceType(resource.resourceType)) {
      return { valid: true, issues: [], checked: [], unknown: [] };
    }
    await this.refreshIfStale();
    let run = { walk: new ProfileWalk(r4Shapes(), this, resource.resourceType, resource), checked: [] as string[], unknown: [] as string[] };
    try {
      await Promise.all(profiles.map((url) => this.load(url)));
      run = this.walkProfiles(resource, profiles);
      // Slices chosen by value set need the terminology's answers: ask, then walk again.
      for (let round = 0; round < 2 && run.walk.unanswered.length > 0; round++) {
        await Promise.all(run.walk.unanswered.map((u) => this.check(u.valueSet, u.code)));
        run = this.walkProfiles(resource, profiles);
      }
      await this.settleExtensions(run.walk);
      await this.settleBindings(run.walk, run.walk.bindings);
    } catch (error) {
      // A defect of the validator must not pass the resource: report it as a processing error.
      run.walk.reportAt([], profiles.join(', '), 'processing', `profile validation failed: ${error instanceof Error ? error.message : String(error)}`, false);
    }
    const issues = run.walk.issues;
    return { valid: !issues.some((i) => i.severity === 'error'), issues, checked: run.checked, unknown: run.unknown };
  }

  private walkProfiles(resource: Record<string, unknown>, profiles: readonly string[]) {
    const type = resource.resourceType as string;
    const walk = new ProfileWalk(r4Shapes(), this, type, resource);
    const checked: string[] = [];
    const unknown: string[] = [];
    for (const url of profiles) {
      const baseType = baseTypeOf(url);
      if (baseType !== undefined) {
        if (baseType !== type) walk.reportAt([], url, 'structure', `the profile ${url} is for ${baseType}, not ${type}`, false);
        checked.push(url);
        continue;
      }
      const profile = this.compiled(url);
      if (!profile) {
        unknown.push(url);
        walk.reportAt([], url, 'not-found', `profile ${url} is not known here, so the resource was not checked against it`, true);
        continue;
      }
      checked.push(url);
      walk.resource(resource, profile);
    }
    return { walk, checked, unknown };
  }

  /** The profiles a resource claims (meta.profile). */
  static declaredProfiles(resource: unknown): string[] {
    const meta = isObject(resource) ? resource.meta : undefined;
    const profiles = isObject(meta) && Array.isArray(meta.profile) ? meta.profile : [];
    return profiles.filter((p): p is string => typeof p === 'string');
  }

  /** A compiled profile or extension definition, if it was fetched (ProfileSource, for the walk). */
  compiled(url: string): CompiledProfile | undefined {
    let compiled = this.compiledCache.get(url);
    if (compiled === undefined) {
      const sd = this.definition(url);
      compiled = sd ? (compileProfile(sd, (u) => this.definition(u)) ?? null) : null;
      // Not fetched yet (or unknown): do not remember, a later fetch may find it.
      if (sd) this.compiledCache.set(url, compiled);
    }
    return compiled ?? undefined;
  }

  /** The terminology's answer for a code in a value set, if already known (ProfileSource, for slicing by value set). */
  answer(valueSet: string, code: CodeToCheck): boolean | 'unknown' | undefined {
    if (!this.options.validateCode) return 'unknown';
    return this.answers.get(memoKey(valueSet, code));
  }

  /** Drops everything fetched and compiled (the packages changed). */
  invalidate(): void {
    this.fetched.clear();
    this.deepLoaded.clear();
    this.compiledCache.clear();
    this.forgetAnswers();
  }

  /** Forgets the URLs found unknown: each is looked up again when next needed. */
  private forgetUnknown(): void {
    for (const [url, sd] of this.fetched) if (sd === null) this.fetched.delete(url);
    this.unknownCount = 0;
  }

  private forgetAnswers(): void {
    // New caches, not cleared ones: a lookup under way fills the old ones, which nothing reads.
    this.memo = new LRUCache({ max: MAX_MEMO });
    this.answers = new LRUCache({ max: MAX_MEMO });
  }

  private definition(url: string): StructureDefinition | undefined {
    return coreStructureDefinition(url) ?? this.fetched.get(url) ?? undefined;
  }

  /** Fetches a definition and, for a profile or extension, every definition it names. */
  private load(url: string, deep = true): Promise<void> {
    if (baseTypeOf(url) !== undefined || this.fetched.get(url) === null) return Promise.resolve();
    if (deep ? this.deepLoaded.has(url) : this.fetched.has(url) || coreStructureDefinition(url)) return Promise.resolve();
    const key = deep ? `deep ${url}` : url;
    let pending = this.loading.get(key);
    if (!pending) {
      pending = (async () => {
        let sd: StructureDefinition | null | undefined = coreStructureDefinition(url) ?? this.fetched.get(url);
        if (sd === undefined) {
          sd = (await this.options.structureDefinition?.(url)) ?? null;
          if (sd === null && ++this.unknownCount > MAX_UNKNOWN) this.forgetUnknown();
          this.fetched.set(url, sd);
        }
        if (sd && deep) {
          this.deepLoaded.add(url);
          await this.loadDependencies(sd);
        }
      })().finally(() => this.loading.delete(key));
      this.loading.set(key, pending);
    }
    return pending;
  }

  private async loadDependencies(sd: StructureDefinition): Promise<void> {
    const deep = new Set<string>();
    const shallow = new Set<string>();
    for (const e of sd.snapshot?.element ?? []) {
      for (const t of e.type ?? []) {
        for (const p of t.profile ?? []) deep.add(p);
        for (const p of t.targetProfile ?? []) shallow.add(p);
      }
    }
    // A definition being loaded deeply already (a cycle) is not awaited again.
    const pending: Promise<void>[] = [];
    for (const url of deep) if (!this.deepLoaded.has(url)) pending.push(this.load(url));
    for (const url of shallow) if (!deep.has(url)) pending.push(this.load(url, false));
    await Promise.all(pending);
  }

  /** Extensions no slice matched: fetch their definitions, check them (which may find more). */
  private async settleExtensions(walk: ProfileWalk): Promise<void> {
    const reported = new Set<string>();
    for (let round = 0; round < MAX_EXTENSION_ROUNDS && walk.extensions.length > 0; round++) {
      const batch = walk.extensions.splice(0);
      await Promise.all([...new Set(batch.map((p) => p.url))].map((url) => this.load(url)));
      for (const pending of batch) {
        const definition = this.compiled(pending.url);
        if (!definition) {
          if (reported.has(pending.url)) continue;
          reported.add(pending.url);
        }
        walk.extension(pending, definition);
      }
    }
  }

  private async settleBindings(walk: ProfileWalk, bindings: readonly PendingBinding[]): Promise<void> {
    const validateCode = this.options.validateCode;
    if (!validateCode || bindings.length === 0) return;
    const results = await Promise.all(bindings.map((b) => Promise.all(codingsOf(b).map((c) => this.check(b.binding.valueSet, c)))));
    bindings.forEach((b, i) => judgeBinding(walk, b, codingsOf(b), results[i]!));
  }

  /** Asks the terminology (once per value set and code while the answers are fresh). */
  private check(valueSet: string, code: CodeToCheck): Promise<CodeCheck> {
    const validateCode = this.options.validateCode;
    if (!validateCode) return Promise.resolve({ result: 'unknown', message: 'no terminology service' });
    const key = memoKey(valueSet, code);
    let answer = this.memo.get(key);
    if (!answer) {
      const answers = this.answers;
      answer = validateCode(valueSet, code).then((check) => {
        answers.set(key, check.result);
        return check;
      });
      this.memo.set(key, answer);
      // A failed lookup is not remembered.
      answer.catch(() => this.memo.delete(key));
    }
    return answer;
  }

  /**
   * Every `recheckMs`: fetch the package definitions in use again and drop everything compiled if
   * one changed; forget the URLs found unknown (a package may have brought them since) and the
   * binding answers (a package may have brought value sets).
   */
  private refreshIfStale(): Promise<void> {
    if (Date.now() - this.checkedAt < this.recheckMs) return Promise.resolve();
    this.refreshing ??= (async () => {
      const lookup = this.options.structureDefinition;
      this.forgetUnknown();
      let changed = false;
      if (lookup) {
        const urls = [...this.fetched.keys()];
        const fresh = await Promise.all(urls.map((url) => lookup(url)));
        changed = urls.some((url, i) => !sameDefinition(this.fetched.get(url) ?? undefined, fresh[i]));
      }
      if (changed) this.invalidate();
      else this.forgetAnswers();
      this.checkedAt = Date.now();
    })().finally(() => (this.refreshing = undefined));
    return this.refreshing;
  }
}

function memoKey(valueSet: string, code: CodeToCheck): string {
  return `${valueSet}\n${code.system ?? ''}\n${code.code}`;
}

function sameDefinition(a: StructureDefinition | undefined, b: StructureDefinition | undefined): boolean {
  if (a === b) return true;
  if (!a || !b) return false;
  return a.url === b.url && a.version === b.version && a.id === b.id && a.meta?.versionId === b.meta?.versionId && a.meta?.lastUpdated === b.meta?.lastUpdated;
}

/** The codes a bound value carries. */
function codingsOf(b: PendingBinding): CodeToCheck[] {
  const v = b.value;
  switch (b.type) {
    case 'code':
    case 'string':
    case 'uri':
      return typeof v === 'string' ? [{ code: v }] : [];
    case 'Coding':
    case 'Quantity':
      return isObject(v) && typeof v.code === 'string' ? [{ ...(typeof v.system === 'string' ? { system: v.system } : {}), code: v.code }] : [];
    case 'CodeableConcept': {
      const codings = isObject(v) && Array.isArray(v.coding) ? v.coding : [];
      return codings
        .filter((c): c is { system?: string; code: string } => isObject(c) && typeof c.code === 'string')
        .map((c) => ({ ...(typeof c.system === 'string' ? { system: c.system } : {}), code: c.code }));
    }
    default:
      return [];
  }
}

/**
 * Required: a code (of a CodeableConcept: at least one) must be in the value set, else an error.
 * Extensible: one outside it is a warning. A value set Bedside cannot evaluate (a code system it
 * does not hold) is a warning that names the system, never an error.
 */
function judgeBinding(walk: ProfileWalk, b: PendingBinding, codes: readonly CodeToCheck[], results: readonly CodeCheck[]): void {
  const { strength, valueSet } = b.binding;
  if (codes.length === 0) {
    if (strength === 'required' && b.type === 'CodeableConcept')
      walk.reportAt(b.location, b.profile, 'code-invalid', `has no coding from the required value set ${valueSet}`, false);
    return;
  }
  if (results.some((r) => r.result === true)) return;
  const unknown = results.find((r) => r.result === 'unknown');
  if (unknown) {
    const why = unknown.missingSystem
      ? `the code system ${unknown.missingSystem} is not held here`
      : unknown.missingValueSet
        ? `the value set ${unknown.missingValueSet} is not held here`
        : unknown.message;
    walk.reportAt(b.location, b.profile, 'not-supported', `the ${strength} binding to ${valueSet} was not checked: ${why}`, true);
    return;
  }
  const shown = codes
    .slice(0, 3)
    .map((c) => (c.system ? `${c.system}#${c.code}` : c.code))
    .join(', ');
  walk.reportAt(b.location, b.profile, 'code-invalid', `${shown} is not in the ${strength} value set ${valueSet}`, strength === 'extensible');
}
