/** The sign-in page: fields `username` and `password` (docs/contract.md), posted to the interaction. */
import { html } from '../../../html/template.js';
import { page } from '../../../html/page.js';

export interface LoginView {
  action: string;
  abortAction: string;
  clientName: string;
  username?: string;
  error?: string;
  /** Show where the sample accounts are documented (when sample data is loaded). */
  sampleHint?: boolean;
  /** Upstream identity providers, one sign-in button each (federation/). */
  federation?: Array<{ name: string; action: string }>;
  /** Whether the username and password form is offered (LOCAL_LOGIN; default true). */
  localLogin?: boolean;
}

export function loginPage(view: LoginView): string {
  return page(
    'Sign in',
    html`<p><strong>${view.clientName}</strong> wants to use your Bedside account.</p>
${view.error ? html`<p class="error" role="alert" id="login-error">${view.error}</p>` : ''}
${(view.federation ?? []).map((p) => html`<form method="post" action="${p.action}"><button type="submit">Sign in with ${p.name}</button></form>`)}
${
  view.localLogin === false
    ? ''
    : html`<form method="post" action="${view.action}" autocomplete="on">
<label for="username">Username</label>
<input type="text" id="username" name="username" autocomplete="username" autocapitalize="none" spellcheck="false" required value="${view.username ?? ''}"${view.error ? html` aria-describedby="login-error"` : ''}>
<label for="password">Password</label>
<input type="password" id="password" name="password" autocomplete="current-password" required>
<button type="submit">Sign in</button>
</form>`
}
<form method="post" action="${view.abortAction}"><button type="submit" class="secondary">Cancel and return to the app</button></form>
${view.sampleHint && view.localLogin !== false ? html`<p class="muted">Sample accounts are listed in the README (for example <code>dr.carter</code> or <code>amy.shaw</code>, password <code>bedside-demo</code>).</p>` : ''}`,
  );
}
