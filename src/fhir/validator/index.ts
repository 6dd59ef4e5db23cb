/**
 * Bedside's R4 validator: JSON resources checked against the official R4 StructureDefinitions
 * (structure, JSON rules, primitive formats, cardinality, required bindings, invariants), compiled
 * once per process and per type on first use.
 *
 * https://hl7.org/fhir/R4/validation.html
 * https://hl7.org/fhir/R4/json.html
 * https://hl7.org/fhir/R4/datatypes.html
 * https://hl7.org/fhir/R4/conformance-rules.html
 */
import { ShapeCompiler } from './compile.js';
import { Walk, type Issue } from './walk.js';

export type { Issue, IssueCode } from './walk.js';
export { bindingReport } from './bindings.js';
export { formatPath, MAX_DEPTH } from './walk.js';

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
  private readonly compiler = new ShapeCompiler();

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
    return typeof type === 'string' && this.compiler.isResourceType(type) ? type : expectedType ?? 'Resource';
  }
}

let shared: R4Validator | undefined;

/** Validates one JSON resource against R4 with the process-wide compiled validator. */
export function validateR4(value: unknown, options?: ValidateOptions): ValidationResult {
  shared ??= new R4Validator();
  return shared.validate(value, options);
}
