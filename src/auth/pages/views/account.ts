/**
 * The connected-apps page (SMART `management_endpoint`) and the operators' grants page, which
 * answers "where are my access tokens stored?" on screen.
 */
import { describeScope } from '../../../smart/describe.js';
import { parseScopes } from '../../../smart/scopes.js';
import type { GrantSummary } from '../../provider/records.js';
import { html, type SafeHtml } from '../../../html/template.js';
import { page } from '../../../html/page.js';

export interface AppRow {
  clientId: string;
  clientName: string;
  grants: Array<GrantSummary & { patient?: string }>;
}

const when = (ms: number | undefined): string => (ms ? `${new Date(ms).toISOString().replace('T', ' ').slice(0, 16)} UTC` : '—');

function scopeList(scope: string): SafeHtml {
  return html`<ul>${parseScopes(scope).scopes.map((s) => html`<li>${describeScope(s)} <code>${s.raw}</code></li>`)}</ul>`;
}

export function connectedAppsPage(view: { username: string; apps: AppRow[]; revokeAction: string; notice?: string }): string {
  return page(
    'Connected apps',
    html`<p>Signed in as <strong>${view.username}</strong>. These apps can use your Bedside account. Revoking an app ends its access at once: its refresh tokens are deleted and its access tokens stop working on their next use.</p>
${view.notice ? html`<p class="notice" role="status">${view.notice}</p>` : ''}
${
  view.apps.length === 0
    ? html`<p class="muted">No app has access.</p>`
    : view.apps.map(
        (
          app,
        ) => html`<section aria-labelledby="app-${app.clientId}"><h2 id="app-${app.clientId}">${app.clientName} <code class="muted">${app.clientId}</code></h2>
${app.grants.map((g) => html`<p class="muted">Allowed ${when(g.issuedAt)}${g.patient ? html` for Patient/${g.patient}` : ''} · expires ${when(g.expiresAt)} · ${g.refreshTokens.length} refresh token(s)</p>${scopeList(g.scope)}`)}
<form method="post" action="${view.revokeAction}"><input type="hidden" name="client_id" value="${app.clientId}"><button type="submit" class="danger">Revoke ${app.clientName}</button></form>
</section>`,
      )
}`,
  );
}

export interface StorageRow {
  collection: string;
  holds: string;
  count: number;
}

export function grantsPage(view: {
  storage: string;
  collections: StorageRow[];
  grants: Array<GrantSummary & { clientName: string; patient?: string }>;
  revokeAction: string;
  rotateAction: string;
  keys: Array<{ kid: string; alg: string; retireAfter?: number }>;
  notice?: string;
}): string {
  const body = html`<section aria-labelledby="where"><h2 id="where">Where are the tokens stored?</h2>
<p>Everything the authorization server keeps is in <strong>${view.storage}</strong>, next to the FHIR resources, so every Bedside node shares it.</p>
<ul>
<li><strong>Access tokens are not stored.</strong> They are JWTs signed with ES256 (keys below, published at the JWKS endpoint). The FHIR API verifies the signature, issuer, audience and expiry itself, and looks up the grant (or, for backend services, the revoked-token list) on every request, so revoking a grant stops its access tokens at their next use.</li>
<li><strong>Refresh tokens, authorization codes, grants, sessions and clients</strong> are documents in the collections below, each with an expiry after which it is deleted.</li>
</ul>
<table><caption class="muted">Collections</caption><thead><tr><th scope="col">Collection</th><th scope="col">Holds</th><th scope="col">Live documents</th></tr></thead>
<tbody>${view.collections.map((c) => html`<tr><td><code>${c.collection}</code></td><td>${c.holds}</td><td>${c.count}</td></tr>`)}</tbody></table>
</section>
${view.notice ? html`<p class="notice" role="status">${view.notice}</p>` : ''}
<section aria-labelledby="grants"><h2 id="grants">Active grants</h2>
${
  view.grants.length === 0
    ? html`<p class="muted">No active grant.</p>`
    : html`<table><thead><tr><th scope="col">User</th><th scope="col">App</th><th scope="col">Scopes</th><th scope="col">Context</th><th scope="col">Granted / expires</th><th scope="col">Refresh tokens</th><th scope="col"><span class="muted">Action</span></th></tr></thead><tbody>
${view.grants.map(
  (
    g,
  ) => html`<tr><td>${g.accountId}</td><td>${g.clientName}<br><code class="muted">${g.clientId}</code></td><td><code>${g.scope}</code></td><td>${g.patient ? `Patient/${g.patient}` : '—'}</td><td>${when(g.issuedAt)}<br>${when(g.expiresAt)}</td><td>${g.refreshTokens.length ? g.refreshTokens.map((rt) => html`<code>${rt.id}</code> until ${when(rt.expiresAt)}<br>`) : '—'}</td>
<td><form method="post" action="${view.revokeAction}"><input type="hidden" name="grant_id" value="${g.grantId}"><button type="submit" class="danger" aria-label="Revoke grant of ${g.clientName} for ${g.accountId}">Revoke</button></form></td></tr>`,
)}
</tbody></table>`
}
</section>
<section aria-labelledby="keys"><h2 id="keys">Signing keys</h2>
<table><thead><tr><th scope="col">Key id</th><th scope="col">Algorithm</th><th scope="col">Status</th></tr></thead><tbody>
${view.keys.map((k) => html`<tr><td><code>${k.kid}</code></td><td>${k.alg}</td><td>${k.retireAfter ? `verifying only, until ${when(k.retireAfter)}` : 'signing'}</td></tr>`)}
</tbody></table>
<form method="post" action="${view.rotateAction}"><button type="submit" class="secondary">Rotate signing keys</button></form>
</section>`;
  return page('Grants and tokens', body, { subtitle: 'for operators', wide: true });
}
