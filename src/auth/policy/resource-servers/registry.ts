/**
 * The resource servers this issuer mints tokens for, besides the FHIR API: those fixed by
 * RESOURCE_SERVERS and those operators registered (collection `auth.resource-servers`, shared by
 * every node). oidc-provider asks about them asynchronously (`getResourceServerInfo`), but client
 * registration validates a client's `scope` synchronously, so the registry also keeps a snapshot,
 * refreshed after every change on this node and polled from the store (other nodes' changes).
 *
 * https://www.rfc-editor.org/rfc/rfc8707
 */
import type { DocumentStore } from '../../../storage/document-store.js';
import type { ResourceServerSetting } from '../../../config/resource-servers.js';

export const RESOURCE_SERVER_COLLECTION = 'auth.resource-servers';
/** How often each node re-reads the registered resource servers. */
export const RESOURCE_SERVER_POLL_MS = 30_000;
const REFRESH_ON_MISS_AFTER_MS = 1000;

export interface ResourceServer extends ResourceServerSetting {
  /** `config`: from RESOURCE_SERVERS (read-only); `operator`: registered at run time. */
  source: 'config' | 'operator';
  updatedAt?: number;
}

/** `https://api.example.org` and `https://api.example.org/` name the same resource. */
export function normalizeIdentifier(identifier: string): string | undefined {
  return URL.parse(identifier)?.href;
}

export class ResourceServerRegistry {
  readonly #collection;
  readonly #configured: Map<string, ResourceServer>;
  #snapshot: Map<string, ResourceServer>;
  #loadedAt = 0;
  #timer: NodeJS.Timeout | undefined;

  constructor(documents: DocumentStore, configured: readonly ResourceServerSetting[]) {
    this.#collection = documents.collection<ResourceServerSetting & { updatedAt: number }>(RESOURCE_SERVER_COLLECTION);
    this.#configured = new Map(configured.map((r) => [r.identifier, { ...r, source: 'config' as const }]));
    this.#snapshot = new Map(this.#configured);
  }

  /** Re-reads the operator-registered servers (configured ones win on a clash). */
  async refresh(): Promise<void> {
    const stored = await this.#collection.list({ limit: 1000 });
    const next = new Map<string, ResourceServer>();
    for (const doc of stored) next.set(doc.value.identifier, { ...doc.value, source: 'operator' });
    for (const [id, rs] of this.#configured) next.set(id, rs);
    this.#snapshot = next;
    this.#loadedAt = Date.now();
  }

  /** Starts polling the store (unref'd timer); `stop()` ends it. */
  startPolling(onError: (error: unknown) => void): void {
    this.#timer ??= setInterval(() => void this.refresh().catch(onError), RESOURCE_SERVER_POLL_MS);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  list(): ResourceServer[] {
    return [...this.#snapshot.values()];
  }

  /** The resource server named by `identifier`; re-reads the store once when it is unknown here. */
  async get(identifier: string): Promise<ResourceServer | undefined> {
    const key = normalizeIdentifier(identifier);
    if (!key) return undefined;
    const known = this.#snapshot.get(key);
    if (known || Date.now() - this.#loadedAt < REFRESH_ON_MISS_AFTER_MS) return known;
    await this.refresh();
    return this.#snapshot.get(key);
  }

  /** Synchronous, from the snapshot: whether some resource server defines this scope. */
  definesScope(scope: string): boolean {
    for (const rs of this.#snapshot.values()) if (Object.hasOwn(rs.scopes, scope)) return true;
    return false;
  }

  isConfigured(identifier: string): boolean {
    return this.#configured.has(identifier);
  }

  /** Registers or replaces an operator-registered resource server (the caller validated it). */
  async put(setting: ResourceServerSetting): Promise<void> {
    if (this.#configured.has(setting.identifier)) throw new Error(`${setting.identifier} is fixed by RESOURCE_SERVERS and cannot be changed here`);
    await this.#collection.put(setting.identifier, { ...setting, updatedAt: Date.now() });
    await this.refresh();
  }

  async remove(identifier: string): Promise<boolean> {
    const removed = await this.#collection.delete(identifier);
    await this.refresh();
    return removed;
  }
}
