/**
 * The launcher's server side: its pages (the launcher at `/`, the EHR frame, the sample SMART app
 * at `/sample-app/launch` and `/sample-app/`, the tutorial), their bundled scripts, and the small
 * read-only API the launcher page chooses a launch context with. Launching itself is the
 * authorization server's `POST /launcher/api/launch` (docs/contract.md); registering a client is the
 * real RFC 7591 endpoint, called from the page.
 *
 * The directory and client list follow the launcher API's rule (auth/launch/access.ts):
 * open in the sandbox (LAUNCHER_SANDBOX; by default on a loopback HOST), which trusts whoever
 * reaches the launcher; otherwise for an operator or a client with the `launcher` scope, and then
 * the patients listed are those of the caller's own policy (an operator's user policy, the
 * client token's scopes), never a fixed all-patients one.
 */
import express, { type Request, type Response } from 'express';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '../config.js';
import type { FhirApi } from '../fhir/api.js';
import type { FhirServices } from '../fhir/context.js';
import type { Logger } from '../log.js';
import type { SmartEndpoints } from '../smart/smart-configuration.js';
import type { LauncherCaller, LauncherRefusal } from '../auth/launch/access.js';
import { sendRefusal } from '../auth/launch/access.js';
import type { GuardedStore } from '../access/guarded-store.js';
import { createDirectory, type Directory } from '../directory/patient-directory.js';
import { page, trusted } from '../html/page.js';
import { bundleCache, isBundleName } from './bundles.js';
import { listClients } from './clients.js';
import { renderMarkdown } from './markdown.js';
import type { Packages } from '../packages/service.js';

/**
 * The stores a caller's directory reads through (app.ts binds them to the caller's policies):
 * patients with their encounters, and practitioners.
 */
export interface LauncherStores {
  patients: GuardedStore;
  practitioners: GuardedStore;
}

/** What the launcher page chooses a launch context from: patients and their encounters, and practitioners. */
type LauncherDirectory = Pick<Directory, 'patients' | 'patient' | 'encounters' | 'practitioners' | 'practitioner'>;

export interface LauncherDependencies {
  config: Config;
  logger: Logger;
  /** The FHIR API in-process. */
  fhir: { api: FhirApi; services: FhirServices };
  /** Who is calling (the launcher API's rule). */
  caller(req: Request, res: Response): Promise<LauncherCaller | LauncherRefusal>;
  /** The stores a caller's directory reads through, bound to that caller's policies. */
  storesFor(caller: LauncherCaller): LauncherStores;
  /** The installed FHIR packages: the scope builder offers the types they profile. */
  packages: Pick<Packages, 'installed' | 'capabilities'>;
  /** The registered clients' metadata as registered (the authorization server's). */
  clients(limit: number): Promise<Array<Record<string, unknown>>>;
  endpoints: SmartEndpoints;
  /** The repository root (launch/ and docs/ are found below it). */
  root: string;
}

/** The bundled sample app: its public client and its two URLs (docs/contract.md). */
export const SAMPLE_APP = { clientId: 'bedside-sample-app', launchPath: '/sample-app/launch', redirectPath: '/sample-app/' } as const;

/** Content-Security-Policy per page: scripts only from Bedside, no inline code. */
const CSP = {
  launcher:
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  // The EHR frame embeds whichever app is launched.
  ehr: "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-src http: https:; frame-ancestors 'none'; base-uri 'none'",
  // The sample app may be launched against any FHIR server (iss), so it may connect anywhere.
  app: "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self' http: https:; frame-ancestors 'self'; base-uri 'none'; form-action 'none'",
  tutorial: "default-src 'self'; script-src 'none'; style-src 'self'; img-src 'self'; frame-ancestors 'none'; base-uri 'none'",
} as const;

/** The page's CSP, replacing the default of security/headers.ts, with X-Frame-Options saying the same as its frame-ancestors. */
function pageHeaders(csp: string): Record<string, string> {
  return { 'content-security-policy': csp, 'x-frame-options': csp.includes("frame-ancestors 'none'") ? 'DENY' : 'SAMEORIGIN' };
}

export function launcherRouter(deps: LauncherDependencies): express.Router {
  const router = express.Router();
  pageRoutes(router, deps, path.join(deps.root, 'launch'));
  apiRoutes(router, deps);
  tutorialRoutes(router, path.join(deps.root, 'docs'));
  return router;
}

/** The launcher, the EHR frame and the sample app (static files with their CSP), and their bundled scripts. */
function pageRoutes(router: express.Router, deps: LauncherDependencies, launchDir: string): void {
  const bundles = bundleCache(launchDir);
  const staticPage =
    (file: string, csp: string, referrer = 'same-origin') =>
    (_req: Request, res: Response) => {
      res.set({ ...pageHeaders(csp), 'cache-control': 'no-cache', 'referrer-policy': referrer, 'x-content-type-options': 'nosniff' });
      res.sendFile(path.join(launchDir, file));
    };
  router.get('/', staticPage('index.html', CSP.launcher));
  router.get('/launcher/ehr', staticPage('ehr.html', CSP.ehr));
  // The app's redirect URI receives the authorization code: keep it out of Referer headers.
  const sampleApp = staticPage('sample-app/index.html', CSP.app, 'no-referrer');
  router.get(SAMPLE_APP.launchPath, sampleApp);
  router.get(SAMPLE_APP.redirectPath, (req, res) => {
    // Express matches '/sample-app' here too (non-strict routing): send it to the redirect URI's spelling.
    if (!req.path.endsWith('/')) return res.redirect(301, `${SAMPLE_APP.redirectPath}${req.url.slice(req.path.length)}`);
    sampleApp(req, res);
  });

  router.get('/launcher/assets/:name.js', async (req, res) => {
    const name = String(req.params.name);
    if (!isBundleName(name)) return void res.status(404).type('text/plain').send('Not found');
    try {
      const bundle = await bundles(name);
      if (req.get('if-none-match') === bundle.etag) return void res.status(304).end();
      res
        .set({ 'content-type': 'text/javascript; charset=utf-8', etag: bundle.etag, 'cache-control': 'no-cache', 'x-content-type-options': 'nosniff' })
        .send(bundle.code);
    } catch (error) {
      deps.logger.error({ err: error, bundle: name }, 'could not bundle the launcher scripts');
      res.status(500).type('text/plain').send(`Could not build ${name}.js; see the server log.`);
    }
  });
}

/** The launcher page's API: its configuration, and the directory (patients, encounters, practitioners, clients). */
function apiRoutes(router: express.Router, deps: LauncherDependencies): void {
  const { config } = deps;
  const directoryFor = (caller: LauncherCaller): LauncherDirectory => {
    const stores = deps.storesFor(caller);
    const { patients, patient, encounters } = createDirectory(deps.fhir.api, deps.fhir.services, stores.patients, 'launcher');
    const { practitioners, practitioner } = createDirectory(deps.fhir.api, deps.fhir.services, stores.practitioners, 'launcher');
    return { patients, patient, encounters, practitioners, practitioner };
  };
  /** The installed FHIR packages and the resource types they profile (what /metadata says too). */
  const implementationGuides = async () => {
    const installed = deps.packages.installed();
    const profiles = installed.length ? (await deps.packages.capabilities()).profiles : new Map<string, string[]>();
    return { packages: installed.map((p) => `${p.name}#${p.version}`), profiles: Object.fromEntries([...profiles].sort(([a], [b]) => a.localeCompare(b))) };
  };

  /** A directory route: the caller must pass the launcher API's rule; answers through their policies. */
  const api = (work: (req: Request, directory: LauncherDirectory) => Promise<unknown>) => async (req: Request, res: Response) => {
    res.set('cache-control', 'no-store');
    try {
      const caller = await deps.caller(req, res);
      if (caller.kind === 'refused') return sendRefusal(res, config.baseUrl, caller);
      const body = await work(req, directoryFor(caller));
      if (body === undefined) return void res.status(404).json({ error: 'not_found' });
      res.json(body);
    } catch (error) {
      deps.logger.error({ err: error }, 'launcher API failed');
      res.status(500).json({ error: 'server_error' });
    }
  };
  const text = (req: Request): string => (typeof req.query.q === 'string' ? req.query.q : '');

  router.get('/launcher/api/config', (_req, res, next) => {
    implementationGuides().then(
      (guides) =>
        res.set('cache-control', 'no-store').json({
          fhirBaseUrl: config.fhirBaseUrl,
          issuer: deps.endpoints.issuer,
          endpoints: deps.endpoints,
          smartConfiguration: `${config.fhirBaseUrl}/.well-known/smart-configuration`,
          sandbox: config.launcherSandbox,
          registrationRequiresToken: config.registrationToken !== undefined,
          sampleApp: {
            clientId: SAMPLE_APP.clientId,
            launchUri: `${config.baseUrl}${SAMPLE_APP.launchPath}`,
            redirectUri: `${config.baseUrl}${SAMPLE_APP.redirectPath}`,
          },
          pages: {
            grants: `${deps.endpoints.issuer}/admin/grants`,
            connectedApps: deps.endpoints.management,
            audit: `${deps.endpoints.issuer}/admin/audit`,
            tutorial: `${config.baseUrl}/tutorial/`,
          },
          ...guides,
        }),
      next,
    );
  });
  router.get(
    '/launcher/api/patients',
    api((req, directory) => directory.patients(text(req))),
  );
  router.get(
    '/launcher/api/patients/:id',
    api((req, directory) => directory.patient(String(req.params.id))),
  );
  router.get(
    '/launcher/api/patients/:id/encounters',
    api((req, directory) => directory.encounters(String(req.params.id))),
  );
  router.get(
    '/launcher/api/practitioners',
    api((req, directory) => directory.practitioners(text(req))),
  );
  router.get(
    '/launcher/api/practitioners/:id',
    api((req, directory) => directory.practitioner(String(req.params.id))),
  );
  router.get(
    '/launcher/api/clients',
    api(() => listClients(deps.clients)),
  );
}

/** docs/tutorial.md as a page, and its images. */
function tutorialRoutes(router: express.Router, docsDir: string): void {
  router.get('/tutorial/', async (req, res) => {
    if (!req.path.endsWith('/')) return res.redirect(301, '/tutorial/');
    const file = path.join(docsDir, 'tutorial.md');
    if (!existsSync(file)) return void res.status(404).type('text/plain').send('docs/tutorial.md is missing');
    const body = renderMarkdown(await readFile(file, 'utf8'));
    res
      .set({ ...pageHeaders(CSP.tutorial), 'cache-control': 'no-cache' })
      .type('html')
      .send(tutorialPage(body));
  });
  router.get('/tutorial/images/:file', (req, res) => {
    const file = String(req.params.file);
    if (!/^[\w-]+\.png$/.test(file)) return void res.status(404).type('text/plain').send('Not found');
    res.set('cache-control', 'no-cache').sendFile(path.join(docsDir, 'images', file), (error) => {
      if (error && !res.headersSent) res.status(404).type('text/plain').send('Not found');
    });
  });
}

function tutorialPage(body: string): string {
  return page('Tutorial', trusted(body), {
    subtitle: 'Tutorial',
    prose: true,
    nav: [
      { href: '/', label: 'Launcher' },
      { href: '/oauth/admin/grants', label: 'Grants' },
    ],
  });
}
