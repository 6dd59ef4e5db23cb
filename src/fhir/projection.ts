/**
 * `_summary` and `_elements`: returning part of a resource, marked SUBSETTED.
 * https://hl7.org/fhir/R4/search.html#summary and #elements
 */
import { getDataType } from '@medplum/core';
import type { Resource } from 'fhir/r4';
import { loadDefinitions } from './validation.js';

export type SummaryMode = 'true' | 'text' | 'data' | 'count' | 'false';

const SUBSETTED = { system: 'http://terminology.hl7.org/CodeSystem/v3-ObservationValue', code: 'SUBSETTED', display: 'subsetted' };
const ALWAYS = new Set(['resourceType', 'id', 'meta']);

/** The top-level JSON keys of `resource` that an element name (maybe `value[x]`) covers. */
function keysFor(resource: Record<string, unknown>, element: string): string[] {
  if (element.endsWith('[x]')) {
    const stem = element.slice(0, -3);
    return Object.keys(resource).filter((k) => k.startsWith(stem) && /^[A-Z]/.test(k.slice(stem.length)));
  }
  const keys = [element];
  if (`_${element}` in resource) keys.push(`_${element}`);
  return keys;
}

function propertySet(type: string, which: 'summaryProperties' | 'mandatoryProperties'): string[] {
  loadDefinitions();
  const schema = getDataType(type) as unknown as Record<string, Set<string> | string[] | undefined>;
  const value = schema[which];
  return value ? [...value] : [];
}

function pick(resource: Resource, elements: Iterable<string>): Resource {
  const source = resource as unknown as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(source)) if (ALWAYS.has(key)) out[key] = source[key];
  for (const element of elements) for (const key of keysFor(source, element)) if (key in source) out[key] = source[key];
  return markSubsetted(out as unknown as Resource);
}

function markSubsetted(resource: Resource): Resource {
  const meta = { ...(resource.meta ?? {}) };
  meta.tag = [...(meta.tag ?? []).filter((t) => t.code !== 'SUBSETTED'), SUBSETTED];
  return { ...resource, meta } as Resource;
}

/** Applies `_summary` (true, text, data; false and count leave the resource alone). */
export function applySummary(resource: Resource, mode: SummaryMode): Resource {
  switch (mode) {
    case 'true':
      return pick(resource, propertySet(resource.resourceType, 'summaryProperties'));
    case 'text':
      return pick(resource, ['text', ...propertySet(resource.resourceType, 'mandatoryProperties')]);
    case 'data': {
      const { text: _text, ...rest } = resource as Resource & { text?: unknown };
      return markSubsetted(rest as Resource);
    }
    default:
      return resource;
  }
}

/** Applies `_elements` (top-level element names; mandatory elements are kept, as R4 requires). */
export function applyElements(resource: Resource, elements: string[]): Resource {
  return pick(resource, [...elements, ...propertySet(resource.resourceType, 'mandatoryProperties')]);
}
