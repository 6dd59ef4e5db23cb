/**
 * History as a restricted principal sees it: the store's history filtered version by version,
 * paged by what the principal may see and by nothing else. A window that holds only other
 * patients' writes answers exactly as an empty window: no entries, no `next` link, no total, and
 * the cursor names only the last version the principal was shown.
 *
 * - A page ends after `limit` visible versions; it has a `next` link only when one more visible
 *   version exists (the scan looks one ahead), never because the store had more rows.
 * - The cursor holds the last shown version's time and `Type/id/version`, never the store's own
 *   paging key (row ids and write counts would tell how many writes happened in between).
 *   The next page resumes the store's history at that time and skips up to that version.
 * - The scan reads at most MAX_SCANNED_VERSIONS versions per page; past that the request is
 *   refused as too costly (it reveals only that the window holds that many writes), with the
 *   advice to narrow it with `_since`/`_at`.
 *
 * https://hl7.org/fhir/R4/http.html#history
 */
import { FhirError } from '../r4/errors.js';
import { FHIR_ID } from '../r4/ids.js';
import { decodeCursor, encodeCursor } from '../storage/cursor.js';
import type { HistoryPage, HistoryRequest, StoredVersion } from '../storage/resource-store.js';

/** Store rows read per step of the scan. */
const RAW_PAGE = 500;
/** Versions the scan reads for one answer before it gives up. */
export const MAX_SCANNED_VERSIONS = 1_000_000;

const VERSION_KEY = new RegExp(`^[A-Za-z]{1,64}\\/${FHIR_ID}\\/[0-9]{1,12}$`);

export interface HistorySource {
  /** The store's history, unfiltered. */
  history(request: HistoryRequest): Promise<HistoryPage>;
}

/** The history page of `request` holding only versions `visible` accepts. */
export async function visibleHistory(
  source: HistorySource,
  request: HistoryRequest,
  visible: (version: StoredVersion) => Promise<boolean>,
): Promise<HistoryPage> {
  if (request.limit <= 0) return { versions: [] };
  const position = request.cursor ? decodeCursor(request.cursor, 1, (key): key is string => typeof key === 'string' && VERSION_KEY.test(key)) : undefined;
  const resumeAt = position ? Number(position.values[0]) : undefined;
  if (resumeAt !== undefined && !Number.isFinite(resumeAt)) throw invalidCursor();
  const before = resumeAt === undefined ? request.before : Math.min(resumeAt, request.before ?? Number.POSITIVE_INFINITY);
  let skipping = position !== undefined;
  const found: StoredVersion[] = [];
  let scanned = 0;
  let storeCursor: string | undefined;
  for (;;) {
    const page = await source.history({
      ...(request.resourceType ? { resourceType: request.resourceType } : {}),
      ...(request.id ? { id: request.id } : {}),
      ...(request.since !== undefined ? { since: request.since } : {}),
      ...(before !== undefined ? { before } : {}),
      limit: RAW_PAGE,
      ...(storeCursor ? { cursor: storeCursor } : {}),
    });
    for (const version of page.versions) {
      scanned++;
      if (skipping) {
        // Versions at the cursor's time come in the store's order: skip through the last one shown.
        if (Date.parse(version.lastUpdated) === resumeAt) {
          if (keyOf(version) === position!.key) skipping = false;
          continue;
        }
        skipping = false;
      }
      if (await visible(version)) {
        found.push(version);
        if (found.length > request.limit) break;
      }
    }
    if (found.length > request.limit || !page.next) break;
    if (scanned >= MAX_SCANNED_VERSIONS) {
      throw new FhirError(
        400,
        'too-costly',
        `This history holds more than ${MAX_SCANNED_VERSIONS} versions to look through for one page: narrow it with _since and _at`,
      );
    }
    storeCursor = page.next;
  }
  const versions = found.slice(0, request.limit);
  const last = versions[versions.length - 1];
  return {
    versions,
    ...(found.length > request.limit && last ? { next: encodeCursor({ direction: 'after', values: [Date.parse(last.lastUpdated)], key: keyOf(last) }) } : {}),
  };
}

function keyOf(version: StoredVersion): string {
  return `${version.resourceType}/${version.id}/${version.versionId}`;
}

function invalidCursor(): FhirError {
  return new FhirError(400, 'invalid', 'The paging cursor (_cursor) is not valid for this history; start again from the first page');
}
