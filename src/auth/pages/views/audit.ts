/**
 * The operators' audit page: denied FHIR requests and writes, newest first (access/audit-log.ts).
 */
import type { AuditRecord } from '../../../access/audit-log.js';
import { html } from '../../../html/template.js';
import { page } from '../../../html/page.js';

export function auditPage(view: { records: AuditRecord[]; outcome?: string }): string {
  const filters = [
    ['', 'Everything'],
    ['denied', 'Denied'],
    ['written', 'Writes'],
    ['failed-write', 'Failed writes'],
    ['admin', 'Administration'],
  ];
  return page(
    'Audit log',
    html`<p>Every FHIR request refused for lack of a valid token or scope (401, 403) and every write, newest first. Kept for 90 days in the shared store (collection <code>audit</code>). Also as JSON: add <code>?format=json</code>.</p>
<form method="get"><label for="outcome">Show</label> <select id="outcome" name="outcome">${filters.map(([value, label]) => html`<option value="${value}"${view.outcome === value ? html` selected` : ''}>${label}</option>`)}</select> <button type="submit">Filter</button></form>
${
  view.records.length === 0
    ? html`<p class="muted">Nothing recorded yet.</p>`
    : html`<table><thead><tr><th scope="col">Time (UTC)</th><th scope="col">Outcome</th><th scope="col">Request</th><th scope="col">Who</th><th scope="col">Reason</th></tr></thead><tbody>
${view.records.map((r) => html`<tr><td>${r.time.replace('T', ' ').slice(0, 19)}</td><td>${r.outcome} (${String(r.status)})</td><td>${r.action ? html`<code>${r.action}</code> ${r.target ?? ''}` : html`<code>${r.method} ${r.path || '/'}</code>`}${r.resource ? html`<br><span class="muted">${r.resource}</span>` : ''}</td><td>${r.subject ?? '—'}${r.clientId ? html`<br><span class="muted">client ${r.clientId}</span>` : ''}${r.fhirUser ? html`<br><span class="muted">${r.fhirUser}</span>` : ''}${r.patient ? html`<br><span class="muted">patient ${r.patient}</span>` : ''}${r.claims ? Object.entries(r.claims).map(([k, v]) => html`<br><span class="muted">${k}: ${String(v)}</span>`) : ''}</td><td>${r.reason ?? ''}</td></tr>`)}
</tbody></table>`
}`,
    { subtitle: 'Operators' },
  );
}
