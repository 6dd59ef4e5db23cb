/**
 * RP-initiated logout (`end_session_endpoint` = `/oauth/logout`): the pages oidc-provider renders,
 * as Bedside pages that work without JavaScript. "Sign out" ends the Bedside session: the session
 * is deleted, and with it every grant given in it that is not `offline_access` (oidc-provider
 * revokes them), so the apps' `online_access` refresh tokens and their access tokens stop working.
 * "Stay signed in" only ends the requesting app's authorization in this session. Either way the
 * browser then goes to the app's registered `post_logout_redirect_uri` (with its `state`).
 *
 * https://openid.net/specs/openid-connect-rpinitiated-1_0.html
 * https://github.com/panva/node-oidc-provider/tree/main/docs#featuresrpinitiatedlogout
 */
import type { KoaContextWithOIDC } from 'oidc-provider';
import { html } from '../../../html/template.js';
import { page } from '../../../html/page.js';

export function logoutPage(view: { action: string; xsrf: string; clientName?: string }): string {
  return page(
    'Sign out',
    html`<p>${view.clientName ? html`<strong>${view.clientName}</strong> asks to sign you out of Bedside.` : 'Do you want to sign out of Bedside?'}</p>
<p class="muted">Signing out ends your Bedside session: apps you allowed only while signed in lose their access. Apps you allowed offline access keep it until you revoke them.</p>
<form method="post" action="${view.action}">
<input type="hidden" name="xsrf" value="${view.xsrf}">
<button type="submit" name="logout" value="yes">Sign out</button>
<button type="submit" class="secondary">Stay signed in</button>
</form>`,
  );
}

export function signedOutPage(view: { clientName?: string }): string {
  return page('Signed out', html`<p role="status">You are signed out of Bedside${view.clientName ? html` (from ${view.clientName})` : ''}.</p>`);
}

/** `features.rpInitiatedLogout.logoutSource`. */
export function logoutSource(ctx: KoaContextWithOIDC): void {
  const state = ctx.oidc.session?.state as { secret?: string } | undefined;
  const client = ctx.oidc.client;
  ctx.type = 'html';
  ctx.body = logoutPage({
    action: ctx.oidc.urlFor('end_session_confirm'),
    xsrf: String(state?.secret ?? ''),
    ...(client ? { clientName: client.clientName ?? client.clientId } : {}),
  });
}

/** `features.rpInitiatedLogout.postLogoutSuccessSource` (no post_logout_redirect_uri given). */
export function postLogoutSuccessSource(ctx: KoaContextWithOIDC): void {
  const client = ctx.oidc.client;
  ctx.type = 'html';
  ctx.body = signedOutPage(client ? { clientName: client.clientName ?? client.clientId } : {});
}
