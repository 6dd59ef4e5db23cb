/**
 * The operators' pages `/oauth/admin/users`, `/oauth/admin/clients` and
 * `/oauth/admin/resource-servers`: the admin service (service.ts) behind HTML forms. Only a
 * signed-in operator sees them; every POST must come from Bedside itself (Origin check, the
 * session cookie being SameSite=None) and carry the session's CSRF token, and every change is
 * audited by the service.
 */
import express, { type Request, type Response } from 'express';
import { PAGES } from '../endpoints.js';
import type { ProviderHolder } from '../provider.js';
import type { AuthServices } from '../services.js';
import { embedCsrfField } from '../../security/csrf.js';
import { genuineSessionSubmission, redirectToSignIn, signedIn } from '../pages/session.js';
import { errorPage } from '../views/error.js';
import { AdminError, parsePatientGrant, type Actor, type AdminService } from './service.js';
import { clientsPage, resourceServersPage, usersPage, type AdminNav, type Notice } from './views.js';

function html(res: Response, status: number, body: string): void {
  res.status(status).set({ 'cache-control': 'no-store', 'content-type': 'text/html; charset=utf-8' }).send(body);
}

function field(req: Request, name: string): string {
  const value = (req.body as Record<string, unknown> | undefined)?.[name];
  return typeof value === 'string' ? value : '';
}

function lines(value: string): string[] {
  return value.split(/\r?\n/).map((l) => l.trim()).filter(Boolean);
}

export function adminPages(services: AuthServices, holder: ProviderHolder, admin: AdminService, issuerPath: string): express.Router {
  const router = express.Router();
  const form = express.urlencoded({ extended: false, limit: '64kb' });
  const nav: AdminNav = {
    users: `${issuerPath}${PAGES.adminUsers}`,
    clients: `${issuerPath}${PAGES.adminClients}`,
    resourceServers: `${issuerPath}${PAGES.adminResourceServers}`,
    audit: `${issuerPath}${PAGES.audit}`,
    grants: `${issuerPath}${PAGES.grants}`,
  };

  const render: Record<'users' | 'clients' | 'resourceServers', (notice?: Notice) => Promise<string>> = {
    users: async (notice) => usersPage({ nav, base: nav.users, users: await admin.listUsers(), ...(notice ? { notice } : {}) }),
    clients: async (notice) => clientsPage({ nav, base: nav.clients, clients: await admin.listClients(), ...(notice ? { notice } : {}) }),
    resourceServers: async (notice) => resourceServersPage({ nav, base: nav.resourceServers, fhirBaseUrl: services.config.fhirBaseUrl, servers: admin.listResourceServers(), ...(notice ? { notice } : {}) }),
  };

  /** Runs `work` for a signed-in operator; AdminErrors are shown on the page, not thrown. */
  const operator = (pagePath: string, page: keyof typeof render, work: (req: Request, res: Response, actor: Actor) => Promise<Notice | undefined>) => async (req: Request, res: Response) => {
    try {
      if (req.method === 'POST' && !(await genuineSessionSubmission(holder, services, req, res))) {
        return html(res, 403, errorPage({ error: 'forbidden', description: 'This form must be submitted from its Bedside page while you are signed in. Open the page again.' }));
      }
      const current = await signedIn(holder, services, req, res);
      if (!current) return redirectToSignIn(services, res, pagePath);
      const { account, formToken } = current;
      if (!account.roles.includes('operator')) {
        return html(res, 403, errorPage({ error: 'forbidden', description: `The administration pages are for operators; ${account.username} is not one.` }));
      }
      let notice: Notice | undefined;
      try {
        notice = await work(req, res, { id: account.id, via: 'page' });
      } catch (error) {
        if (!(error instanceof AdminError)) throw error;
        notice = { kind: 'error', text: error.message };
      }
      if (!res.headersSent) html(res, notice?.kind === 'error' ? 400 : 200, embedCsrfField(await render[page](notice), formToken));
    } catch (error) {
      services.logger.error({ err: error }, 'admin page failed');
      html(res, 500, errorPage({ error: 'server_error', description: 'Something failed on our side.' }));
    }
  };

  const users = (work: (req: Request, res: Response, actor: Actor) => Promise<Notice | undefined>) => operator(PAGES.adminUsers, 'users', work);
  const clients = (work: (req: Request, res: Response, actor: Actor) => Promise<Notice | undefined>) => operator(PAGES.adminClients, 'clients', work);
  const servers = (work: (req: Request, res: Response, actor: Actor) => Promise<Notice | undefined>) => operator(PAGES.adminResourceServers, 'resourceServers', work);

  router.get(nav.users, users(async () => undefined));
  router.post(`${nav.users}/create`, form, users(async (req, _res, actor) => {
    const created = await admin.createUser(actor, {
      username: field(req, 'username'),
      ...(field(req, 'password') ? { password: field(req, 'password') } : {}),
      ...(field(req, 'name') ? { name: field(req, 'name') } : {}),
      ...(field(req, 'email') ? { email: field(req, 'email') } : {}),
      ...(field(req, 'fhirUser') ? { fhirUser: field(req, 'fhirUser').trim() } : {}),
      operator: field(req, 'operator') === 'yes',
    });
    return { kind: 'notice', text: `User ${created.username} created.` };
  }));
  router.post(`${nav.users}/reset-password`, form, users(async (req, _res, actor) => {
    await admin.resetPassword(actor, field(req, 'username'), field(req, 'password'));
    return { kind: 'notice', text: `Password of ${field(req, 'username')} reset.` };
  }));
  router.post(`${nav.users}/lock`, form, users(async (req, _res, actor) => {
    const { grantsRevoked } = await admin.lockUser(actor, field(req, 'username'));
    return { kind: 'notice', text: `${field(req, 'username')} is locked: signed out everywhere, ${grantsRevoked} grant(s) revoked.` };
  }));
  router.post(`${nav.users}/unlock`, form, users(async (req, _res, actor) => {
    await admin.unlockUser(actor, field(req, 'username'));
    return { kind: 'notice', text: `${field(req, 'username')} is unlocked.` };
  }));
  router.post(`${nav.users}/link`, form, users(async (req, _res, actor) => {
    const fhirUser = field(req, 'fhirUser').trim();
    await admin.linkFhirUser(actor, field(req, 'username'), fhirUser || null);
    return { kind: 'notice', text: fhirUser ? `${field(req, 'username')} is now ${fhirUser}.` : `${field(req, 'username')} has no fhirUser any more.` };
  }));

  router.post(`${nav.users}/patients`, form, users(async (req, _res, actor) => {
    const username = field(req, 'username');
    const grant = parsePatientGrant(field(req, 'patients'));
    const { grantsRevoked } = await admin.setPatientAccess(actor, username, grant);
    const what = grant === 'all' ? 'every patient' : grant ? `Patient ${grant.join(', ')}` : 'no patient';
    return { kind: 'notice', text: `${username} may select ${what}.${grantsRevoked ? ` ${grantsRevoked} grant(s) revoked.` : ''}` };
  }));

  router.get(nav.clients, clients(async () => undefined));
  router.post(`${nav.clients}/edit`, form, clients(async (req, _res, actor) => {
    const clientId = field(req, 'client_id');
    await admin.editClient(actor, clientId, {
      name: field(req, 'client_name'),
      redirectUris: lines(field(req, 'redirect_uris')),
      postLogoutRedirectUris: lines(field(req, 'post_logout_redirect_uris')),
      scope: field(req, 'scope'),
      firstParty: field(req, 'first_party') === 'yes',
    });
    return { kind: 'notice', text: `${clientId} saved.` };
  }));
  router.post(`${nav.clients}/rotate-secret`, form, clients(async (req, _res, actor) => {
    const secret = await admin.rotateSecret(actor, field(req, 'client_id'));
    return { kind: 'notice', text: `New secret of ${field(req, 'client_id')}, shown only now; the old one no longer works:`, secret };
  }));
  router.post(`${nav.clients}/disable`, form, clients(async (req, _res, actor) => {
    const { grantsRevoked } = await admin.disableClient(actor, field(req, 'client_id'));
    return { kind: 'notice', text: `${field(req, 'client_id')} is disabled; ${grantsRevoked} grant(s) revoked and its tokens refused.` };
  }));
  router.post(`${nav.clients}/enable`, form, clients(async (req, _res, actor) => {
    await admin.enableClient(actor, field(req, 'client_id'));
    return { kind: 'notice', text: `${field(req, 'client_id')} is enabled.` };
  }));

  router.get(nav.resourceServers, servers(async () => undefined));
  router.post(`${nav.resourceServers}/save`, form, servers(async (req, _res, actor) => {
    const scopes = Object.fromEntries(lines(field(req, 'scopes')).map((line) => {
      const eq = line.indexOf('=');
      return eq > 0 ? [line.slice(0, eq).trim(), line.slice(eq + 1).trim()] : [line, line];
    }));
    const ttl = field(req, 'ttl').trim();
    const saved = await admin.putResourceServer(actor, { identifier: field(req, 'identifier').trim(), name: field(req, 'name'), scopes, ...(ttl ? { accessTokenTtlSeconds: Number(ttl) } : {}) });
    return { kind: 'notice', text: `${saved.name} (${saved.identifier}) saved.` };
  }));
  router.post(`${nav.resourceServers}/remove`, form, servers(async (req, _res, actor) => {
    await admin.removeResourceServer(actor, field(req, 'identifier'));
    return { kind: 'notice', text: `${field(req, 'identifier')} removed: its tokens are no longer issued.` };
  }));

  return router;
}
