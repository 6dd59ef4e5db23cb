/**
 * The operators' pages `/oauth/admin/users`, `/oauth/admin/clients` and
 * `/oauth/admin/resource-servers`: the admin service (service.ts) behind HTML forms. Only a
 * signed-in operator sees them; every POST must come from Bedside itself (Origin check, the
 * session cookie being SameSite=None) and carry the session's CSRF token, and every change is
 * audited by the service.
 */
import express, { type Request } from 'express';
import type { Logger } from '../../log.js';
import { embedCsrfField } from '../../security/csrf.js';
import { AdminError, parsePatientGrant, type Actor, type AdminService } from '../admin/service.js';
import { PAGES } from '../endpoints.js';
import { pageHandler, PageError, sendHtml } from './errors.js';
import type { Sessions } from './session.js';
import { clientsPage, resourceServersPage, usersPage, type AdminNav, type Notice } from './views/admin.js';

function field(req: Request, name: string): string {
  const value = (req.body as Record<string, unknown> | undefined)?.[name];
  return typeof value === 'string' ? value : '';
}

function lines(value: string): string[] {
  return value
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter(Boolean);
}

export interface AdminPagesDependencies {
  sessions: Sessions;
  admin: AdminService;
  fhirBaseUrl: string;
  logger: Logger;
}

type Page = 'users' | 'clients' | 'resourceServers';
type Change = (req: Request, actor: Actor) => Promise<Notice | undefined>;

function navigation(issuerPath: string): AdminNav {
  return {
    users: `${issuerPath}${PAGES.adminUsers}`,
    clients: `${issuerPath}${PAGES.adminClients}`,
    resourceServers: `${issuerPath}${PAGES.adminResourceServers}`,
    audit: `${issuerPath}${PAGES.audit}`,
    grants: `${issuerPath}${PAGES.grants}`,
  };
}

export function adminPages(deps: AdminPagesDependencies, issuerPath: string): express.Router {
  const { admin, sessions } = deps;
  const router = express.Router();
  const form = express.urlencoded({ extended: false, limit: '64kb' });
  const nav = navigation(issuerPath);
  const page = pageHandler({ logger: deps.logger, failure: 'admin page failed', serverError: 'Something failed on our side.' });

  const render: Record<Page, (notice?: Notice) => Promise<string>> = {
    users: async (notice) => usersPage({ nav, base: nav.users, users: await admin.listUsers(), ...(notice ? { notice } : {}) }),
    clients: async (notice) => clientsPage({ nav, base: nav.clients, clients: await admin.listClients(), ...(notice ? { notice } : {}) }),
    resourceServers: async (notice) =>
      resourceServersPage({
        nav,
        base: nav.resourceServers,
        fhirBaseUrl: deps.fhirBaseUrl,
        servers: admin.listResourceServers(),
        ...(notice ? { notice } : {}),
      }),
  };

  /** Runs `work` for a signed-in operator; AdminErrors are shown on the page, not thrown. */
  const operator = (pagePath: string, which: Page, work: Change) =>
    page(async (req, res) => {
      await sessions.checkSubmission(req, res);
      const current = await sessions.signedIn(req, res);
      if (!current) return sessions.redirectToSignIn(res, pagePath);
      const { account, formToken } = current;
      if (!account.roles.includes('operator'))
        throw new PageError(403, 'forbidden', `The administration pages are for operators; ${account.username} is not one.`);
      let notice: Notice | undefined;
      try {
        notice = await work(req, { id: account.id, via: 'page' });
      } catch (error) {
        if (!(error instanceof AdminError)) throw error;
        notice = { kind: 'error', text: error.message };
      }
      if (!res.headersSent) sendHtml(res, notice?.kind === 'error' ? 400 : 200, embedCsrfField(await render[which](notice), formToken));
    });

  for (const [which, path, actions] of ADMIN_FORMS) {
    router.get(
      `${issuerPath}${path}`,
      operator(path, which, async () => undefined),
    );
    for (const [action, work] of Object.entries(actions)) {
      router.post(
        `${issuerPath}${path}/${action}`,
        form,
        operator(path, which, (req, actor) => work(admin, req, actor)),
      );
    }
  }
  return router;
}

/** One form's action: the change it makes, and the notice the page shows after it. */
type Action = (admin: AdminService, req: Request, actor: Actor) => Promise<Notice>;

const USER_ACTIONS: Record<string, Action> = {
  async create(admin, req, actor) {
    const created = await admin.createUser(actor, {
      username: field(req, 'username'),
      ...(field(req, 'password') ? { password: field(req, 'password') } : {}),
      ...(field(req, 'name') ? { name: field(req, 'name') } : {}),
      ...(field(req, 'email') ? { email: field(req, 'email') } : {}),
      ...(field(req, 'fhirUser') ? { fhirUser: field(req, 'fhirUser').trim() } : {}),
      operator: field(req, 'operator') === 'yes',
    });
    return { kind: 'notice', text: `User ${created.username} created.` };
  },
  async 'reset-password'(admin, req, actor) {
    await admin.resetPassword(actor, field(req, 'username'), field(req, 'password'));
    return { kind: 'notice', text: `Password of ${field(req, 'username')} reset.` };
  },
  async lock(admin, req, actor) {
    const { grantsRevoked } = await admin.lockUser(actor, field(req, 'username'));
    return { kind: 'notice', text: `${field(req, 'username')} is locked: signed out everywhere, ${grantsRevoked} grant(s) revoked.` };
  },
  async unlock(admin, req, actor) {
    await admin.unlockUser(actor, field(req, 'username'));
    return { kind: 'notice', text: `${field(req, 'username')} is unlocked.` };
  },
  async link(admin, req, actor) {
    const fhirUser = field(req, 'fhirUser').trim();
    await admin.linkFhirUser(actor, field(req, 'username'), fhirUser || null);
    return { kind: 'notice', text: fhirUser ? `${field(req, 'username')} is now ${fhirUser}.` : `${field(req, 'username')} has no fhirUser any more.` };
  },
  async patients(admin, req, actor) {
    const username = field(req, 'username');
    const grant = parsePatientGrant(field(req, 'patients'));
    const { grantsRevoked } = await admin.setPatientAccess(actor, username, grant);
    const what = grant === 'all' ? 'every patient' : grant ? `Patient ${grant.join(', ')}` : 'no patient';
    return { kind: 'notice', text: `${username} may select ${what}.${grantsRevoked ? ` ${grantsRevoked} grant(s) revoked.` : ''}` };
  },
};

const CLIENT_ACTIONS: Record<string, Action> = {
  async edit(admin, req, actor) {
    const clientId = field(req, 'client_id');
    await admin.editClient(actor, clientId, {
      name: field(req, 'client_name'),
      redirectUris: lines(field(req, 'redirect_uris')),
      postLogoutRedirectUris: lines(field(req, 'post_logout_redirect_uris')),
      scope: field(req, 'scope'),
      firstParty: field(req, 'first_party') === 'yes',
    });
    return { kind: 'notice', text: `${clientId} saved.` };
  },
  async 'rotate-secret'(admin, req, actor) {
    const secret = await admin.rotateSecret(actor, field(req, 'client_id'));
    return { kind: 'notice', text: `New secret of ${field(req, 'client_id')}, shown only now; the old one no longer works:`, secret };
  },
  async disable(admin, req, actor) {
    const { grantsRevoked } = await admin.disableClient(actor, field(req, 'client_id'));
    return { kind: 'notice', text: `${field(req, 'client_id')} is disabled; ${grantsRevoked} grant(s) revoked and its tokens refused.` };
  },
  async enable(admin, req, actor) {
    await admin.enableClient(actor, field(req, 'client_id'));
    return { kind: 'notice', text: `${field(req, 'client_id')} is enabled.` };
  },
};

const RESOURCE_SERVER_ACTIONS: Record<string, Action> = {
  async save(admin, req, actor) {
    const scopes = Object.fromEntries(
      lines(field(req, 'scopes')).map((line) => {
        const eq = line.indexOf('=');
        return eq > 0 ? [line.slice(0, eq).trim(), line.slice(eq + 1).trim()] : [line, line];
      }),
    );
    const ttl = field(req, 'ttl').trim();
    const saved = await admin.putResourceServer(actor, {
      identifier: field(req, 'identifier').trim(),
      name: field(req, 'name'),
      scopes,
      ...(ttl ? { accessTokenTtlSeconds: Number(ttl) } : {}),
    });
    return { kind: 'notice', text: `${saved.name} (${saved.identifier}) saved.` };
  },
  async remove(admin, req, actor) {
    await admin.removeResourceServer(actor, field(req, 'identifier'));
    return { kind: 'notice', text: `${field(req, 'identifier')} removed: its tokens are no longer issued.` };
  },
};

/** Each page: its path below the issuer and its forms' actions (`POST <page>/<action>`). */
const ADMIN_FORMS: Array<[Page, string, Record<string, Action>]> = [
  ['users', PAGES.adminUsers, USER_ACTIONS],
  ['clients', PAGES.adminClients, CLIENT_ACTIONS],
  ['resourceServers', PAGES.adminResourceServers, RESOURCE_SERVER_ACTIONS],
];
