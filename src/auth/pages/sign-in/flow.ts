/**
 * One request of a sign-in (an oidc-provider interaction): the interaction this browser is in,
 * checked against the URL, and what every step does with it (find the signed-in account and the
 * patients it may select, send a page of the interaction, finish the interaction). The steps
 * (login.ts, patient.ts, encounter.ts, consent.ts) each handle one page; `show` renders whichever
 * step the interaction is at.
 *
 * https://github.com/panva/node-oidc-provider/tree/main/docs#user-flows
 */
import type { Request, Response } from 'express';
import { errors, type InteractionResults } from 'oidc-provider';
import type { Config } from '../../../config.js';
import type { PatientDirectory, SelectablePatients } from '../../../directory/patient-directory.js';
import type { Logger } from '../../../log.js';
import type { FailureCounter } from '../../../security/rate-limit.js';
import { signedInUser, type AccountStore, type StoredAccount } from '../../accounts/account-store.js';
import type { Federation } from '../../accounts/federation/service.js';
import type { LaunchContexts } from '../../launch/contexts.js';
import type { ResourceServerRegistry } from '../../policy/resource-servers/registry.js';
import type { SmartSelection } from '../../launch/grant-context.js';
import type { ProviderHolder } from '../../provider/holder.js';
import { PageError } from '../errors.js';
import { sendInteractionPage, type FormDependencies } from './forms.js';

/** What the sign-in pages use. */
export interface SignInDependencies extends FormDependencies {
  holder: Pick<ProviderHolder, 'provider'>;
  accounts: AccountStore;
  launches: LaunchContexts;
  directory: Pick<PatientDirectory, 'forUser'>;
  federation: Federation;
  resourceServers: Pick<ResourceServerRegistry, 'get'>;
  /** Failed sign-ins per client address (per username: AccountStore). */
  signInsByAddress: FailureCounter;
  settings: Pick<Config, 'fhirBaseUrl' | 'localLogin' | 'seed' | 'trustProxy' | 'refreshTokenTtlSeconds'>;
  /** Bedside's own style document, the default `smart_style_url`. */
  smartStyleUrl: string;
  logger: Logger;
}

export type ProviderInteraction = Awaited<ReturnType<ProviderHolder['provider']['interactionDetails']>>;

/** How a step's page is shown again: with an error, its status, the username typed. */
export interface ShowOptions {
  error?: string;
  status?: number;
  username?: string;
}

/** The interaction of this browser, when it is the one in the URL; an expired or foreign one is a 400 page. */
export async function loadInteraction(holder: Pick<ProviderHolder, 'provider'>, req: Request, res: Response): Promise<ProviderInteraction> {
  const interaction = await holder.provider.interactionDetails(req, res);
  if (interaction.uid !== req.params.uid) throw new errors.SessionNotFound('interaction mismatch');
  return interaction;
}

/** The refusal page of an interaction that expired or belongs to another browser. */
export function expiredInteraction(error: unknown): PageError | undefined {
  if (!(error instanceof errors.SessionNotFound)) return undefined;
  return new PageError(400, 'session_expired', 'This sign-in page has expired or was opened in another browser. Go back to the app and start again.');
}

export class SignIn {
  constructor(
    readonly deps: SignInDependencies,
    readonly req: Request,
    readonly res: Response,
    readonly interaction: ProviderInteraction,
    /** The interaction pages' path (`/oauth/interaction`). */
    readonly base: string,
    /** Renders the step the interaction is at (router.ts). */
    readonly show: (flow: SignIn, options?: ShowOptions) => Promise<void>,
  ) {}

  get uid(): string {
    return this.interaction.uid;
  }

  /** The URL of this interaction's page, or of one of its forms' steps. */
  url(step = ''): string {
    return `${this.base}/${this.uid}${step ? `/${step}` : ''}`;
  }

  /** What the user chose so far (patient, encounter). */
  get selection(): SmartSelection {
    return (this.interaction.lastSubmission as { smart?: SmartSelection } | undefined)?.smart ?? {};
  }

  /** The signed-in account of this interaction, if any. */
  async account(): Promise<StoredAccount | undefined> {
    const accountId = this.interaction.session?.accountId;
    return accountId ? this.deps.accounts.findById(String(accountId)) : undefined;
  }

  /** The signed-in account; a sign-in without one has expired. */
  async requireAccount(): Promise<StoredAccount> {
    const account = await this.account();
    if (!account) throw new errors.SessionNotFound('account not found');
    return account;
  }

  /** The patients `account` may select: the user policy, the same for every step. */
  patients(account: StoredAccount): SelectablePatients {
    return this.deps.directory.forUser(signedInUser(account));
  }

  async client(): Promise<{ name: string; uri?: string }> {
    const clientId = String(this.interaction.params.client_id);
    const client = await this.deps.holder.provider.Client.find(clientId);
    return { name: client?.clientName ?? clientId, ...(client?.clientUri ? { uri: client.clientUri } : {}) };
  }

  /** Sends a page of this interaction (with its CSRF token, and its forms allowed to end at the app). */
  sendPage(status: number, html: string, otherTargets?: string[]): void {
    sendInteractionPage(this.deps, this.res, {
      uid: this.uid,
      status,
      html,
      redirectUri: this.interaction.params.redirect_uri,
      ...(otherTargets ? { otherTargets } : {}),
    });
  }

  /** Ends the interaction with `result`; the browser goes back to the provider. */
  async finish(result: InteractionResults, merge = true): Promise<void> {
    await this.deps.holder.provider.interactionFinished(this.req, this.res, result, { mergeWithLastSubmission: merge });
  }

  /** Ends the interaction with an OAuth error for the app. */
  async refuse(error: string, description: string): Promise<void> {
    await this.finish({ error, error_description: description }, false);
  }
}

/** A form field of a submitted page ('' when absent or not text). */
export function field(body: unknown, name: string): string {
  const value = (body as Record<string, unknown> | undefined)?.[name];
  return typeof value === 'string' ? value : '';
}

/** Every value of a repeated form field. */
export function fields(body: unknown, name: string): string[] {
  const value = (body as Record<string, unknown> | undefined)?.[name];
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : typeof value === 'string' ? [value] : [];
}
