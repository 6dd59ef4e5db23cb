/**
 * Signing in through an upstream OpenID provider, with openid-client as the relying party:
 * authorization code with PKCE, `state` and `nonce`, the id_token validated (and userinfo read
 * for claims it lacks), then the account linked (linking.ts) and the Bedside interaction finished
 * as a normal sign-in.
 *
 * The three legs:
 * 1. `begin`: from Bedside's sign-in page (an interaction), to the provider.
 * 2. `callback`: the provider sends the browser back to `${issuer}/federation/<id>/callback`;
 *    the code is exchanged and the result kept for a few minutes under the `state`.
 * 3. `complete`: back at `/oauth/interaction/<uid>/federated`, where oidc-provider's interaction
 *    cookie proves it is the same browser that began (a callback URL sent to someone else leads
 *    nowhere), the account is linked and signed in.
 *
 * https://github.com/panva/openid-client (v6)
 * https://openid.net/specs/openid-connect-core-1_0.html#CodeFlowAuth
 */
import * as client from 'openid-client';
import { errorReasons, type Logger } from '../../../log.js';
import type { OutboundFetch } from '../../../security/outbound-fetch.js';
import type { DocumentStore } from '../../../storage/document-store.js';
import { isLoopbackHost } from '../../../config.js';
import type { AccountStore } from '../account-store.js';
import type { PatientDirectory } from '../../../directory/patient-directory.js';
import { FederatedIdentities } from './identities.js';
import { linkAccount, type LinkResult, type UpstreamClaims } from './linking.js';
import type { FederationProvider } from '../../../config/federation.js';

export const FEDERATION_STATE_COLLECTION = 'auth.federation-states';
/** Path of the callbacks below the issuer: `/federation/<id>/callback`. */
export const FEDERATION_PATH = '/federation';
const STATE_TTL_MS = 10 * 60 * 1000;

interface PendingSignIn {
  uid: string;
  provider: string;
  verifier: string;
  nonce: string;
  /** Set by the callback. */
  claims?: UpstreamClaims;
  error?: { error: string; description: string };
}

export class FederationError extends Error {
  constructor(
    readonly code: 'unknown-provider' | 'unknown-state' | 'upstream',
    message: string,
  ) {
    super(message);
    this.name = 'FederationError';
  }
}

export interface FederationDependencies {
  providers: readonly FederationProvider[];
  issuer: string;
  documents: DocumentStore;
  accounts: AccountStore;
  directory: PatientDirectory;
  logger: Logger;
  /** Discovery, JWKS, token and userinfo requests to the providers go through it. */
  fetch: OutboundFetch;
}

export interface BeginOptions {
  loginHint?: string;
  /** Ask the provider to authenticate again (prompt=login or an exceeded max_age at Bedside). */
  forceLogin?: boolean;
  maxAge?: number;
}

export class Federation {
  readonly #configurations = new Map<string, Promise<client.Configuration>>();
  readonly #states;
  readonly identities: FederatedIdentities;

  constructor(private readonly deps: FederationDependencies) {
    this.#states = deps.documents.collection<PendingSignIn>(FEDERATION_STATE_COLLECTION);
    this.identities = new FederatedIdentities(deps.documents);
  }

  get providers(): readonly FederationProvider[] {
    return this.deps.providers;
  }

  provider(id: string): FederationProvider | undefined {
    return this.deps.providers.find((p) => p.id === id);
  }

  callbackUrl(provider: FederationProvider): string {
    return `${this.deps.issuer}${FEDERATION_PATH}/${provider.id}/callback`;
  }

  /** The provider's discovered configuration (read once; retried after a failure). */
  #configuration(provider: FederationProvider): Promise<client.Configuration> {
    let pending = this.#configurations.get(provider.id);
    if (!pending) {
      const issuer = new URL(provider.issuer);
      const insecure = issuer.protocol === 'http:' && isLoopbackHost(issuer.hostname);
      // The fetch given here is the configuration's for every later request too (token, userinfo, JWKS).
      pending = client.discovery(issuer, provider.clientId, undefined, client.ClientSecretBasic(provider.clientSecret), {
        [client.customFetch]: this.deps.fetch,
        ...(insecure ? { execute: [client.allowInsecureRequests] } : {}),
      });
      pending.catch(() => this.#configurations.delete(provider.id));
      this.#configurations.set(provider.id, pending);
    }
    return pending;
  }

  /**
   * Where the sign-in buttons lead: each provider's authorization endpoint, for the sign-in
   * page's `form-action`; its issuer when discovery fails or takes longer than `waitMs` (the page
   * is not held up by a provider that does not answer).
   */
  async authorizationEndpoints(waitMs = 2000): Promise<string[]> {
    return Promise.all(
      this.deps.providers.map(async (provider) => {
        let timer: ReturnType<typeof setTimeout> | undefined;
        const late = new Promise<undefined>((resolve) => {
          timer = setTimeout(() => resolve(undefined), waitMs);
        });
        try {
          const configuration = await Promise.race([this.#configuration(provider), late]);
          return configuration?.serverMetadata().authorization_endpoint ?? provider.issuer;
        } catch {
          return provider.issuer;
        } finally {
          clearTimeout(timer);
        }
      }),
    );
  }

  /** Leg 1: the provider's authorization URL for interaction `uid`. */
  async begin(uid: string, providerId: string, options: BeginOptions = {}): Promise<string> {
    const provider = this.provider(providerId);
    if (!provider) throw new FederationError('unknown-provider', `no identity provider "${providerId}"`);
    let configuration;
    try {
      configuration = await this.#configuration(provider);
    } catch (error) {
      this.deps.logger.error({ err: error, provider: provider.id, reason: errorReasons(error) }, 'identity provider discovery failed');
      throw new FederationError('upstream', `${provider.name} cannot be reached right now`);
    }
    const verifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const nonce = client.randomNonce();
    await this.#states.put(state, { uid, provider: provider.id, verifier, nonce }, { expiresAt: Date.now() + STATE_TTL_MS });
    return client.buildAuthorizationUrl(configuration, {
      redirect_uri: this.callbackUrl(provider),
      scope: provider.scope,
      state,
      nonce,
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      ...(options.loginHint ? { login_hint: options.loginHint } : {}),
      ...(options.forceLogin ? { prompt: 'login' } : {}),
      ...(options.maxAge !== undefined ? { max_age: String(options.maxAge) } : {}),
    }).href;
  }

  /** Leg 2: exchanges the code; returns the interaction to go back to and the state that names the result. */
  async callback(providerId: string, query: URLSearchParams): Promise<{ uid: string; state: string }> {
    const provider = this.provider(providerId);
    const state = query.get('state') ?? '';
    const pending = state ? await this.#states.get(state) : undefined;
    if (!provider || !pending || pending.provider !== provider.id || pending.claims || pending.error) {
      throw new FederationError('unknown-state', 'this sign-in is unknown, expired or already finished');
    }
    const result: PendingSignIn = { ...pending };
    const upstreamError = query.get('error');
    if (upstreamError) {
      result.error = {
        error: 'access_denied',
        description: `${provider.name} did not sign you in (${upstreamError.slice(0, 100)}${query.get('error_description') ? `: ${query.get('error_description')!.slice(0, 200)}` : ''}).`,
      };
    } else {
      try {
        const configuration = await this.#configuration(provider);
        const currentUrl = new URL(this.callbackUrl(provider));
        currentUrl.search = query.toString();
        const tokens = await client.authorizationCodeGrant(configuration, currentUrl, {
          pkceCodeVerifier: pending.verifier,
          expectedState: state,
          expectedNonce: pending.nonce,
          idTokenExpected: true,
        });
        const idClaims = tokens.claims()!;
        let claims: UpstreamClaims = { ...idClaims };
        if (configuration.serverMetadata().userinfo_endpoint) {
          // id_tokens often carry only part of the profile; userinfo has the rest.
          const userinfo = await client.fetchUserInfo(configuration, tokens.access_token, idClaims.sub);
          claims = { ...userinfo, ...idClaims };
        }
        result.claims = claims;
      } catch (error) {
        this.deps.logger.warn({ err: error, provider: provider.id, reason: errorReasons(error) }, 'federated sign-in failed at the callback');
        result.error = { error: 'access_denied', description: `The sign-in with ${provider.name} could not be completed. Try again.` };
      }
    }
    await this.#states.put(state, result, { expiresAt: Date.now() + STATE_TTL_MS });
    return { uid: pending.uid, state };
  }

  /** Leg 3: the account of a finished upstream sign-in of interaction `uid` (single use). */
  async complete(uid: string, state: string): Promise<LinkResult | { ok: false; reason: 'upstream'; description: string }> {
    const result = state ? await this.#states.take(state) : undefined;
    if (!result || result.uid !== uid || (!result.claims && !result.error)) {
      throw new FederationError('unknown-state', 'this sign-in is unknown, expired or already finished');
    }
    if (result.error) return { ok: false, reason: 'upstream', description: result.error.description };
    const provider = this.provider(result.provider)!;
    return linkAccount(
      { accounts: this.deps.accounts, identities: this.identities, directory: this.deps.directory, logger: this.deps.logger },
      provider,
      result.claims!,
    );
  }
}
