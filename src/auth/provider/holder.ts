/**
 * The oidc-provider instance: its configuration, Bedside's middleware (provider/routes.ts) and
 * the RFC 7523 grant. oidc-provider fixes its keys at construction, so a key rotation builds a
 * new instance; every node polls the shared key set and swaps its instance when the set changed,
 * in-flight requests finishing on the old one.
 *
 * https://github.com/panva/node-oidc-provider/tree/main/docs#pre--and-post-middlewares
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import Provider from 'oidc-provider';
import type { Logger } from '../../log.js';
import type { RevocationNotices } from '../../security/revocation-notices.js';
import type { DocumentStore } from '../../storage/document-store.js';
import { buildProviderConfiguration, type ProviderDependencies } from './configuration.js';
import { logProviderEvents } from './events.js';
import { registerJwtBearerGrant, type JwtBearerDependencies } from './hooks/jwt-bearer-grant.js';
import { keySetVersion, loadOrCreateKeySet, type KeySet } from './keys.js';
import { providerMiddleware, type RouteMiddlewareDependencies } from './routes.js';

/** How often each node checks the shared key set for a rotation. */
export const KEY_POLL_INTERVAL_MS = 30_000;

export interface ProviderParts {
  issuer: string;
  /** TRUST_PROXY: the provider believes X-Forwarded-* (https behind a proxy). */
  trustProxy: boolean;
  configuration: ProviderDependencies;
  routes: RouteMiddlewareDependencies;
  jwtBearer: JwtBearerDependencies;
  /** Where the provider's own revocations are announced (the FHIR API's decisions listen). */
  revocations: RevocationNotices;
  logger: Logger;
}

/** A provider signing with `keySet`; `current` is whichever instance serves now (after later rotations too). */
export function createProvider(parts: ProviderParts, keySet: KeySet, current: () => Provider): Provider {
  const provider = new Provider(parts.issuer, buildProviderConfiguration(parts.configuration, keySet));
  provider.proxy = parts.trustProxy;
  for (const middleware of providerMiddleware(parts.routes, current)) provider.use(middleware);
  registerJwtBearerGrant(provider, parts.jwtBearer);
  logProviderEvents(provider, parts.logger);
  // Revocations oidc-provider makes itself: a refresh token at the revocation endpoint, logout
  // ending grants without offline_access, reuse of a rotated refresh token; and a client deleting
  // its registration (RFC 7592). Both events come after the store was changed.
  provider.on('grant.revoked', (_ctx, grantId: string) => parts.revocations.announce({ grantId }));
  provider.on('registration_delete.success', (_ctx, client) => parts.revocations.announce({ clientId: client.clientId }));
  return provider;
}

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

export interface HolderDependencies {
  /** Where the shared key set is kept. */
  documents: DocumentStore;
  logger: Logger;
  build(keySet: KeySet, current: () => Provider): Provider;
  /** Called after a swap to new keys (verifiers forget the old ones). */
  onKeysChanged(): void;
}

/** The provider this node serves with, rebuilt when the shared keys rotate. */
export class ProviderHolder {
  #provider: Provider;
  #callback: Handler;
  #version: number;
  readonly #timer: NodeJS.Timeout;

  private constructor(
    private readonly deps: HolderDependencies,
    keySet: KeySet,
  ) {
    this.#version = keySet.version;
    this.#provider = deps.build(keySet, () => this.#provider);
    this.#callback = this.#provider.callback() as Handler;
    this.#timer = setInterval(
      () => void this.reloadIfKeysChanged().catch((err: unknown) => deps.logger.error({ err }, 'key reload failed')),
      KEY_POLL_INTERVAL_MS,
    );
    this.#timer.unref();
  }

  static async create(deps: HolderDependencies): Promise<ProviderHolder> {
    return new ProviderHolder(deps, await loadOrCreateKeySet(deps.documents));
  }

  get provider(): Provider {
    return this.#provider;
  }

  /** The node:http handler of the current provider (mount it under the issuer's path). */
  handle(req: IncomingMessage, res: ServerResponse): void {
    this.#callback(req, res);
  }

  /** Swaps in a provider with the stored keys when they changed (on this or another node). */
  async reloadIfKeysChanged(): Promise<boolean> {
    const version = await keySetVersion(this.deps.documents);
    if (version === undefined || version === this.#version) return false;
    const keySet = await loadOrCreateKeySet(this.deps.documents);
    this.#provider = this.deps.build(keySet, () => this.#provider);
    this.#callback = this.#provider.callback() as Handler;
    this.#version = keySet.version;
    this.deps.onKeysChanged();
    this.deps.logger.info({ version: keySet.version }, 'signing keys reloaded');
    return true;
  }

  close(): void {
    clearInterval(this.#timer);
  }
}
