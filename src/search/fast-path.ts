/**
 * A fast evaluator for the simple FHIRPath forms that make up most R4 SearchParameter
 * expressions: `A.b.c`, `A.b[0].c`, `(A.b as T)`, `A.b.as(T)`, `A.b.ofType(T)`,
 * `A.b.where(resolve() is T)`, `A.b.where(c = 'literal')` and `%resource.a.b`. It walks the
 * JSON directly with element types from the FHIRPath.js R4 model, so it yields the same values
 * and types as FHIRPath.js (test/unit/search/extract-samples.test.ts checks every sample resource).
 * Anything else is left to FHIRPath.js (see extract.ts).
 *
 * https://hl7.org/fhir/R4/fhirpath.html
 */
import { childSteps, ctxForType, isTypeOf, type ElementCtx } from './element-model.js';
import { referenceTargetType } from './references.js';

/** A value with its model context. */
export interface Item {
  readonly v: unknown;
  readonly c: ElementCtx;
}

/** Evaluates a compiled expression from `focus`; `%resource` is `resource`. */
export type FastEvaluator = (focus: Item, resource: Item) => Item[];

type Step =
  | { k: 'rootType'; type: string }
  | { k: 'resource' }
  | { k: 'child'; name: string }
  | { k: 'index'; n: number }
  | { k: 'as'; type: string }
  | { k: 'refIs'; type: string }
  | { k: 'whereEq'; field: string; literal: string };

type StepFn = (items: Item[], resource: Item) => Item[];

const IDENT = /[A-Za-z_][A-Za-z0-9_]*/y;
const LITERAL = /'([^'\\]*)'/y;
const DIGITS = /\d+/y;
const SPACES = /\s*/y;

/** A minimal recursive-descent reader of the supported FHIRPath subset. */
class Reader {
  pos = 0;
  constructor(readonly src: string) {}

  skipSpaces(): void {
    SPACES.lastIndex = this.pos;
    SPACES.exec(this.src);
    this.pos = SPACES.lastIndex;
  }

  eat(text: string): boolean {
    this.skipSpaces();
    if (!this.src.startsWith(text, this.pos)) return false;
    this.pos += text.length;
    return true;
  }

  ident(): string | undefined {
    return this.#take(IDENT)?.[0];
  }

  literal(): string | undefined {
    return this.#take(LITERAL)?.[1];
  }

  digits(): number | undefined {
    const hit = this.#take(DIGITS);
    return hit ? Number(hit[0]) : undefined;
  }

  atEnd(): boolean {
    this.skipSpaces();
    return this.pos >= this.src.length;
  }

  /** `pattern` (sticky) at the next non-space position, read past; undefined when it is not there. */
  #take(pattern: RegExp): RegExpExecArray | undefined {
    this.skipSpaces();
    pattern.lastIndex = this.pos;
    const hit = pattern.exec(this.src);
    if (!hit) return undefined;
    this.pos = pattern.lastIndex;
    return hit;
  }
}

/** Parses `term ('.' step | '[' n ']')*`; undefined when the syntax is not in the subset. */
function readPath(r: Reader, relative: boolean, isResourceType: (t: string) => boolean): Step[] | undefined {
  const steps: Step[] = [];
  if (r.eat('(')) {
    const inner = readPath(r, relative, isResourceType);
    if (!inner || !r.eat('as')) return undefined;
    const type = r.ident();
    if (!type || !r.eat(')')) return undefined;
    steps.push(...inner, { k: 'as', type });
  } else if (r.eat('%resource')) {
    steps.push({ k: 'resource' });
  } else {
    const first = r.ident();
    if (!first) return undefined;
    const isTypeName = first === 'Resource' || first === 'DomainResource' || isResourceType(first);
    steps.push(!relative && isTypeName ? { k: 'rootType', type: first } : { k: 'child', name: first });
  }
  for (;;) {
    if (r.eat('[')) {
      const n = r.digits();
      if (n === undefined || !r.eat(']')) return undefined;
      steps.push({ k: 'index', n });
      continue;
    }
    const save = r.pos;
    if (!r.eat('.')) break;
    const name = r.ident();
    if (!name) return undefined;
    if (!r.eat('(')) {
      steps.push({ k: 'child', name });
      continue;
    }
    const fn = readFunction(r, name);
    if (!fn) {
      r.pos = save;
      return undefined;
    }
    steps.push(fn);
  }
  return steps;
}

/** The argument list and `)` of a supported function call whose name and `(` were read. */
function readFunction(r: Reader, name: string): Step | undefined {
  if (name === 'as' || name === 'ofType') {
    const type = r.ident();
    return type && r.eat(')') ? { k: 'as', type } : undefined;
  }
  if (name !== 'where') return undefined;
  if (r.eat('resolve')) {
    if (!r.eat('(') || !r.eat(')') || !r.eat('is')) return undefined;
    const type = r.ident();
    return type && r.eat(')') ? { k: 'refIs', type } : undefined;
  }
  const field = r.ident();
  if (!field || !r.eat('=')) return undefined;
  const literal = r.literal();
  return literal !== undefined && r.eat(')') ? { k: 'whereEq', field, literal } : undefined;
}

/**
 * Parses one union part (no top-level `|`). `relative`: the expression is relative to a focus
 * element (composite components) rather than rooted at a resource type.
 */
export function parseFastPath(part: string, relative: boolean, isResourceType: (t: string) => boolean): readonly Step[] | undefined {
  const r = new Reader(part);
  const steps = readPath(r, relative, isResourceType);
  return steps && r.atEnd() ? steps : undefined;
}

type Obj = Record<string, unknown>;

function stepFn(step: Step, isResourceType: (t: string) => boolean): StepFn {
  switch (step.k) {
    case 'rootType':
      return (items) => items.filter((it) => isTypeOf(it.c.type, step.type));
    case 'resource':
      return (_items, resource) => [resource];
    case 'child': {
      const { name } = step;
      const wrap = (value: unknown, ctx: ElementCtx): Item => {
        // Contained and bundled resources: the model says `Resource`, the JSON says which one.
        if (ctx.type === 'Resource' && typeof value === 'object' && value !== null) {
          const rt = (value as Obj).resourceType;
          if (typeof rt === 'string' && isResourceType(rt)) return { v: value, c: ctxForType(rt) };
        }
        return { v: value, c: ctx };
      };
      return (items) => {
        const out: Item[] = [];
        for (const it of items) {
          const v = it.v;
          if (typeof v !== 'object' || v === null || Array.isArray(v)) continue;
          for (const s of childSteps(it.c, name)) {
            const x = (v as Obj)[s.key];
            if (x === undefined || x === null) continue;
            if (Array.isArray(x)) {
              for (const e of x) if (e !== null && e !== undefined) out.push(wrap(e, s.ctx));
            } else out.push(wrap(x, s.ctx));
          }
        }
        return out;
      };
    }
    case 'index':
      return (items) => (step.n < items.length ? [items[step.n]!] : []);
    case 'as':
      return (items) => items.filter((it) => isTypeOf(it.c.type, step.type));
    case 'refIs':
      return (items) => items.filter((it) => referenceTargetType(it.v, isResourceType) === step.type);
    case 'whereEq':
      return (items) => items.filter((it) => typeof it.v === 'object' && it.v !== null && (it.v as Obj)[step.field] === step.literal);
  }
}

/** Compiles parsed steps into an evaluator. */
export function compileSteps(steps: readonly Step[], isResourceType: (t: string) => boolean): FastEvaluator {
  const fns = steps.map((s) => stepFn(s, isResourceType));
  return (focus, resource) => {
    let items: Item[] = [focus];
    for (const fn of fns) {
      items = fn(items, resource);
      if (items.length === 0) break;
    }
    return items;
  };
}

/** The root item of a resource. */
export function resourceItem(resource: { resourceType: string }): Item {
  return { v: resource, c: ctxForType(resource.resourceType) };
}
