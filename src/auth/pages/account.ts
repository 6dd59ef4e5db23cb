/**
 * "Connected apps" (SMART's management_endpoint): a signed-in user sees the apps they authorized
 * and revokes one at once; and the callback of Bedside's own sign-in for its pages.
 *
 * https://hl7.org/fhir/smart-app-launch/STU2.2/conformance.html#metadata (management_endpoint)
 */
import express, { type Request, type Response } from 'express';
import type { Logger } from '../../log.js';
import { embedCsrfField } from '../../security/csrf.js';
import { PAGES } from '../endpoints.js';
import type { LaunchContexts } from '../launch/contexts.js';
import type { ProviderRecords } from '../provider/records.js';
import { pageHandler, PageError, sendHtml } from './errors.js';
import { ACCOUNT_CLIENT_ID, RETURNABLE, type Sessions } from './session.js';
import { connectedAppsPage, type AppRow } from './views/account.js';

export interface AccountPagesDependencies {
  sessions: Sessions;
  records: Pick<ProviderRecords, 'listGrants' | 'revokeApp'>;
  launches: Pick<LaunchContexts, 'forGrant'>;
  /** A client's display name (its client_id when it has none). */
  clientName(clientId: string): Promise<string>;
  logger: Logger;
}

/** The signed-in user's apps, one row per client with each of its grants. */
async function appsOf(deps: AccountPagesDependencies, accountId: string): Promise<AppRow[]> {
  const byClient = new Map<string, AppRow>();
  for (const grant of await deps.records.listGrants({ accountId })) {
    if (grant.clientId === ACCOUNT_CLIENT_ID) continue;
    const row = byClient.get(grant.clientId) ?? { clientId: grant.clientId, clientName: await deps.clientName(grant.clientId), grants: [] };
    const patient = (await deps.launches.forGrant(grant.grantId))?.patient;
    row.grants.push({ ...grant, ...(patient ? { patient } : {}) });
    byClient.set(grant.clientId, row);
  }
  return [...byClient.values()];
}

export function accountPages(deps: AccountPagesDependencies, issuerPath: string): express.Router {
  const router = express.Router();
  const form = express.urlencoded({ extended: false, limit: '16kb' });
  const appsPath = `${issuerPath}${PAGES.connectedApps}`;
  const page = pageHandler({ logger: deps.logger, failure: 'account page failed', serverError: 'Something failed on our side.' });

  async function renderApps(req: Request, res: Response, notice?: string): Promise<void> {
    const current = await deps.sessions.signedIn(req, res);
    if (!current) return deps.sessions.redirectToSignIn(res, PAGES.connectedApps);
    const view = {
      username: current.account.username,
      apps: await appsOf(deps, current.account.id),
      revokeAction: `${appsPath}/revoke`,
      ...(notice ? { notice } : {}),
    };
    sendHtml(res, 200, embedCsrfField(connectedAppsPage(view), current.formToken));
  }

  router.get(
    appsPath,
    page((req, res) => renderApps(req, res)),
  );
  router.post(
    `${appsPath}/revoke`,
    form,
    page(async (req, res) => {
      await deps.sessions.checkSubmission(req, res);
      const account = await deps.sessions.signedInAccount(req, res);
      if (!account) return deps.sessions.redirectToSignIn(res, PAGES.connectedApps);
      const clientId = String((req.body as Record<string, unknown>).client_id ?? '');
      const count = await deps.records.revokeApp(account.id, clientId);
      return renderApps(req, res, count ? `Access of ${await deps.clientName(clientId)} revoked.` : 'Nothing to revoke.');
    }),
  );

  router.get(
    `${issuerPath}${PAGES.accountCallback}`,
    page(async (req, res) => {
      const state = typeof req.query.state === 'string' ? req.query.state : '';
      if (typeof req.query.error === 'string') {
        throw new PageError(400, req.query.error, typeof req.query.error_description === 'string' ? req.query.error_description : 'Sign-in did not complete.');
      }
      res.redirect(303, `${issuerPath}${RETURNABLE.has(state) ? state : PAGES.connectedApps}`);
    }),
  );
  return router;
}
