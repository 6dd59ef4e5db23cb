/**
 * batch and transaction. https://hl7.org/fhir/R4/http.html#transaction
 *
 * A transaction runs in one store transaction: every entry succeeds or nothing is written.
 * Entries are processed in the order the specification gives (DELETE, POST, PUT/PATCH, GET);
 * `urn:uuid:` and other fullUrls of created or updated entries are resolved first and rewritten
 * in every reference of every entry, and conditional references (`Patient?identifier=...`) are
 * resolved by search.
 */
import type { Bundle, BundleEntry, OperationOutcome, Resource } from 'fhir/r4';
import { parseQuery } from '../../text-decoding.js';
import { versionJson } from '../../storage/stored-version.js';
import { bundleJson, type BundleEntryJson } from '../bundle-json.js';
import { forEachReference } from '../references.js';
import { FhirError, badRequest, informational, invalidResource, multipleMatches, notFound, tooLarge } from '../../r4/errors.js';
import type { FhirContext } from '../context.js';
import { preferences, type FhirRequest, type FhirResponse, type HttpMethod } from '../request.js';
import { newResourceId } from '../resource-ids.js';
import { asFhirError } from '../storage-errors.js';
import { validateDeclaredProfiles, validateForWrite } from '../validation.js';
import { findMatches } from './conditional.js';
import { etag, withWarnings } from './respond.js';
import { putResource } from './write.js';

/** Dispatches one entry's request through the FHIR route table. */
export type Dispatch = (context: FhirContext, request: FhirRequest) => Promise<FhirResponse>;

const METHODS: HttpMethod[] = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'];
const ORDER: Record<HttpMethod, number> = { DELETE: 0, POST: 1, PUT: 2, PATCH: 2, GET: 3, HEAD: 3 };
const REASON: Record<number, string> = {
  200: 'OK',
  201: 'Created',
  204: 'No Content',
  304: 'Not Modified',
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  410: 'Gone',
  412: 'Precondition Failed',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Entity',
  500: 'Internal Server Error',
};

/** A Bundle entry's request, checked and split into path and query. */
interface EntryRequest {
  index: number;
  method: HttpMethod;
  path: string;
  query: URLSearchParams;
  entry: BundleEntry;
  resource: Resource | undefined;
}

interface EntryResult {
  status: number;
  headers: Record<string, string>;
  resourceJson?: string;
  outcome?: OperationOutcome;
}

export async function batchOrTransaction(context: FhirContext, request: FhirRequest, dispatch: Dispatch): Promise<FhirResponse> {
  const bundle = checkBundle(context, request.body);
  if (bundle.type === 'batch') return batch(context, request, bundle, dispatch);
  if (bundle.type === 'transaction') return transaction(context, request, bundle, dispatch);
  throw badRequest(`POST to the FHIR base takes a Bundle of type batch or transaction (got "${String(bundle.type)}")`);
}

function checkBundle(context: FhirContext, body: unknown): Bundle {
  if (typeof body !== 'object' || body === null || (body as Resource).resourceType !== 'Bundle') {
    throw invalidResource('POST to the FHIR base takes a Bundle of type batch or transaction');
  }
  if (context.inTransaction) throw badRequest('A Bundle cannot be nested inside a batch or transaction');
  const bundle = body as Bundle;
  if (bundle.entry !== undefined && !Array.isArray(bundle.entry)) throw invalidResource('Bundle.entry must be an array');
  const max = context.services.config.maxBundleEntries;
  if ((bundle.entry?.length ?? 0) > max) throw tooLarge(`The Bundle has ${bundle.entry!.length} entries; the limit is ${max} (MAX_BUNDLE_ENTRIES)`);
  return bundle;
}

function parseEntry(context: FhirContext, entry: BundleEntry, index: number): EntryRequest {
  const where = `Bundle.entry[${index}]`;
  if (typeof entry !== 'object' || entry === null) throw invalidResource(`${where} is not an object`);
  const req = entry.request;
  if (!req || typeof req.method !== 'string' || typeof req.url !== 'string') {
    throw new FhirError(400, 'required', `${where}.request needs a method and a url`, { expression: [`${where}.request`] });
  }
  const method = req.method.toUpperCase() as HttpMethod;
  if (!METHODS.includes(method)) throw badRequest(`${where}.request.method "${String(req.method).slice(0, 20)}" is not an HTTP method FHIR uses`);
  let url = req.url.trim();
  const base = context.services.config.fhirBaseUrl;
  if (url.startsWith(`${base}/`)) url = url.slice(base.length + 1);
  else if (/^[a-z][a-z0-9+.-]*:/i.test(url)) throw badRequest(`${where}.request.url must be relative to this server's base (got "${url.slice(0, 100)}")`);
  url = url.replace(/^\/+/, '');
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  const query = parseQuery(q < 0 ? '' : url.slice(q + 1), badRequest, `${where}.request.url`);
  if (path === '' && method === 'POST') throw badRequest(`${where}: a Bundle cannot be nested inside a batch or transaction`);
  const resource = entry.resource;
  if ((method === 'POST' || method === 'PUT') && (typeof resource !== 'object' || resource === null)) {
    throw new FhirError(400, 'required', `${where}: ${method} needs a resource`, { expression: [`${where}.resource`] });
  }
  return { index, method, path, query, entry, resource };
}

function entryFhirRequest(outer: FhirRequest, e: EntryRequest): FhirRequest {
  const req = e.entry.request!;
  const headers: FhirRequest['headers'] = { 'content-type': 'application/fhir+json' };
  if (req.ifMatch) headers['if-match'] = req.ifMatch;
  if (req.ifNoneMatch) headers['if-none-match'] = req.ifNoneMatch;
  if (req.ifNoneExist) headers['if-none-exist'] = req.ifNoneExist;
  if (req.ifModifiedSince) headers['if-modified-since'] = req.ifModifiedSince;
  if (outer.headers.prefer) headers.prefer = outer.headers.prefer;
  return { method: e.method, path: e.path, query: e.query, headers, body: e.resource, params: {}, fromBundle: true };
}

async function batch(context: FhirContext, request: FhirRequest, bundle: Bundle, dispatch: Dispatch): Promise<FhirResponse> {
  const results: EntryResult[] = [];
  const duplicates = duplicateFullUrls(bundle.entry ?? []);
  for (const [index, entry] of (bundle.entry ?? []).entries()) {
    try {
      const others = duplicates.get(index);
      if (others) throw duplicateFullUrl(entry, index, others);
      const parsed = parseEntry(context, entry, index);
      results.push(toResult(await dispatch(context, entryFhirRequest(request, parsed))));
    } catch (thrown) {
      const error = asFhirError(thrown);
      if (!error) throw thrown;
      results.push({ status: error.status, headers: {}, outcome: error.toOperationOutcome() });
    }
  }
  return responseBundle('batch-response', results);
}

async function transaction(context: FhirContext, request: FhirRequest, bundle: Bundle, dispatch: Dispatch): Promise<FhirResponse> {
  const duplicate = duplicateFullUrls(bundle.entry ?? [])
    .entries()
    .next().value;
  if (duplicate) throw duplicateFullUrl(bundle.entry![duplicate[0]]!, duplicate[0], duplicate[1]);
  const entries = (bundle.entry ?? []).map((entry, index) => parseEntry(context, entry, index));
  checkDuplicateTargets(entries);
  const includeResources = preferences(request).return === 'representation';
  const results = await context.store.transaction(async (tx) => {
    const txContext: FhirContext = { ...context, store: tx, inTransaction: true };
    const plan = await resolveIdentities(txContext, entries);
    checkResolvedOverlaps(entries, plan);
    await rewriteReferences(txContext, entries, plan.targets);
    const out: EntryResult[] = new Array(entries.length);
    const ordered = [...entries].sort((a, b) => ORDER[a.method] - ORDER[b.method] || a.index - b.index);
    for (const e of ordered) {
      try {
        out[e.index] = await runEntry(txContext, request, e, plan, dispatch, includeResources);
      } catch (thrown) {
        const error = asFhirError(thrown);
        if (!error) throw thrown;
        error.issues[0]!.diagnostics = `Bundle.entry[${e.index}] (${e.method} ${e.path}): ${error.issues[0]!.diagnostics}`;
        error.issues[0]!.expression ??= [`Bundle.entry[${e.index}]`];
        throw error;
      }
    }
    return out;
  });
  return responseBundle('transaction-response', results);
}

/** What each POST / conditional PUT entry resolved to before anything is written. */
interface IdentityPlan {
  /** fullUrl (and `Type/id` of PUTs) → `Type/id` to write in references. */
  targets: Map<string, string>;
  /** Entry index → id assigned to a POST, or the existing match of an If-None-Exist. */
  created: Map<number, { id: string; existing?: boolean }>;
  /** Entry index → id a conditional PUT resolved to (`assigned`: a fresh id from the server, no match). */
  conditional: Map<number, { id: string; assigned: boolean }>;
  /** Entry index → `Type/id` the single match of a conditional DELETE or PATCH (checked for overlaps). */
  matched: Map<number, string>;
}

async function resolveIdentities(context: FhirContext, entries: EntryRequest[]): Promise<IdentityPlan> {
  const plan: IdentityPlan = { targets: new Map(), created: new Map(), conditional: new Map(), matched: new Map() };
  for (const e of entries) {
    const fullUrl = e.entry.fullUrl;
    const type = e.path.split('/')[0]!;
    if (e.method === 'POST') {
      let id: string = newResourceId();
      let existing = false;
      const ifNoneExist = e.entry.request?.ifNoneExist;
      if (ifNoneExist) {
        const matches = await findMatches(context, type, ifNoneExist);
        if (matches.length > 1) throw multipleMatches(`Bundle.entry[${e.index}]: ifNoneExist "${ifNoneExist}" matches ${matches.length} resources`);
        if (matches[0]) {
          id = matches[0].id;
          existing = true;
        }
      }
      plan.created.set(e.index, { id, existing });
      if (fullUrl) plan.targets.set(fullUrl, `${type}/${id}`);
    } else if (e.method === 'PUT' && e.query.size > 0 && !e.path.includes('/')) {
      const matches = await findMatches(context, type, e.query.toString());
      if (matches.length > 1) throw multipleMatches(`Bundle.entry[${e.index}]: the criteria match ${matches.length} resources`);
      const assigned = !matches[0] && e.resource?.id === undefined;
      const id = matches[0]?.id ?? e.resource?.id ?? newResourceId();
      plan.conditional.set(e.index, { id, assigned });
      if (fullUrl) plan.targets.set(fullUrl, `${type}/${id}`);
    } else if (e.method === 'PUT' && fullUrl) {
      plan.targets.set(fullUrl, e.path);
    } else if ((e.method === 'DELETE' || e.method === 'PATCH') && e.query.size > 0 && !e.path.includes('/')) {
      // Resolved again when the entry runs (in this transaction); here only for the overlap check.
      const matches = await findMatches(context, type, e.query.toString());
      if (matches.length === 1) plan.matched.set(e.index, `${type}/${matches[0]!.id}`);
    }
  }
  return plan;
}

/**
 * Replaces every `reference` that names a resolved fullUrl, and resolves conditional references
 * (`Type?criteria`, exactly one match required). Walks each resource once, in place.
 */
async function rewriteReferences(context: FhirContext, entries: EntryRequest[], targets: Map<string, string>): Promise<void> {
  const conditional = new Map<string, string>();
  const pending: Array<{ holder: Record<string, unknown>; value: string; index: number }> = [];
  const visit = (resource: unknown, index: number): void =>
    forEachReference(resource, (holder) => {
      const value = holder.reference;
      const target = targets.get(value);
      if (target) holder.reference = target;
      else if (/^[A-Z][A-Za-z]+\?/.test(value)) pending.push({ holder, value, index });
      else if (value.startsWith('urn:uuid:') || value.startsWith('urn:oid:')) {
        throw badRequest(`Bundle.entry[${index}]: reference "${value}" does not match the fullUrl of any entry`);
      }
    });
  for (const e of entries) if (e.resource) visit(e.resource, e.index);
  for (const item of pending) {
    let target = conditional.get(item.value);
    if (!target) {
      const q = item.value.indexOf('?');
      const type = item.value.slice(0, q);
      const matches = await findMatches(context, type, item.value.slice(q + 1));
      if (matches.length !== 1) {
        const msg = `Bundle.entry[${item.index}]: conditional reference "${item.value.slice(0, 200)}" matches ${matches.length} resources (exactly one is required)`;
        throw matches.length === 0 ? notFound(msg) : multipleMatches(msg);
      }
      target = `${type}/${matches[0]!.id}`;
      conditional.set(item.value, target);
    }
    item.holder.reference = target;
  }
}

async function runEntry(
  context: FhirContext,
  outer: FhirRequest,
  e: EntryRequest,
  plan: IdentityPlan,
  dispatch: Dispatch,
  includeResources: boolean,
): Promise<EntryResult> {
  if (e.method === 'POST') {
    const type = e.path;
    if (type.includes('/')) return toResult(await dispatch(context, entryFhirRequest(outer, e)), includeResources);
    context.policy.assertAllowed(type, 'create');
    const created = plan.created.get(e.index)!;
    const base = context.services.config.fhirBaseUrl;
    if (created.existing) {
      const existing = await context.store.read(type, created.id);
      const versionId = existing?.versionId ?? '1';
      return { status: 200, headers: { location: `${base}/${type}/${created.id}/_history/${versionId}`, etag: etag(versionId) } };
    }
    const resource = validateForWrite(e.resource, type);
    const warnings = await validateDeclaredProfiles(context, resource);
    const version = await putResource(context, { ...resource, id: created.id } as Resource, 'POST', { mustBeNew: true });
    return {
      status: 201,
      headers: { location: `${base}/${type}/${created.id}/_history/${version.versionId}`, etag: etag(version.versionId), 'last-modified': version.lastUpdated },
      ...(includeResources ? { resourceJson: versionJson(version)! } : {}),
      ...(warnings.length > 0 ? { outcome: withWarnings(informational(`Created ${type}/${created.id}`), warnings) } : {}),
    };
  }
  const conditional = plan.conditional.get(e.index);
  const request = entryFhirRequest(outer, e);
  if (conditional !== undefined) {
    request.path = `${e.path}/${conditional.id}`;
    request.query = new URLSearchParams();
    request.body = { ...(e.resource as Resource), id: conditional.id };
    if (conditional.assigned) request.assignedId = true;
  }
  return toResult(await dispatch(context, request), includeResources || e.method === 'GET' || e.method === 'HEAD');
}

/**
 * bdl-7: a fullUrl appears once in a Bundle, unless its entries carry different
 * `resource.meta.versionId` (https://hl7.org/fhir/R4/bundle.html#invs). Entry index → the other
 * entries with the same fullUrl, in Bundle order.
 */
function duplicateFullUrls(entries: readonly BundleEntry[]): Map<number, number[]> {
  const byKey = new Map<string, number[]>();
  entries.forEach((entry, index) => {
    const fullUrl = (entry as BundleEntry | null)?.fullUrl;
    if (typeof fullUrl !== 'string') return;
    const versionId = entry.resource?.meta?.versionId;
    const key = `${fullUrl}\u0000${typeof versionId === 'string' ? versionId : ''}`;
    byKey.set(key, [...(byKey.get(key) ?? []), index]);
  });
  const duplicates = new Map<number, number[]>();
  for (const indexes of byKey.values()) {
    if (indexes.length < 2) continue;
    for (const index of indexes)
      duplicates.set(
        index,
        indexes.filter((i) => i !== index),
      );
  }
  return duplicates;
}

function duplicateFullUrl(entry: BundleEntry, index: number, others: number[]): FhirError {
  const where = others.map((i) => `Bundle.entry[${i}]`).join(', ');
  return new FhirError(
    400,
    'invariant',
    `Bundle.entry[${index}].fullUrl "${String(entry.fullUrl).slice(0, 200)}" is also the fullUrl of ${where} (bdl-7: fullUrl must be unique in a Bundle)`,
    {
      expression: [`Bundle.entry[${index}].fullUrl`, ...others.map((i) => `Bundle.entry[${i}].fullUrl`)],
    },
  );
}

/**
 * Identities resolved by conditional update, delete and patch may not overlap another entry's
 * (R4 http.html#trules: "If any resource identities (including resolved identities from
 * conditional update/delete) overlap in steps 1-3, then the transaction SHALL fail").
 */
function checkResolvedOverlaps(entries: EntryRequest[], plan: IdentityPlan): void {
  const seen = new Map<string, number>();
  for (const e of entries) {
    if (e.method !== 'PUT' && e.method !== 'DELETE' && e.method !== 'PATCH') continue;
    const conditional = plan.conditional.get(e.index);
    const identity = conditional !== undefined ? `${e.path}/${conditional.id}` : (plan.matched.get(e.index) ?? (e.query.size === 0 ? e.path : undefined));
    if (identity === undefined) continue;
    const previous = seen.get(identity);
    if (previous !== undefined) {
      throw badRequest(
        `Bundle.entry[${e.index}] and Bundle.entry[${previous}] both change ${identity} (one of them through its search criteria); a transaction may touch a resource once`,
      );
    }
    seen.set(identity, e.index);
  }
}

/** Two entries writing the same resource make the outcome order-dependent: R4 forbids it. */
function checkDuplicateTargets(entries: EntryRequest[]): void {
  const seen = new Map<string, number>();
  for (const e of entries) {
    if (e.method !== 'PUT' && e.method !== 'DELETE' && e.method !== 'PATCH') continue;
    if (e.query.size > 0) continue;
    const previous = seen.get(e.path);
    if (previous !== undefined) {
      throw badRequest(`Bundle.entry[${e.index}] and Bundle.entry[${previous}] both change ${e.path}; a transaction may touch a resource once`);
    }
    seen.set(e.path, e.index);
  }
}

function toResult(response: FhirResponse, includeResource = true): EntryResult {
  const result: EntryResult = { status: response.status, headers: response.headers, ...(response.outcome ? { outcome: response.outcome } : {}) };
  if (response.body && includeResource) {
    if ('json' in response.body) result.resourceJson = response.body.json as string;
    else if (response.body.resourceType === 'OperationOutcome') result.outcome = response.body as OperationOutcome;
    else result.resourceJson = JSON.stringify(response.body);
  }
  return result;
}

function responseBundle(type: 'batch-response' | 'transaction-response', results: EntryResult[]): FhirResponse {
  const entries: BundleEntryJson[] = results.map((r) => {
    const location = r.headers.location;
    return {
      ...(r.resourceJson !== undefined ? { resourceJson: r.resourceJson } : {}),
      rest: {
        response: {
          status: `${r.status} ${REASON[r.status] ?? ''}`.trim(),
          ...(location ? { location } : {}),
          ...(r.headers.etag ? { etag: r.headers.etag } : {}),
          ...(r.headers['last-modified'] ? { lastModified: toInstantHeader(r.headers['last-modified']) } : {}),
          ...(r.outcome ? { outcome: r.outcome } : {}),
        },
      },
    };
  });
  return { status: 200, headers: {}, body: { json: bundleJson(type, { entries }) } };
}

function toInstantHeader(value: string): string {
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? value : new Date(ms).toISOString();
}
