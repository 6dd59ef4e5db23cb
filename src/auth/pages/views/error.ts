/** The error page oidc-provider renders when it must not redirect (unknown client, unregistered redirect_uri). */
import { html } from '../../../html/template.js';
import { page } from '../../../html/page.js';

export function errorPage(view: { error: string; description?: string; status?: number }): string {
  return page(
    'Something went wrong',
    html`<p class="error" role="alert"><strong>${view.error}</strong>${view.description ? html`: ${view.description}` : ''}</p>
<p>Nothing was sent back to the application. If you followed a link from an app, the app's settings (client id or redirect URI) do not match what is registered with Bedside.</p>`,
  );
}
