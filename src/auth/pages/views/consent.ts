/**
 * The consent page: one checkbox named `scope` per requested scope (value = the scope string),
 * checked by default, category sub-scopes offered for Observation and Condition, and
 * `decision=approve` / `decision=deny` (docs/contract.md).
 */
import { html } from '../../../html/template.js';
import { page } from '../../../html/page.js';

export interface ConsentScope {
  scope: string;
  description: string;
  /** Narrower alternatives (granular categories), unchecked by default. */
  options: Array<{ scope: string; label: string }>;
}

export interface ConsentView {
  action: string;
  clientName: string;
  clientUri?: string;
  userName: string;
  patientName?: string;
  encounter?: string;
  scopes: ConsentScope[];
  launchType: 'ehr' | 'standalone';
}

export function consentPage(view: ConsentView): string {
  return page(
    'Allow access?',
    html`<p><strong>${view.clientName}</strong>${view.clientUri ? html` (<a href="${view.clientUri}" rel="noopener noreferrer">${view.clientUri}</a>)` : ''} asks for access as <strong>${view.userName}</strong>.</p>
${view.patientName ? html`<p class="notice">Patient: <strong>${view.patientName}</strong>${view.encounter ? html` · Encounter ${view.encounter}` : ''}</p>` : ''}
<form method="post" action="${view.action}">
<fieldset><legend>Permissions requested (uncheck any you do not want to grant)</legend>
${view.scopes.map(
  (
    s,
    i,
  ) => html`<label class="choice"><input type="checkbox" name="scope" value="${s.scope}" checked aria-describedby="scope-${i}"><span id="scope-${i}">${s.description}<code>${s.scope}</code></span></label>
${
  s.options.length
    ? html`<fieldset class="sub"><legend>…or only these categories (uncheck the line above)</legend>
${s.options.map((o) => html`<label class="choice"><input type="checkbox" name="scope" value="${o.scope}"><span>${o.label}<code>${o.scope}</code></span></label>`)}
</fieldset>`
    : ''
}`,
)}
</fieldset>
<button type="submit" name="decision" value="approve">Allow</button>
<button type="submit" name="decision" value="deny" class="secondary">Deny</button>
</form>`,
  );
}
