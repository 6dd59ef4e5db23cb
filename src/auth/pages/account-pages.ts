/**
 * Pages for people: "connected apps" (SMART's management_endpoint: see and revoke the apps you
 * authorized) and, for operators, "grants and tokens" (every active grant, where tokens live,
 * revoke, rotate signing keys).
 *
 * https://hl7.org/fhir/smart-app-launch/STU2.2/conformance.html#metadata (management_endpoint)
 */
import express, { type Request, type Response } from 'express';
import { oidcCollectionName } from '../adapter.js';
import { PAGES } from '../endpoints.js';
import { readKeySet } from '../keys.js';
import { GRANT_CONTEXT_COLLECTION, LAUNCH_COLLECTION } from '../launch-context.js';
import { REVOKED_JTI_COLLECTION } from '../issuer-records.js';
import type { ProviderHolder } from '../provider.js';
import type { AuthServices } from '../services.js';
import { createAuditLog, type AuditRecord } from '../../access/audit-log.js';
import { connectedAppsPage, grantsPage, type AppRow } from '../views/account.js';
import { auditPage } from '../views/audit.js';
import { errorPage } from '../views/error.js';
import { embedCsrfField } from '../../security/csrf.js';
import { genuineSessionSubmission, RETURNABLE, redirectToSignIn, signedIn, signedInAccount } from './session.js';

const COLLECTIONS: Array<[string, string]> = [
  [oidcCollectionName('Grant'), 'what each user allowed each app (scopes), one per authorization'],
  [oidcCollectionName('RefreshToken'), 'refresh tokens (opaque), tied to a grant'],
  [oidcCollectionName('AuthorizationCode'), 'authorization codes (single-use, 60 seconds)'],
  [oidcCollectionName('Session'), 'browser sign-in sessions'],
  [oidcCollectionName('Interaction'), 'sign-in and consent pages in progress'],
  [oidcCollectionName('Client'), 'registered apps'],
  [oidcCollectionName('ReplayDetection'), 'client assertion ids already used (replay protection)'],
  [GRANT_CONTEXT_COLLECTION, 'launch context (patient, encounter, banner, style) of each grant'],
  [LAUNCH_COLLECTION, 'EHR launch values not used yet (5 minutes)'],
  [REVOKED_JTI_COLLECTION, 'revoked backend-service access tokens, until they expire'],
];

function html(res: Response, status: number, body: string): void {
  res.status(status).set({ 'cache-control': 'no-store', 'content-type': 'text/html; charset=utf-8' }).send(body);
}

export function accountPages(services: AuthServices, holder: ProviderHolder, issuerPath: string): express.Router {
  const router = express.Router();
  const form = express.urlencoded({ extended: false, limit: '16kb' });
  const appsPath = `${issuerPath}${PAGES.connectedApps}`;
  const grantsPath = `${issuerPath}${PAGES.grants}`;
  const auditPath = `${issuerPath}${PAGES.audit}`;

  const clientName = async (clientId: string) => (await holder.provider.Client.find(clientId))?.clientName ?? clientId;
  const patientOf = async (grantId: string) => (await services.launches.forGrant(grantId))?.patient;

  async function renderApps(req: Request, res: Response, notice?: string): Promise<void> {
    const current = await signedIn(holder, services, req, res);
    if (!current) return redirectToSignIn(services, res, PAGES.connectedApps);
    const { account, formToken } = current;
    const byClient = new Map<string, AppRow>();
    for (const grant of await services.grants.list({ accountId: account.id })) {
      if (grant.clientId === 'bedside-account') continue;
      const row = byClient.get(grant.clientId) ?? { clientId: grant.clientId, clientName: await clientName(grant.clientId), grants: [] };
      const patient = await patientOf(grant.grantId);
      row.grants.push({ ...grant, ...(patient ? { patient } : {}) });
      byClient.set(grant.clientId, row);
    }
    html(res, 200, embedCsrfField(connectedAppsPage({ username: account.username, apps: [...byClient.values()], revokeAction: `${appsPath}/revoke`, ...(notice ? { notice } : {}) }), formToken));
  }

  async function renderGrants(req: Request, res: Response, notice?: string): Promise<void> {
    const current = await signedIn(holder, services, req, res);
    if (!current) return redirectToSignIn(services, res, PAGES.grants);
    const { account, formToken } = current;
    if (!account.roles.includes('operator')) {
      return html(res, 403, errorPage({ error: 'forbidden', description: `The grants page is for operators; ${account.username} is not one. Sign in as an operator (see the README).` }));
    }
    const grants = await Promise.all((await services.grants.list()).map(async (g) => {
      const patient = await patientOf(g.grantId);
      return { ...g, clientName: await clientName(g.clientId), ...(patient ? { patient } : {}) };
    }));
    const collections = await Promise.all(COLLECTIONS.map(async ([collection, holds]) => ({ collection, holds, count: await services.documents.collection(collection).count() })));
    const keySet = await readKeySet(services.documents);
    html(res, 200, embedCsrfField(grantsPage({
      storage: services.storageDescription,
      collections,
      grants,
      revokeAction: `${grantsPath}/revoke`,
      rotateAction: `${grantsPath}/rotate-keys`,
      keys: (keySet?.signing ?? []).map((k) => ({ kid: k.kid, alg: k.alg, ...(k.retireAfter ? { retireAfter: k.retireAfter } : {}) })),
      ...(notice ? { notice } : {}),
    }), formToken));
  }

  const guard = (work: (req: Request, res: Response) => Promise<void>) => async (req: Request, res: Response) => {
    try {
      if (req.method === 'POST' && !(await genuineSessionSubmission(holder, services, req, res))) {
        return html(res, 403, errorPage({ error: 'forbidden', description: 'This form must be submitted from its Bedside page while you are signed in. Open the page again.' }));
      }
      await work(req, res);
    } catch (error) {
      services.logger.error({ err: error }, 'account page failed');
      html(res, 500, errorPage({ error: 'server_error', description: 'Something failed on our side.' }));
    }
  };

  router.get(appsPath, guard((req, res) => renderApps(req, res)));
  router.post(`${appsPath}/revoke`, form, guard(async (req, res) => {
    const account = await signedInAccount(holder, services, req, res);
    if (!account) return redirectToSignIn(services, res, PAGES.connectedApps);
    const clientId = String((req.body as Record<string, unknown>).client_id ?? '');
    const count = await services.grants.revokeApp(account.id, clientId);
    return renderApps(req, res, count ? `Access of ${await clientName(clientId)} revoked.` : 'Nothing to revoke.');
  }));

  router.get(grantsPath, guard((req, res) => renderGrants(req, res)));
  router.post(`${grantsPath}/revoke`, form, guard(async (req, res) => {
    const account = await signedInAccount(holder, services, req, res);
    if (!account?.roles.includes('operator')) return renderGrants(req, res);
    await services.grants.revoke(String((req.body as Record<string, unknown>).grant_id ?? ''));
    return renderGrants(req, res, 'Grant revoked: its refresh tokens are deleted and its access tokens are refused from their next use.');
  }));
  router.post(`${grantsPath}/rotate-keys`, form, guard(async (req, res) => {
    const account = await signedInAccount(holder, services, req, res);
    if (!account?.roles.includes('operator')) return renderGrants(req, res);
    await services.rotateKeys();
    return renderGrants(req, res, 'Signing keys rotated: new tokens are signed with the new keys; the previous keys keep verifying until their tokens expire.');
  }));

  router.get(auditPath, guard(async (req, res) => {
    const account = await signedInAccount(holder, services, req, res);
    if (!account) return redirectToSignIn(services, res, PAGES.grants);
    if (!account.roles.includes('operator')) return html(res, 403, errorPage({ error: 'forbidden', description: `The audit log is for operators; ${account.username} is not one.` }));
    const outcome = typeof req.query.outcome === 'string' && ['denied', 'written', 'failed-write', 'admin'].includes(req.query.outcome) ? (req.query.outcome as AuditRecord['outcome']) : undefined;
    const records = await createAuditLog(services.documents, services.logger).list({ limit: 500, ...(outcome ? { outcome } : {}) });
    if (req.query.format === 'json') {
      res.status(200).set('cache-control', 'no-store').json({ records });
      return;
    }
    html(res, 200, auditPage({ records, ...(outcome ? { outcome } : {}) }));
  }));

  router.get(`${issuerPath}${PAGES.accountCallback}`, (req, res) => {
    const state = typeof req.query.state === 'string' ? req.query.state : '';
    if (typeof req.query.error === 'string') {
      return html(res, 400, errorPage({ error: req.query.error, description: typeof req.query.error_description === 'string' ? req.query.error_description : 'Sign-in did not complete.' }));
    }
    res.redirect(303, `${issuerPath}${RETURNABLE.has(state) ? state : PAGES.connectedApps}`);
  });
  return router;
}
