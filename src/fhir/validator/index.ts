/**
 * Bedside's R4 validator: a JSON resource checked against the official R4 StructureDefinitions,
 * compiled once per process (per type, on first use) into shapes a single pass walks.
 *
 * Checked:
 *   - JSON rules (https://hl7.org/fhir/R4/json.html): unknown properties, choice elements only
 *     with their allowed type suffixes and one type at a time, `_x` siblings of primitives with
 *     only id and extension (none on xhtml), arrays exactly where the element repeats, no empty
 *     strings, arrays or objects, null only in primitive arrays aligned with their `_x` array,
 *     `resourceType` on every resource and nowhere else.
 *   - Types and formats (https://hl7.org/fhir/R4/datatypes.html): the JSON type of every value
 *     and the lexical rules of every primitive (primitives.ts), dates against the calendar.
 *   - Cardinality: min (a primitive may be given by its `_x` extension alone) and max.
 *   - Required bindings whose ValueSet expands from the R4 package (bindings.ts): on `code`
 *     elements (212 of 214; MIME types and currencies need external code systems), and on Coding
 *     and CodeableConcept elements (9 of 11; UCUM units and a LOINC answer list are external),
 *     where a coding (of a CodeableConcept: at least one) must be a system and code of the ValueSet.
 *   - Every error-level invariant (https://hl7.org/fhir/R4/conformance-rules.html#constraints):
 *     ele-1 and ext-1 in the walker, the most frequent natively, the rest with FHIRPath.js;
 *     empty means satisfied. Datatype invariants apply wherever the datatype is used.
 *   - Contained resources, Bundle.entry.resource, Bundle.entry.response.outcome and
 *     Parameters.parameter.resource as resources of their own type.
 *
 * Not checked here: profiles (meta.profile, slicing) and extension definitions (an extension is
 * checked as Extension: url, one value or nested extensions), which profiles/ checks; the target
 * types of references; required bindings to ValueSets of external code systems and bindings of
 * other strengths; warning-level invariants (dom-6 and best practices).
 *
 * https://hl7.org/fhir/R4/validation.html
 */
import { ShapeCompiler, sharedShapes } from './compile.js';
import { Walk, type Issue } from './walk.js';

export type { Issue, IssueCode } from './walk.js';
export { bindingReport } from './bindings.js';
export { formatPath, MAX_DEPTH } from './walk.js';
export type { ShapeCompiler } from './compile.js';

export interface ValidationResult {
  /** No issue of severity error. */
  readonly valid: boolean;
  /** Errors and warnings, in document order (invariants after the elements they cover). */
  readonly issues: readonly Issue[];
}

export interface ValidateOptions {
  /** The resource must be of this type (e.g. the type in the URL). */
  readonly expectedType?: string;
}

/** Validates resources; holds the compiled shapes (build one per process, or use {@link validateR4}). */
export class R4Validator {
  /** @param compiler the shapes to check against (a fresh set by default; {@link validateR4} shares the process-wide one). */
  constructor(private readonly compiler: ShapeCompiler = new ShapeCompiler()) {}

  /** The compiled shapes (profile validation walks the same ones). */
  get shapes(): ShapeCompiler {
    return this.compiler;
  }

  /** Compiles every type now instead of on first use; returns the number of shapes. */
  compileAll(): number {
    return this.compiler.compileAll();
  }

  validate(value: unknown, options: ValidateOptions = {}): ValidationResult {
    const type = this.rootType(value, options.expectedType);
    const walk = new Walk(this.compiler, type);
    try {
      walk.resource(value, options.expectedType, undefined);
    } catch (error) {
      // A defect of the validator must not pass the resource: report it as a processing error.
      walk.issues.push({
        severity: 'error',
        code: 'processing',
        path: type,
        location: [],
        message: `validation failed: ${error instanceof Error ? error.message : String(error)}`,
      });
    }
    const issues = walk.issues;
    return { valid: !issues.some((i) => i.severity === 'error'), issues };
  }

  /** The first segment of issue paths: the resource's type if it is an R4 one. */
  private rootType(value: unknown, expectedType: string | undefined): string {
    const type = typeof value === 'object' && value !== null ? (value as { resourceType?: unknown }).resourceType : undefined;
    return typeof type === 'string' && this.compiler.isResourceType(type) ? type : (expectedType ?? 'Resource');
  }
}

let shared: R4Validator | undefined;

/** Validates one JSON resource against R4 with the process-wide compiled validator. */
export function validateR4(value: unknown, options?: ValidateOptions): ValidationResult {
  shared ??= new R4Validator(sharedShapes());
  return shared.validate(value, options);
}

/** The shapes of the process-wide validator, shared with profile validation. */
export function r4Shapes(): ShapeCompiler {
  shared ??= new R4Validator();
  return shared.shapes;
}
