/**
 * The authorization server's one error page: what oidc-provider renders when it must not redirect
 * (unknown client, unregistered redirect_uri), and every refusal of Bedside's own pages
 * (`PageError`, auth/pages/errors.ts).
 */
import { page } from './page.js';
import { html } from './template.js';

export function errorPage(view: { error: string; description?: string; status?: number }): string {
  return page(
    'Something went wrong',
    html`<p class="error" role="alert"><strong>${view.error}</strong>${view.description ? html`: ${view.description}` : ''}</p>
<p>Nothing was sent back to the application. If you followed a link from an app, the app's settings (client id or redirect URI) do not match what is registered with Bedside.</p>`,
  );
}
