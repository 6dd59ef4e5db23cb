/**
 * The operators' pages for users, clients and resource servers: server-rendered HTML forms, one
 * form per action, labelled controls, no JavaScript.
 */
import type { ResourceServer } from '../../policy/resource-servers/registry.js';
import { html, type SafeHtml } from '../../../html/template.js';
import { page } from '../../../html/page.js';
import type { ClientSummary, UserSummary } from '../../admin/service.js';

export interface AdminNav {
  users: string;
  clients: string;
  resourceServers: string;
  audit: string;
  grants: string;
}

export interface Notice {
  kind: 'notice' | 'error';
  text: string;
  /** A value to show once (a new secret or password), in a code element. */
  secret?: string;
}

function shell(title: string, nav: AdminNav, notice: Notice | undefined, body: SafeHtml): string {
  const navigation = html`<nav aria-label="Administration"><ul class="inline">
<li><a href="${nav.users}">Users</a></li><li><a href="${nav.clients}">Clients</a></li><li><a href="${nav.resourceServers}">Resource servers</a></li><li><a href="${nav.grants}">Grants and tokens</a></li><li><a href="${nav.audit}">Audit log</a></li>
</ul></nav>
${notice ? html`<p class="${notice.kind}" role="${notice.kind === 'error' ? 'alert' : 'status'}">${notice.text}${notice.secret ? html` <code>${notice.secret}</code>` : ''}</p>` : ''}
${body}
<p class="muted">Every change on these pages is recorded in the audit log.</p>`;
  return page(title, navigation, { subtitle: 'for operators', wide: true });
}

const when = (ms: number): string => `${new Date(ms).toISOString().replace('T', ' ').slice(0, 16)} UTC`;

export function usersPage(view: { nav: AdminNav; base: string; users: UserSummary[]; notice?: Notice }): string {
  const body = html`<section aria-labelledby="new-user"><h2 id="new-user">New user</h2>
<form method="post" action="${view.base}/create">
<label for="nu-username">Username</label><input id="nu-username" name="username" required autocapitalize="none" spellcheck="false">
<label for="nu-password">Password (at least 10 characters; leave empty for sign-in through an identity provider only)</label><input id="nu-password" name="password" type="password" autocomplete="new-password">
<label for="nu-name">Name</label><input id="nu-name" name="name">
<label for="nu-email">Email</label><input id="nu-email" name="email" type="email">
<label for="nu-fhir">fhirUser (e.g. Practitioner/123)</label><input id="nu-fhir" name="fhirUser">
<label><input type="checkbox" name="operator" value="yes"> Operator</label>
<button type="submit">Create user</button>
</form></section>
<section aria-labelledby="users"><h2 id="users">Users</h2>
<p class="muted">Which patients a user may select as patient context follows from their fhirUser (a patient: herself; a practitioner: every patient, or the linked ones under PRACTITIONER_PATIENTS=linked). An account without one selects nobody unless you grant it patients here: <code>all</code>, or Patient ids.</p>
<table><thead><tr><th scope="col">User</th><th scope="col">fhirUser</th><th scope="col">Patients</th><th scope="col">Sign-in</th><th scope="col">Status</th><th scope="col"><span class="muted">Actions</span></th></tr></thead><tbody>
${view.users.map(
  (
    u,
  ) => html`<tr><td><strong>${u.username}</strong>${u.name ? html`<br><span class="muted">${u.name}</span>` : ''}${u.roles.length ? html`<br><span class="muted">${u.roles.join(', ')}</span>` : ''}</td>
<td><form method="post" action="${view.base}/link"><input type="hidden" name="username" value="${u.username}"><label for="fu-${u.id}" class="visually-hidden">fhirUser of ${u.username}</label><input id="fu-${u.id}" name="fhirUser" value="${u.fhirUser ?? ''}" placeholder="none"><button type="submit" class="secondary">Link</button></form></td>
<td>${
    u.patients.by === 'fhirUser'
      ? html`<span class="muted">by fhirUser</span>`
      : html`<form method="post" action="${view.base}/patients"><input type="hidden" name="username" value="${u.username}"><label for="pa-${u.id}" class="visually-hidden">Patients ${u.username} may select (all, none, or ids)</label><input id="pa-${u.id}" name="patients" value="${u.patients.grant === 'all' ? 'all' : (u.patients.grant ?? []).join(' ')}" placeholder="none"><button type="submit" class="secondary">Set patients</button></form>`
  }</td>
<td>${u.federatedOnly ? '' : 'password'}${u.identities.map((i) => html`<br>${i.provider} <span class="muted">(${i.how}, last ${when(i.lastLoginAt)})</span>`)}</td>
<td>${u.locked ? 'locked' : 'active'}</td>
<td><form method="post" action="${view.base}/${u.locked ? 'unlock' : 'lock'}"><input type="hidden" name="username" value="${u.username}"><button type="submit" class="${u.locked ? 'secondary' : 'danger'}">${u.locked ? 'Unlock' : 'Lock'} ${u.username}</button></form>
<form method="post" action="${view.base}/reset-password"><input type="hidden" name="username" value="${u.username}"><label for="pw-${u.id}" class="visually-hidden">New password for ${u.username}</label><input id="pw-${u.id}" name="password" type="password" autocomplete="new-password" placeholder="new password" required><button type="submit" class="secondary">Reset password</button></form></td></tr>`,
)}
</tbody></table></section>`;
  return shell('Users', view.nav, view.notice, body);
}

export function clientsPage(view: { nav: AdminNav; base: string; clients: ClientSummary[]; notice?: Notice }): string {
  const body = html`<section aria-labelledby="clients"><h2 id="clients">Clients</h2>
<p class="muted">Clients from the sample data are rewritten from it on every start. First-party clients are the organisation's own apps: their users are not asked to consent, and silent sign-in (<code>prompt=none</code>) works for them.</p>
${view.clients.map(
  (c) => html`<section aria-labelledby="c-${c.clientId}"><h3 id="c-${c.clientId}">${c.name ?? c.clientId} <code class="muted">${c.clientId}</code></h3>
<p class="muted">${c.authMethod} · ${c.grantTypes.join(', ')}${c.firstParty ? ' · first-party' : ''}${c.disabled ? ' · disabled' : ''}${c.managedBy ? ` · managed by ${c.managedBy}` : ''}</p>
${
  c.disabled
    ? html`<form method="post" action="${view.base}/enable"><input type="hidden" name="client_id" value="${c.clientId}"><button type="submit" class="secondary">Enable ${c.clientId}</button></form>`
    : c.managedBy === 'bedside'
      ? ''
      : html`<form method="post" action="${view.base}/edit"><input type="hidden" name="client_id" value="${c.clientId}">
<label for="n-${c.clientId}">Name</label><input id="n-${c.clientId}" name="client_name" value="${c.name ?? ''}">
<label for="r-${c.clientId}">Redirect URIs (one per line)</label><textarea id="r-${c.clientId}" name="redirect_uris" rows="2">${c.redirectUris.join('\n')}</textarea>
<label for="p-${c.clientId}">Post-logout redirect URIs (one per line)</label><textarea id="p-${c.clientId}" name="post_logout_redirect_uris" rows="2">${c.postLogoutRedirectUris.join('\n')}</textarea>
<label for="s-${c.clientId}">Scope (the most this client may ever be granted)</label><textarea id="s-${c.clientId}" name="scope" rows="2">${c.scope ?? ''}</textarea>
<label><input type="checkbox" name="first_party" value="yes"${c.firstParty ? html` checked` : ''}> First-party (no consent page)</label>
<button type="submit">Save ${c.clientId}</button></form>
${['client_secret_basic', 'client_secret_post', 'client_secret_jwt'].includes(c.authMethod) ? html`<form method="post" action="${view.base}/rotate-secret"><input type="hidden" name="client_id" value="${c.clientId}"><button type="submit" class="secondary">Rotate secret of ${c.clientId}</button></form>` : ''}
<form method="post" action="${view.base}/disable"><input type="hidden" name="client_id" value="${c.clientId}"><button type="submit" class="danger">Disable ${c.clientId}</button></form>`
}
</section>`,
)}
</section>`;
  return shell('Clients', view.nav, view.notice, body);
}

export function resourceServersPage(view: { nav: AdminNav; base: string; fhirBaseUrl: string; servers: ResourceServer[]; notice?: Notice }): string {
  const body = html`<p>Besides the FHIR API (<code>${view.fhirBaseUrl}</code>), these APIs accept Bedside's access tokens. A client asks for a token for one with <code>resource=&lt;identifier&gt;</code> and gets a JWT whose <code>aud</code> is that identifier, holding only that API's scopes; the client's registered scope must list them.</p>
<section aria-labelledby="rs-list"><h2 id="rs-list">Resource servers</h2>
${
  view.servers.length === 0
    ? html`<p class="muted">None yet.</p>`
    : html`<table><thead><tr><th scope="col">Identifier (audience)</th><th scope="col">Name</th><th scope="col">Scopes</th><th scope="col"><span class="muted">Actions</span></th></tr></thead><tbody>
${view.servers.map(
  (
    r,
  ) => html`<tr><td><code>${r.identifier}</code></td><td>${r.name}</td><td><ul>${Object.entries(r.scopes).map(([s, d]) => html`<li><code>${s}</code> ${d}</li>`)}</ul></td>
<td>${r.source === 'config' ? html`<span class="muted">from RESOURCE_SERVERS</span>` : html`<form method="post" action="${view.base}/remove"><input type="hidden" name="identifier" value="${r.identifier}"><button type="submit" class="danger">Remove ${r.name}</button></form>`}</td></tr>`,
)}
</tbody></table>`
}</section>
<section aria-labelledby="rs-add"><h2 id="rs-add">Register or change a resource server</h2>
<form method="post" action="${view.base}/save">
<label for="rs-id">Identifier: the API's https URL</label><input id="rs-id" name="identifier" required placeholder="https://orders.example.org/api">
<label for="rs-name">Name</label><input id="rs-name" name="name">
<label for="rs-scopes">Scopes, one per line: <code>scope = description</code></label><textarea id="rs-scopes" name="scopes" rows="3" required placeholder="orders.read = Read orders"></textarea>
<label for="rs-ttl">Access token lifetime in seconds (60 to 3600; empty: the server default)</label><input id="rs-ttl" name="ttl" inputmode="numeric">
<button type="submit">Save resource server</button>
</form></section>`;
  return shell('Resource servers', view.nav, view.notice, body);
}
