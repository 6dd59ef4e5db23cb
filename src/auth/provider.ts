/**
 * The oidc-provider instance: configuration, Bedside's koa middleware (in the order they wrap the
 * provider) and the RFC 7523 grant. oidc-provider fixes its keys at construction, so a key
 * rotation builds a new instance; every node polls the shared key set and swaps its instance
 * when the set changed, in-flight requests finishing on the old one.
 *
 * https://github.com/panva/node-oidc-provider/tree/main/docs#pre--and-post-middlewares
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Middleware } from 'koa';
import Provider from 'oidc-provider';
import { issuerOf } from './endpoints.js';
import { registerJwtBearerGrant } from './jwt-bearer-grant.js';
import { keySetVersion, loadOrCreateKeySet, type KeySet } from './keys.js';
import { smartIntrospection } from './middleware/introspection.js';
import { refusePasswordGrant } from './middleware/password-grant.js';
import { registeredScopeAsScope } from './middleware/registration-scope.js';
import { jwtRevocation } from './middleware/revocation.js';
import { secureCookies } from './middleware/secure-cookies.js';
import { smartTokenResponse } from './middleware/token-response.js';
import { jwtUserinfo } from './oidc/userinfo.js';
import { buildProviderConfiguration } from './provider-config.js';
import { logProviderEvents } from './provider-events.js';
import type { AuthServices } from './services.js';

/** How often each node checks the shared key set for a rotation. */
export const KEY_POLL_INTERVAL_MS = 30_000;

function createProvider(services: AuthServices, keySet: KeySet, current: () => Provider): Provider {
  const provider = new Provider(issuerOf(services.config), buildProviderConfiguration(services, keySet));
  provider.proxy = services.config.trustProxy;
  const middleware: Middleware[] = [
    secureCookies(services.secureCookies),
    refusePasswordGrant(),
    smartTokenResponse(services.launches),
    smartIntrospection(services, current),
    jwtRevocation(services),
    jwtUserinfo(services, current),
    registeredScopeAsScope(),
  ];
  for (const m of middleware) provider.use(m);
  registerJwtBearerGrant(provider, services);
  logProviderEvents(provider, services.logger);
  // Revocations oidc-provider makes itself: a refresh token at the revocation endpoint, logout
  // ending grants without offline_access, reuse of a rotated refresh token; and a client deleting
  // its registration (RFC 7592). Both events come after the store was changed.
  provider.on('grant.revoked', (_ctx, grantId: string) => services.revocations.announce({ grantId }));
  provider.on('registration_delete.success', (_ctx, client) => services.revocations.announce({ clientId: client.clientId }));
  return provider;
}

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/** The provider this node serves with, rebuilt when the shared keys rotate. */
export class ProviderHolder {
  #provider: Provider;
  #callback: Handler;
  #version: number;
  readonly #timer: NodeJS.Timeout;

  private constructor(
    private readonly services: AuthServices,
    keySet: KeySet,
  ) {
    this.#version = keySet.version;
    this.#provider = createProvider(services, keySet, () => this.#provider);
    this.#callback = this.#provider.callback() as Handler;
    this.#timer = setInterval(() => void this.reloadIfKeysChanged().catch((err: unknown) => services.logger.error({ err }, 'key reload failed')), KEY_POLL_INTERVAL_MS);
    this.#timer.unref();
  }

  static async create(services: AuthServices): Promise<ProviderHolder> {
    return new ProviderHolder(services, await loadOrCreateKeySet(services.documents));
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
    const version = await keySetVersion(this.services.documents);
    if (version === undefined || version === this.#version) return false;
    const keySet = await loadOrCreateKeySet(this.services.documents);
    this.#provider = createProvider(this.services, keySet, () => this.#provider);
    this.#callback = this.#provider.callback() as Handler;
    this.#version = keySet.version;
    this.services.verifier.reset();
    this.services.issuedTokens.reset();
    this.services.logger.info({ version: keySet.version }, 'signing keys reloaded');
    return true;
  }

  close(): void {
    clearInterval(this.#timer);
  }
}
