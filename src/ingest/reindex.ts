/**
 * Start-up reindexing: the stored index rows follow the search layer's extraction. When the
 * store's recorded index version (ResourceStore.indexVersion) is not the extraction's
 * INDEX_VERSION — a database written before full-text and position rows existed, or one never
 * stamped — every live resource is reindexed, type by type, before the server answers
 * searches, and the new version is recorded. The resources themselves are not rewritten (no new
 * versions). Safe to repeat: a run that stops halfway leaves the old version recorded, and the
 * next start does it again.
 */
import type { Resource } from 'fhir/r4';
import type { Logger } from '../log.js';
import { INDEX_VERSION } from '../search/extract.js';
import type { ResourceStore } from '../storage/resource-store.js';
import type { IndexEntry } from '../storage/search-index.js';

export interface ReindexReport {
  /** The version the rows had, and the one they have now. */
  from: number;
  to: number;
  /** Resources reindexed, and how long it took. */
  resources: number;
  ms: number;
}

/** Reindexes every live resource when the store's index version is not INDEX_VERSION; undefined when it is. */
export async function reindexIfOutdated(options: {
  resources: ResourceStore;
  index: (resource: Resource) => IndexEntry[];
  logger: Logger;
}): Promise<ReindexReport | undefined> {
  const { resources, index, logger } = options;
  const from = await resources.indexVersion();
  if (from === INDEX_VERSION) return undefined;
  const started = performance.now();
  const counts = await resources.countByType();
  const total = Object.values(counts).reduce((a, b) => a + b, 0);
  if (total > 0)
    logger.info({ from, to: INDEX_VERSION, resources: total }, 'the search index is from another version: reindexing every resource before serving');
  let done = 0;
  for (const [resourceType, count] of Object.entries(counts)) {
    done += await resources.reindex({ resourceType, index });
    if (count > 10_000) logger.info({ resourceType, done, of: total }, 'reindexing');
  }
  await resources.setIndexVersion(INDEX_VERSION);
  const report = { from, to: INDEX_VERSION, resources: done, ms: Math.round(performance.now() - started) };
  if (total > 0) logger.info(report, 'search index rebuilt');
  return report;
}
