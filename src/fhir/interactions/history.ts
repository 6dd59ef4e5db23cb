/**
 * history at instance, type and system level, newest first, with `_since`, `_at`, `_count`
 * and cursor paging. https://hl7.org/fhir/R4/http.html#history
 */
import type { StoredVersion } from '../../storage/resource-store.js';
import { versionJson } from '../../storage/stored-version.js';
import { bundleJson, pageUrl, withCursor, type BundleLink } from '../bundle-json.js';
import { badRequest, notFound } from '../../r4/errors.js';
import type { FhirContext } from '../context.js';
import type { FhirRequest, FhirResponse } from '../request.js';
import { assertValidId } from '../validation.js';
import { etag } from './respond.js';
import { parseInstantParam } from './params.js';

const STATUS: Record<StoredVersion['method'], string> = {
  POST: '201 Created',
  PUT: '200 OK',
  PATCH: '200 OK',
  DELETE: '204 No Content',
};

export async function history(context: FhirContext, request: FhirRequest): Promise<FhirResponse> {
  const { type, id } = request.params;
  context.policy.assertAllowed(type, id ? 'read' : 'search');
  if (id !== undefined) assertValidId(id);
  const query = request.query;
  const config = context.services.config;
  const countParam = query.get('_count');
  let limit = config.defaultPageSize;
  if (countParam !== null) {
    if (!/^\d+$/.test(countParam)) throw badRequest(`_count must be a non-negative integer (got "${countParam.slice(0, 20)}")`);
    limit = Math.min(Number(countParam), config.maxPageSize);
  }
  const since = query.get('_since');
  const at = query.get('_at');
  for (const name of query.keys()) {
    if (!['_count', '_since', '_at', '_cursor', '_format', '_pretty'].includes(name)) {
      throw badRequest(`Unknown parameter "${name.slice(0, 60)}" for history (supported: _count, _since, _at)`);
    }
  }
  const page = await context.store.history({
    ...(type ? { resourceType: type } : {}),
    ...(id ? { id } : {}),
    ...(since !== null ? { since: parseInstantParam('_since', since).low } : {}),
    ...(at !== null ? { before: parseInstantParam('_at', at).high } : {}),
    limit: Math.max(limit, 1),
    ...(query.get('_cursor') ? { cursor: query.get('_cursor')! } : {}),
  });
  if (id !== undefined && page.versions.length === 0 && !query.get('_cursor') && since === null && at === null) {
    throw notFound(`${type}/${id} is not known`);
  }
  const base = config.fhirBaseUrl;
  const links: BundleLink[] = [{ relation: 'self', url: pageUrl(base, request.path, query) }];
  if (page.next) links.push({ relation: 'next', url: pageUrl(base, request.path, withCursor(query, page.next)) });
  const versions = limit === 0 ? [] : page.versions;
  const body = bundleJson('history', {
    ...(page.total !== undefined ? { total: page.total } : {}),
    links,
    entries: versions.map((v) => ({
      fullUrl: `${base}/${v.resourceType}/${v.id}`,
      ...(v.deleted ? {} : { resourceJson: versionJson(v)! }),
      rest: {
        request: { method: v.method === 'PATCH' ? 'PATCH' : v.method, url: v.method === 'POST' ? v.resourceType : `${v.resourceType}/${v.id}` },
        response: { status: STATUS[v.method], etag: etag(v.versionId), lastModified: v.lastUpdated },
      },
    })),
  });
  return { status: 200, headers: {}, body: { json: body } };
}
