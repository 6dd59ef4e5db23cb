/**
 * The operators' "grants and tokens" page (every active grant, where tokens live, revoke, rotate
 * the signing keys) and audit log (denied FHIR requests, writes and administration, also as
 * JSON). Only a signed-in operator sees them; every POST must come from the page itself.
 */
import express, { type Request, type Response } from 'express';
import type { AuditLog, AuditRecord } from '../../access/audit-log.js';
import type { Logger } from '../../log.js';
import { embedCsrfField } from '../../security/csrf.js';
import { PAGES } from '../endpoints.js';
import { GRANT_CONTEXT_COLLECTION, LAUNCH_COLLECTION, type LaunchContexts } from '../launch/contexts.js';
import type { KeySet } from '../provider/keys.js';
import { REVOKED_JTI_COLLECTION, type ProviderRecords } from '../provider/records.js';
import { pageHandler, PageError, sendHtml } from './errors.js';
import type { Sessions, SignedIn } from './session.js';
import { grantsPage } from './views/account.js';
import { auditPage } from './views/audit.js';

/** Bedside's own collections beside the provider's, on the grants page. */
const OWN_COLLECTIONS: Array<[string, string]> = [
  [GRANT_CONTEXT_COLLECTION, 'launch context (patient, encounter, banner, style) of each grant'],
  [LAUNCH_COLLECTION, 'EHR launch values not used yet (5 minutes)'],
  [REVOKED_JTI_COLLECTION, 'revoked backend-service access tokens, until they expire'],
];

const AUDIT_OUTCOMES = ['denied', 'written', 'failed-write', 'admin'];

export interface GrantsPagesDependencies {
  sessions: Sessions;
  records: Pick<ProviderRecords, 'listGrants' | 'revokeGrant' | 'collectionCounts'>;
  launches: Pick<LaunchContexts, 'forGrant'>;
  clientName(clientId: string): Promise<string>;
  /** How many live documents a collection holds. */
  count(collection: string): Promise<number>;
  keys(): Promise<KeySet | undefined>;
  rotateKeys(): Promise<void>;
  audit: AuditLog;
  /** Where the store is (never credentials). */
  storageDescription: string;
  logger: Logger;
}

export function grantsPages(deps: GrantsPagesDependencies, issuerPath: string): express.Router {
  const router = express.Router();
  const form = express.urlencoded({ extended: false, limit: '16kb' });
  const grantsPath = `${issuerPath}${PAGES.grants}`;
  const page = pageHandler({ logger: deps.logger, failure: 'account page failed', serverError: 'Something failed on our side.' });

  /** The signed-in operator; otherwise the sign-in (nobody signed in) or a 403 page, and undefined. */
  async function operator(req: Request, res: Response, returnTo: string, refusal: (username: string) => string): Promise<SignedIn | undefined> {
    const current = await deps.sessions.signedIn(req, res);
    if (!current) return void deps.sessions.redirectToSignIn(res, returnTo);
    if (!current.account.roles.includes('operator')) throw new PageError(403, 'forbidden', refusal(current.account.username));
    return current;
  }

  async function renderGrants(req: Request, res: Response, notice?: string): Promise<void> {
    const current = await operator(
      req,
      res,
      PAGES.grants,
      (username) => `The grants page is for operators; ${username} is not one. Sign in as an operator (see the README).`,
    );
    if (!current) return;
    const grants = await Promise.all(
      (await deps.records.listGrants()).map(async (g) => {
        const patient = (await deps.launches.forGrant(g.grantId))?.patient;
        return { ...g, clientName: await deps.clientName(g.clientId), ...(patient ? { patient } : {}) };
      }),
    );
    const own = await Promise.all(OWN_COLLECTIONS.map(async ([collection, holds]) => ({ collection, holds, count: await deps.count(collection) })));
    const keySet = await deps.keys();
    sendHtml(
      res,
      200,
      embedCsrfField(
        grantsPage({
          storage: deps.storageDescription,
          collections: [...(await deps.records.collectionCounts()), ...own],
          grants,
          revokeAction: `${grantsPath}/revoke`,
          rotateAction: `${grantsPath}/rotate-keys`,
          keys: (keySet?.signing ?? []).map((k) => ({ kid: k.kid, alg: k.alg, ...(k.retireAfter ? { retireAfter: k.retireAfter } : {}) })),
          ...(notice ? { notice } : {}),
        }),
        current.formToken,
      ),
    );
  }

  /** A POST of the grants page: done only for an operator, who then sees the page again with `notice`. */
  const change = (work: (req: Request) => Promise<string>) =>
    page(async (req, res) => {
      await deps.sessions.checkSubmission(req, res);
      const account = await deps.sessions.signedInAccount(req, res);
      return renderGrants(req, res, account?.roles.includes('operator') ? await work(req) : undefined);
    });

  router.get(
    grantsPath,
    page((req, res) => renderGrants(req, res)),
  );
  router.post(
    `${grantsPath}/revoke`,
    form,
    change(async (req) => {
      await deps.records.revokeGrant(String((req.body as Record<string, unknown>).grant_id ?? ''));
      return 'Grant revoked: its refresh tokens are deleted and its access tokens are refused from their next use.';
    }),
  );
  router.post(
    `${grantsPath}/rotate-keys`,
    form,
    change(async () => {
      await deps.rotateKeys();
      return 'Signing keys rotated: new tokens are signed with the new keys; the previous keys keep verifying until their tokens expire.';
    }),
  );

  router.get(
    `${issuerPath}${PAGES.audit}`,
    page(async (req, res) => {
      const current = await operator(req, res, PAGES.grants, (username) => `The audit log is for operators; ${username} is not one.`);
      if (!current) return;
      const outcome =
        typeof req.query.outcome === 'string' && AUDIT_OUTCOMES.includes(req.query.outcome) ? (req.query.outcome as AuditRecord['outcome']) : undefined;
      const records = await deps.audit.list({ limit: 500, ...(outcome ? { outcome } : {}) });
      if (req.query.format === 'json') return void res.status(200).set('cache-control', 'no-store').json({ records });
      sendHtml(res, 200, auditPage({ records, ...(outcome ? { outcome } : {}) }));
    }),
  );
  return router;
}
