/**
 * The terminology operations as FHIR interactions: parameters from the query string (GET) or a
 * Parameters body (POST), value sets and code systems read through the request's policy-bound
 * store, answers as ValueSet or Parameters resources.
 *
 * https://hl7.org/fhir/R4/valueset-operation-expand.html
 * https://hl7.org/fhir/R4/valueset-operation-validate-code.html
 * https://hl7.org/fhir/R4/codesystem-operation-lookup.html
 * https://hl7.org/fhir/R4/codesystem-operation-subsumes.html
 */
import type { CodeableConcept, CodeSystem, Coding, Parameters, ParametersParameter, ValueSet } from 'fhir/r4';
import type { InteractionHandler, Operation } from '../fhir/api.js';
import type { FhirContext } from '../fhir/context.js';
import type { FhirRequest, FhirResponse } from '../fhir/request.js';
import { assertValidId } from '../fhir/validation.js';
import { badRequest, notFound } from '../r4/errors.js';
import { MissingTerminology } from './errors.js';
import type { Terminology } from './service.js';
import type { TerminologySources } from './sources.js';
import type { CodeCheck, CodeToCheck } from './types.js';

/** Parameters about the response format, for the HTTP layer. */
const TRANSPORT = new Set(['_format', '_pretty']);

/** An operation's input parameters by name, from either transport. */
class OperationInput {
  readonly #byName = new Map<string, ParametersParameter[]>();

  constructor(
    request: FhirRequest,
    private readonly operation: string,
  ) {
    if (request.method === 'POST' && request.body !== undefined) {
      const body = request.body as Partial<Parameters>;
      if (body?.resourceType !== 'Parameters') throw badRequest(`$${operation} takes a Parameters resource as its POST body`);
      for (const p of body.parameter ?? []) this.#add(p);
    }
    for (const [name, value] of request.query) if (!TRANSPORT.has(name)) this.#add({ name, valueString: value });
  }

  #add(p: ParametersParameter): void {
    this.#byName.set(p.name, [...(this.#byName.get(p.name) ?? []), p]);
  }

  #one(name: string): ParametersParameter | undefined {
    const list = this.#byName.get(name);
    if (list && list.length > 1) throw badRequest(`$${this.operation}: the parameter "${name}" may appear only once`);
    return list?.[0];
  }

  /** A primitive parameter as text (valueString, valueUri, valueCode ... or a query value). */
  text(name: string): string | undefined {
    const p = this.#one(name);
    if (!p) return undefined;
    const value = p.valueString ?? p.valueUri ?? p.valueCode ?? p.valueCanonical ?? p.valueUrl ?? p.valueId;
    if (value === undefined) throw badRequest(`$${this.operation}: the parameter "${name}" must be a string, uri or code`);
    return value;
  }

  integer(name: string): number | undefined {
    const p = this.#one(name);
    if (!p) return undefined;
    const value = p.valueInteger ?? (p.valueString !== undefined && /^\d{1,9}$/.test(p.valueString) ? Number(p.valueString) : undefined);
    if (value === undefined || value < 0) throw badRequest(`$${this.operation}: the parameter "${name}" must be a non-negative integer`);
    return value;
  }

  boolean(name: string): boolean | undefined {
    const p = this.#one(name);
    if (!p) return undefined;
    if (p.valueBoolean !== undefined) return p.valueBoolean;
    if (p.valueString === 'true' || p.valueString === 'false') return p.valueString === 'true';
    throw badRequest(`$${this.operation}: the parameter "${name}" must be true or false`);
  }

  coding(name: string): Coding | undefined {
    const p = this.#one(name);
    if (!p) return undefined;
    if (p.valueCoding) return p.valueCoding;
    // GET carries only primitives; accept `system|code` there.
    if (p.valueString !== undefined) {
      const bar = p.valueString.indexOf('|');
      return bar < 0 ? { code: p.valueString } : { system: p.valueString.slice(0, bar), code: p.valueString.slice(bar + 1) };
    }
    throw badRequest(`$${this.operation}: the parameter "${name}" must be a Coding`);
  }

  codeableConcept(name: string): CodeableConcept | undefined {
    const p = this.#one(name);
    if (!p) return undefined;
    if (!p.valueCodeableConcept) throw badRequest(`$${this.operation}: the parameter "${name}" must be a CodeableConcept (POST)`);
    return p.valueCodeableConcept;
  }

  resource<T>(name: string, type: string): T | undefined {
    const p = this.#one(name);
    if (!p) return undefined;
    if (p.resource?.resourceType !== type) throw badRequest(`$${this.operation}: the parameter "${name}" must be a ${type} resource (POST)`);
    return p.resource as T;
  }
}

/** The terminology operations, for the FHIR API's operation table. */
export function terminologyOperations(terminology: Terminology): Operation[] {
  return [
    operation('expand', 'ValueSet', (context, request) => expand(terminology, context, request)),
    operation('validate-code', 'ValueSet', (context, request) => validateCode(terminology, context, request)),
    operation('lookup', 'CodeSystem', (context, request) => lookup(terminology, context, request)),
    operation('subsumes', 'CodeSystem', (context, request) => subsumes(terminology, context, request)),
  ];
}

/** `[type]/$name` and `[type]/[id]/$name`, GET or POST, as HL7's OperationDefinition defines it. */
function operation(name: string, type: 'ValueSet' | 'CodeSystem', handler: InteractionHandler): Operation {
  return {
    name,
    definition: `http://hl7.org/fhir/OperationDefinition/${type}-${name}`,
    levels: ['type', 'instance'],
    types: [type],
    methods: ['GET', 'POST'],
    handler,
  };
}

/** What the caller may see: its stored terminology resources, then the built-ins. */
function sourcesFor(terminology: Terminology, context: FhirContext): TerminologySources {
  return terminology.sources(context.services.conformance.through(context.store));
}

/** https://hl7.org/fhir/R4/valueset-operation-expand.html */
async function expand(terminology: Terminology, context: FhirContext, request: FhirRequest): Promise<FhirResponse> {
  const input = new OperationInput(request, 'expand');
  const sources = sourcesFor(terminology, context);
  const valueSet = await targetValueSet(terminology, context, request, input, sources);
  const options = {
    ...optional('filter', input.text('filter')),
    ...optional('count', input.integer('count')),
    ...optional('offset', input.integer('offset')),
    ...optional('includeDesignations', input.boolean('includeDesignations')),
  };
  return ok(await terminology.expand(sources, valueSet, options));
}

/** https://hl7.org/fhir/R4/valueset-operation-validate-code.html */
async function validateCode(terminology: Terminology, context: FhirContext, request: FhirRequest): Promise<FhirResponse> {
  const input = new OperationInput(request, 'validate-code');
  const sources = sourcesFor(terminology, context);
  const valueSet = await targetValueSet(terminology, context, request, input, sources);
  const codes = codesToCheck(input);
  const checks: CodeCheck[] = [];
  for (const code of codes) checks.push(await terminology.validateCode(sources, valueSet, code));
  const valid = checks.find((c) => c.result === true);
  const unknown = checks.find((c) => c.result === 'unknown');
  if (!valid && unknown) throw new MissingTerminology(unknown.message, unknown.missingSystem, unknown.missingValueSet);
  const answer = valid ?? checks[0]!;
  const parameter: ParametersParameter[] = [
    { name: 'result', valueBoolean: answer.result === true },
    { name: 'message', valueString: answer.message },
  ];
  if (answer.display !== undefined) parameter.push({ name: 'display', valueString: answer.display });
  return ok({ resourceType: 'Parameters', parameter });
}

/** https://hl7.org/fhir/R4/codesystem-operation-lookup.html */
async function lookup(terminology: Terminology, context: FhirContext, request: FhirRequest): Promise<FhirResponse> {
  const input = new OperationInput(request, 'lookup');
  const coding = input.coding('coding');
  const code = input.text('code') ?? coding?.code;
  if (!code) throw badRequest('$lookup: give "code" and "system", or "coding"');
  const system = await targetSystem(context, request, input.text('system') ?? coding?.system);
  const version = input.text('version') ?? coding?.version;
  return ok(await terminology.lookup(sourcesFor(terminology, context), system, code, version));
}

/** https://hl7.org/fhir/R4/codesystem-operation-subsumes.html */
async function subsumes(terminology: Terminology, context: FhirContext, request: FhirRequest): Promise<FhirResponse> {
  const input = new OperationInput(request, 'subsumes');
  const codingA = input.coding('codingA');
  const codingB = input.coding('codingB');
  const codeA = input.text('codeA') ?? codingA?.code;
  const codeB = input.text('codeB') ?? codingB?.code;
  if (!codeA || !codeB) throw badRequest('$subsumes: give "codeA" and "codeB" (with "system"), or "codingA" and "codingB"');
  const systems = new Set([input.text('system'), codingA?.system, codingB?.system].filter((s): s is string => s !== undefined));
  if (systems.size > 1) throw badRequest(`$subsumes: both codes must be from one code system (got ${[...systems].join(', ')})`);
  const system = await targetSystem(context, request, [...systems][0]);
  const outcome = await terminology.subsumes(sourcesFor(terminology, context), system, codeA, codeB, input.text('version'));
  return ok({ resourceType: 'Parameters', parameter: [{ name: 'outcome', valueCode: outcome }] });
}

/** The value set of an instance-level call, or of the `url`/`valueSet` parameters. */
async function targetValueSet(
  terminology: Terminology,
  context: FhirContext,
  request: FhirRequest,
  input: OperationInput,
  sources: TerminologySources,
): Promise<ValueSet> {
  if (request.params.id) return readInstance<ValueSet>(context, 'ValueSet', request.params.id);
  const inline = input.resource<ValueSet>('valueSet', 'ValueSet');
  if (inline) return inline;
  const url = input.text('url');
  if (!url) throw badRequest(`$${request.params.operation}: give the value set as "url" (its canonical URL) or "valueSet" (POST), or call it on ValueSet/[id]`);
  const version = input.text('valueSetVersion');
  return terminology.valueSet(sources, version ? `${url}|${version}` : url);
}

/** The code system of an instance-level call, or the `system` parameter (or a coding's). */
async function targetSystem(context: FhirContext, request: FhirRequest, given: string | undefined): Promise<string> {
  if (request.params.id) {
    const system = await readInstance<CodeSystem>(context, 'CodeSystem', request.params.id);
    if (!system.url) throw badRequest(`CodeSystem/${request.params.id} has no url`);
    return system.url;
  }
  if (!given) throw badRequest(`$${request.params.operation}: "system" is required (or call it on CodeSystem/[id])`);
  return given;
}

/** `code` + `system` (+ `display`), or `coding`, or every coding of `codeableConcept`. */
function codesToCheck(input: OperationInput): CodeToCheck[] {
  const code = input.text('code');
  const coding = input.coding('coding');
  const concept = input.codeableConcept('codeableConcept');
  const given = [code, coding, concept].filter((x) => x !== undefined).length;
  if (given !== 1) throw badRequest('$validate-code: give exactly one of "code" (with "system"), "coding" or "codeableConcept"');
  const toCheck = (c: Coding): CodeToCheck => {
    if (!c.code) throw badRequest('$validate-code: a coding without a code');
    return { code: c.code, ...optional('system', c.system), ...optional('display', c.display), ...optional('version', c.version) };
  };
  if (code !== undefined)
    return [
      toCheck({
        code,
        ...optional('system', input.text('system')),
        ...optional('display', input.text('display')),
        ...optional('version', input.text('systemVersion')),
      }),
    ];
  if (coding) return [toCheck(coding)];
  const codings = concept!.coding ?? [];
  if (codings.length === 0) throw badRequest('$validate-code: the codeableConcept has no coding');
  return codings.map(toCheck);
}

async function readInstance<T>(context: FhirContext, type: string, id: string): Promise<T> {
  assertValidId(id);
  const version = await context.store.read(type, id);
  if (!version || version.deleted) throw notFound(`${type}/${id} is not known`);
  return version.resource as T;
}

function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

function ok(body: ValueSet | Parameters): FhirResponse {
  return { status: 200, headers: {}, body };
}
