/**
 * Kick-off parameters of `$export`, from the query string (GET) or a Parameters body (POST),
 * validated into what a job needs. Pure: no I/O.
 *
 * Unsupported or invalid parameters are a 400 OperationOutcome, unless the client sent
 * `Prefer: handling=lenient`: then they are left out and listed in `ignored`.
 * https://hl7.org/fhir/uv/bulkdata/STU2/export.html#query-parameters
 */
import type { Parameters, ParametersParameter } from 'fhir/r4';
import { parseInstantParam } from '../fhir/interactions/params.js';
import type { FhirRequest } from '../fhir/request.js';
import { badRequest, notSupported } from '../r4/errors.js';
import { FHIR_ID } from '../r4/ids.js';
import { getSearchRegistry, parseSearch, type SearchRegistry } from '../search/index.js';
import { RESULT_PARAMETERS } from '../search/result-params.js';
import { parseQuery } from '../text-decoding.js';
import type { ExportLevel } from './job.js';

export interface ExportParameters {
  /** `_since` as epoch ms. */
  since?: number;
  /** `_type`, de-duplicated, in the order given. */
  types?: string[];
  /** `_elements`: `element` or `Type.element`. */
  elements?: string[];
  /** `_typeFilter` queries, one `Type?query` each. */
  typeFilters: Array<{ type: string; query: string }>;
  /** `patient` (POST): Patient ids. */
  patients?: string[];
  /** What `Prefer: handling=lenient` let through unused, for the kick-off's OperationOutcome. */
  ignored: string[];
}

/** `_outputFormat` values meaning NDJSON; the IG requires all three. */
export const OUTPUT_FORMATS: readonly string[] = ['application/fhir+ndjson', 'application/ndjson', 'ndjson'];

const SUPPORTED = ['_outputFormat', '_since', '_type', '_elements', '_typeFilter', 'patient'];
/** Parameters about the HTTP response format, for the HTTP layer. */
const TRANSPORT = new Set(['_format', '_pretty']);
const ONCE = new Set(['_outputFormat', '_since']);
/** Search result parameters, and `_type`: the IG forbids them in `_typeFilter`. */
const NOT_IN_TYPE_FILTER = new Set([...RESULT_PARAMETERS, '_type']);
const ELEMENT = /^(?:([A-Z][A-Za-z]+)\.)?([a-z][A-Za-z0-9]*(?:\[x\])?)$/;
const PATIENT_REFERENCE = new RegExp(`(?:^|\\/)Patient\\/(${FHIR_ID})$`);

/**
 * Reads and checks the kick-off parameters.
 * @param baseUrl the FHIR base, to parse `_typeFilter` queries as searches
 * @param registry the search parameters in force (R4's and the installed packages')
 */
export function exportParameters(
  request: FhirRequest,
  level: ExportLevel,
  lenient: boolean,
  baseUrl: string,
  registry: SearchRegistry = getSearchRegistry(),
): ExportParameters {
  const result: ExportParameters = { typeFilters: [], ignored: [] };
  /** A problem: fatal unless lenient, when the offending value is skipped. */
  const reject = (error: Error, what: string) => {
    if (!lenient) throw error;
    result.ignored.push(what);
  };
  const seen = new Set<string>();

  for (const [name, value] of requestParameters(request)) {
    if (TRANSPORT.has(name)) continue;
    if (!SUPPORTED.includes(name)) {
      reject(
        notSupported(
          `The $export parameter "${name.slice(0, 60)}" is not supported (supported: ${SUPPORTED.join(', ')}); send Prefer: handling=lenient to have it ignored`,
        ),
        name,
      );
      continue;
    }
    if (ONCE.has(name)) {
      if (seen.has(name)) throw badRequest(`The $export parameter "${name}" may appear only once`);
      seen.add(name);
    }
    switch (name) {
      case '_outputFormat':
        if (!OUTPUT_FORMATS.includes(value)) {
          throw notSupported(`_outputFormat "${value.slice(0, 60)}" is not supported; Bedside writes ${OUTPUT_FORMATS.join(', ')} (all the same NDJSON)`);
        }
        break;
      case '_since':
        result.since = parseInstantParam('_since', value).low;
        break;
      case '_type':
        for (const type of splitList(value)) {
          if (!registry.isResourceType(type)) reject(badRequest(`_type: unknown resource type "${type.slice(0, 60)}"`), `_type=${type}`);
          else if (!result.types?.includes(type)) (result.types ??= []).push(type);
        }
        break;
      case '_elements':
        for (const element of splitList(value)) {
          const m = ELEMENT.exec(element);
          if (!m || (m[1] !== undefined && !registry.isResourceType(m[1]))) {
            reject(badRequest(`_elements: "${element.slice(0, 60)}" is not an element name or Type.element`), `_elements=${element}`);
          } else (result.elements ??= []).push(element);
        }
        break;
      case '_typeFilter':
        for (const query of splitTypeFilter(value)) {
          try {
            result.typeFilters.push(checkTypeFilter(query, baseUrl, registry));
          } catch (error) {
            reject(error as Error, `_typeFilter=${query}`);
          }
        }
        break;
      case 'patient': {
        if (level === 'system') {
          reject(badRequest('patient applies to Patient- and Group-level exports only'), 'patient');
          break;
        }
        if (request.method !== 'POST') {
          reject(badRequest('patient is accepted in a POST Parameters body only'), 'patient');
          break;
        }
        const id = PATIENT_REFERENCE.exec(value)?.[1];
        if (!id) reject(badRequest(`patient must reference a Patient, e.g. Patient/123 (got "${value.slice(0, 60)}")`), `patient=${value}`);
        else if (!result.patients?.includes(id)) (result.patients ??= []).push(id);
        break;
      }
    }
  }
  if (result.types) {
    for (const filter of result.typeFilters) {
      if (!result.types.includes(filter.type)) {
        reject(badRequest(`_typeFilter names ${filter.type}, which _type leaves out`), `_typeFilter=${filter.type}?${filter.query}`);
      }
    }
    result.typeFilters = result.typeFilters.filter((f) => result.types!.includes(f.type));
  }
  return result;
}

/** Name/value pairs from the query string, then from a Parameters body. */
function requestParameters(request: FhirRequest): Array<[string, string]> {
  const pairs: Array<[string, string]> = [...request.query];
  if (request.method !== 'POST' || request.body === undefined) return pairs;
  const body = request.body as Partial<Parameters>;
  if (typeof body !== 'object' || body === null || body.resourceType !== 'Parameters') {
    throw badRequest('The body of a POST $export must be a Parameters resource');
  }
  for (const parameter of body.parameter ?? []) {
    if (typeof parameter?.name !== 'string') throw badRequest('Every parameter of the Parameters body needs a name');
    pairs.push([parameter.name, parameterValue(parameter)]);
  }
  return pairs;
}

function parameterValue(parameter: ParametersParameter): string {
  const value =
    parameter.valueString ??
    parameter.valueInstant ??
    parameter.valueDateTime ??
    parameter.valueCode ??
    parameter.valueUri ??
    parameter.valueCanonical ??
    parameter.valueReference?.reference;
  if (typeof value !== 'string') {
    throw badRequest(`Parameter "${parameter.name.slice(0, 60)}" needs a value (valueString, valueInstant or, for patient, valueReference)`);
  }
  return value;
}

function splitList(value: string): string[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

/**
 * `_typeFilter` values hold one or more `Type?query`, separated by commas. A comma inside a query
 * (a FHIR OR list) stays with its query unless followed by another `Type?`.
 */
function splitTypeFilter(value: string): string[] {
  return value
    .split(/,(?=[A-Z][A-Za-z]+\?)/)
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

/** One `Type?query`: a known type and a search this server can run, without result parameters. */
function checkTypeFilter(text: string, baseUrl: string, registry: SearchRegistry): { type: string; query: string } {
  const m = /^([A-Z][A-Za-z]+)\?(.+)$/.exec(text);
  if (!m) throw badRequest(`_typeFilter must be Type?search, e.g. Observation?category=laboratory (got "${text.slice(0, 80)}")`);
  const [, type, query] = m as unknown as [string, string, string];
  if (!registry.isResourceType(type)) throw badRequest(`_typeFilter: unknown resource type "${type}"`);
  // Decoded strictly: malformed percent-encoding is refused, never turned into U+FFFD.
  const params = parseQuery(query, badRequest, `_typeFilter ${type}?…`);
  for (const name of params.keys()) {
    if (NOT_IN_TYPE_FILTER.has(name.split(':')[0]!)) throw badRequest(`_typeFilter may not use the result parameter ${name} (${type}?${query.slice(0, 60)})`);
  }
  // Strict: a criterion this server cannot evaluate must not silently export more than asked.
  parseSearch(type, params, { baseUrl, strict: true, maxCount: 1, defaultCount: 1, registry });
  return { type, query };
}
