/**
 * Conversion of one typed FHIR value into index rows, per search parameter type. Both expression
 * evaluators (the fast one and FHIRPath.js) feed these, so they produce identical rows.
 *
 * https://hl7.org/fhir/R4/search.html#ptypes (what each parameter type matches in each data type)
 */
import type {
  CompositeComponent,
  DateEntry,
  IndexEntry,
  IndexTable,
  NumberEntry,
  PositionEntry,
  QuantityEntry,
  ReferenceEntry,
  StringEntry,
  TextEntry,
  TokenEntry,
} from '../storage/search-index.js';
import { MAX_TIME, MIN_TIME, parseDateRange, type DateRange } from './dates.js';
import { normalizeReference, stripCanonicalVersion } from './references.js';
import { normalizeString } from './strings.js';
import { wordsOf } from './text.js';
import { UCUM_SYSTEM, canonicalUnit } from './ucum.js';

/** What conversions need besides the value. */
export interface ValueContext {
  /** Our FHIR base URL (no trailing slash): absolute references to it become `Type/id`. */
  baseUrl?: string | undefined;
  isResourceType(type: string): boolean;
}

/** Appends the rows of `value` (of FHIR type `type`) for parameter `param` to `out`. */
export type Converter = (param: string, type: string, value: unknown, ctx: ValueContext, out: IndexEntry[]) => void;

/** The open end of a numeric range (a finite stand-in for infinity that survives JSON). */
export const OPEN_NUMBER = Number.MAX_VALUE;

const SYSTEM_TYPES: Record<string, string> = {
  'System.String': 'string',
  'System.Boolean': 'boolean',
  'System.Integer': 'integer',
  'System.Decimal': 'decimal',
  'System.Date': 'date',
  'System.DateTime': 'dateTime',
  'System.Time': 'time',
  'System.Quantity': 'Quantity',
};

/** FHIR type name of a model or FHIRPath type (`FHIR.string` → `string`, `System.String` → `string`). */
export function normalizeTypeName(type: string): string {
  if (type.startsWith('FHIR.')) return type.slice(5);
  return SYSTEM_TYPES[type] ?? type;
}

const QUANTITY_TYPES = new Set(['Quantity', 'Age', 'Duration', 'Count', 'Distance', 'SimpleQuantity', 'MoneyQuantity']);

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null);
const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((s): s is string => typeof s === 'string') : []);
const normText = (v: unknown): string | null => {
  const s = str(v);
  return s === null ? null : normalizeString(s) || null;
};

// string: https://hl7.org/fhir/R4/search.html#string
function pushString(param: string, text: unknown, out: IndexEntry[]): void {
  if (typeof text !== 'string') return;
  const value = normalizeString(text);
  if (value !== '') out.push({ table: 'string', param, value, exact: text } satisfies StringEntry);
}

const stringRows: Converter = (param, type, value, _ctx, out) => {
  if (typeof value === 'string') return pushString(param, value, out);
  if (!isObj(value)) return;
  if (type === 'HumanName') {
    pushString(param, value.family, out);
    for (const s of strings(value.given)) pushString(param, s, out);
    pushString(param, value.text, out);
    for (const s of strings(value.prefix)) pushString(param, s, out);
    for (const s of strings(value.suffix)) pushString(param, s, out);
  } else if (type === 'Address') {
    for (const s of strings(value.line)) pushString(param, s, out);
    for (const key of ['city', 'district', 'state', 'postalCode', 'country', 'text']) pushString(param, value[key], out);
  }
};

// token: https://hl7.org/fhir/R4/search.html#token
function pushToken(param: string, system: string | null, code: string | null, text: string | null, out: IndexEntry[]): void {
  if (system !== null || code !== null || text !== null) out.push({ table: 'token', param, system, code, text } satisfies TokenEntry);
}

function pushCoding(param: string, coding: unknown, out: IndexEntry[]): void {
  if (isObj(coding)) pushToken(param, str(coding.system), str(coding.code), normText(coding.display), out);
}

const tokenRows: Converter = (param, type, value, _ctx, out) => {
  if (typeof value === 'boolean') return pushToken(param, null, String(value), null, out);
  if (typeof value === 'string') return pushToken(param, null, str(value), null, out);
  if (!isObj(value)) return;
  switch (type) {
    case 'Coding':
      return pushCoding(param, value, out);
    case 'CodeableConcept':
      if (Array.isArray(value.coding)) for (const c of value.coding) pushCoding(param, c, out);
      return pushToken(param, null, null, normText(value.text), out);
    case 'Identifier':
      return pushIdentifier(param, value, out);
    case 'ContactPoint':
      return pushToken(param, null, str(value.value), null, out);
  }
};

function pushIdentifier(param: string, identifier: Obj, out: IndexEntry[]): void {
  const system = str(identifier.system);
  const code = str(identifier.value);
  const idType = isObj(identifier.type) ? identifier.type : {};
  const text = normText(idType.text);
  if (system === null && code === null && text === null) return;
  const types = (Array.isArray(idType.coding) ? idType.coding : [])
    .filter(isObj)
    .map((c) => `${str(c.system) ?? ''}|${str(c.code) ?? ''}`)
    .filter((t) => t !== '|');
  for (const ofType of types.length > 0 ? types : [null]) {
    out.push({ table: 'token', param, system, code, text, ofType } satisfies TokenEntry);
  }
}

// date: https://hl7.org/fhir/R4/search.html#date
function pushDate(param: string, range: DateRange | undefined, out: IndexEntry[]): void {
  if (range) out.push({ table: 'date', param, low: range.low, high: range.high } satisfies DateEntry);
}

const dateOf = (v: unknown): DateRange | undefined => (typeof v === 'string' ? parseDateRange(v) : undefined);

function periodRange(period: Obj): DateRange | undefined {
  const start = dateOf(period.start);
  const end = dateOf(period.end);
  if (!start && !end) return undefined;
  return { low: start?.low ?? MIN_TIME, high: end?.high ?? MAX_TIME };
}

/** A Timing covers its events and its bounds period ("the outer limits"). */
function timingRange(timing: Obj): DateRange | undefined {
  const ranges: DateRange[] = [];
  for (const e of strings(timing.event)) {
    const r = parseDateRange(e);
    if (r) ranges.push(r);
  }
  const repeat = isObj(timing.repeat) ? timing.repeat : undefined;
  const bounds = repeat && isObj(repeat.boundsPeriod) ? periodRange(repeat.boundsPeriod) : undefined;
  if (bounds) ranges.push(bounds);
  if (ranges.length === 0) return undefined;
  return { low: Math.min(...ranges.map((r) => r.low)), high: Math.max(...ranges.map((r) => r.high)) };
}

const dateRows: Converter = (param, type, value, _ctx, out) => {
  if (typeof value === 'string') return pushDate(param, parseDateRange(value), out);
  if (!isObj(value)) return;
  if (type === 'Period') pushDate(param, periodRange(value), out);
  else if (type === 'Timing') pushDate(param, timingRange(value), out);
};

// number: https://hl7.org/fhir/R4/search.html#number
// Stored numbers are exact: a value is the point [v, v], a Range its bounds. The implicit
// precision that R4 applies belongs to the search value (see prefixes.ts numericPredicates).
function exact(value: number): { low: number; high: number } | undefined {
  return Number.isFinite(value) ? { low: value, high: value } : undefined;
}

function rangeBounds(range: Obj): { low: number; high: number; unit: Obj | undefined } | undefined {
  const lowQ = isObj(range.low) ? range.low : undefined;
  const highQ = isObj(range.high) ? range.high : undefined;
  const low = typeof lowQ?.value === 'number' && Number.isFinite(lowQ.value) ? lowQ.value : undefined;
  const high = typeof highQ?.value === 'number' && Number.isFinite(highQ.value) ? highQ.value : undefined;
  if (low === undefined && high === undefined) return undefined;
  return { low: low ?? -OPEN_NUMBER, high: high ?? OPEN_NUMBER, unit: lowQ ?? highQ };
}

const numberRows: Converter = (param, type, value, _ctx, out) => {
  let bounds: { low: number; high: number } | undefined;
  if (typeof value === 'number') bounds = exact(value);
  else if (isObj(value) && type === 'Range') bounds = rangeBounds(value);
  if (bounds) out.push({ table: 'number', param, low: bounds.low, high: bounds.high } satisfies NumberEntry);
};

// quantity: https://hl7.org/fhir/R4/search.html#quantity
const quantityRows: Converter = (param, type, value, _ctx, out) => {
  if (!isObj(value)) return;
  if (QUANTITY_TYPES.has(type)) {
    if (typeof value.value !== 'number') return;
    const range = exact(value.value);
    if (!range) return;
    const system = str(value.system);
    const code = str(value.code) ?? str(value.unit);
    out.push({ table: 'quantity', param, low: range.low, high: range.high, system, code } satisfies QuantityEntry);
    const canonical = system === UCUM_SYSTEM && code !== null ? canonicalUnit(code) : undefined;
    if (canonical && Number.isFinite(range.low * canonical.factor) && Number.isFinite(range.high * canonical.factor)) {
      out.push({
        table: 'quantity',
        param,
        low: range.low * canonical.factor,
        high: range.high * canonical.factor,
        system: UCUM_SYSTEM,
        code: canonical.code,
        canonical: true,
      } satisfies QuantityEntry);
    }
  } else if (type === 'Money') {
    if (typeof value.value !== 'number') return;
    const range = exact(value.value);
    if (range) {
      const row: QuantityEntry = { table: 'quantity', param, low: range.low, high: range.high, system: 'urn:iso:std:iso:4217', code: str(value.currency) };
      out.push(row);
    }
  } else if (type === 'Range') {
    const bounds = rangeBounds(value);
    if (!bounds) return;
    const system = bounds.unit ? str(bounds.unit.system) : null;
    const code = bounds.unit ? (str(bounds.unit.code) ?? str(bounds.unit.unit)) : null;
    out.push({ table: 'quantity', param, low: bounds.low, high: bounds.high, system, code } satisfies QuantityEntry);
  }
};

// reference: https://hl7.org/fhir/R4/search.html#reference
function pushReference(param: string, literal: string | null, identifier: Obj | undefined, ctx: ValueContext, out: IndexEntry[]): void {
  const target = literal === null ? undefined : normalizeReference(literal, ctx.isResourceType, ctx.baseUrl);
  const identifierSystem = identifier ? str(identifier.system) : null;
  const identifierValue = identifier ? str(identifier.value) : null;
  if (!target && identifierValue === null && identifierSystem === null) return;
  out.push({
    table: 'reference',
    param,
    value: target?.value ?? null,
    targetType: target?.targetType ?? null,
    targetId: target?.targetId ?? null,
    identifierSystem,
    identifierValue,
  } satisfies ReferenceEntry);
}

const referenceRows: Converter = (param, type, value, ctx, out) => {
  if (typeof value === 'string') return pushReference(param, stripCanonicalVersion(value), undefined, ctx, out);
  if (!isObj(value)) return;
  if (type === 'Reference') {
    const identifier = isObj(value.identifier) ? value.identifier : undefined;
    return pushReference(param, str(value.reference), identifier, ctx, out);
  }
  // A resource in place of a reference (Bundle.entry[0].resource for Bundle-composition).
  const resourceType = str(value.resourceType);
  const id = str(value.id);
  if (resourceType && id) pushReference(param, `${resourceType}/${id}`, undefined, ctx, out);
};

// uri: https://hl7.org/fhir/R4/search.html#uri
const uriRows: Converter = (param, _type, value, _ctx, out) => {
  if (typeof value === 'string' && value !== '') out.push({ table: 'uri', param, value });
};

// text (_text, _content): the words of a string (text.ts); their usual sources are in TEXT_SOURCES.
const textRows: Converter = (param, _type, value, _ctx, out) => {
  if (typeof value !== 'string') return;
  const words = wordsOf(value);
  if (words.length > 0) out.push({ table: 'text', param, terms: words.join(' ') } satisfies TextEntry);
};

// position (Location.position, for near): https://hl7.org/fhir/R4/location.html#positional
const positionRows: Converter = (param, _type, value, _ctx, out) => {
  if (!isObj(value)) return;
  const { latitude, longitude } = value;
  if (typeof latitude !== 'number' || typeof longitude !== 'number') return;
  if (!(Math.abs(latitude) <= 90 && Math.abs(longitude) <= 180)) return;
  out.push({ table: 'position', param, latitude, longitude } satisfies PositionEntry);
};

/** The converter of each table that holds plain rows. */
export const CONVERTERS: Record<Exclude<IndexTable, 'composite'>, Converter> = {
  string: stringRows,
  token: tokenRows,
  date: dateRows,
  number: numberRows,
  quantity: quantityRows,
  reference: referenceRows,
  uri: uriRows,
  text: textRows,
  position: positionRows,
};

/**
 * The composite components a value gives for a component of table `table`: its rows, reduced
 * to the component fields (token: system/code; quantity: range, system, code without the
 * canonical duplicates; date/number: range; string/reference/uri: value).
 */
export function toComponents(table: Exclude<IndexTable, 'composite'>, type: string, value: unknown, ctx: ValueContext): CompositeComponent[] {
  const rows: IndexEntry[] = [];
  CONVERTERS[table]('', type, value, ctx, rows); // the parameter name of these rows is not used

  const components: CompositeComponent[] = [];
  for (const row of rows) {
    switch (row.table) {
      case 'token':
        if (row.system !== null || row.code !== null) components.push({ system: row.system, code: row.code });
        break;
      case 'quantity':
        if (!row.canonical) components.push({ system: row.system, code: row.code, low: row.low, high: row.high });
        break;
      case 'date':
      case 'number':
        components.push({ low: row.low, high: row.high });
        break;
      case 'string':
      case 'uri':
        components.push({ value: row.value });
        break;
      case 'reference':
        if (row.value !== null) components.push({ value: row.value });
        break;
      case 'composite':
      case 'text':
      case 'position':
        break;
    }
  }
  return components;
}
