/**
 * A user signing in through the corporate identity provider, in a browser without JavaScript:
 * Bedside's sign-in page → "Sign in with <provider>" → the provider's sign-in page → back to
 * Bedside (callback, then the interaction) → consent → the app's redirect URI.
 */
import { type Browser, formTo, isPage, type Page } from '../../auth/support/browser.js';

export interface FederatedUser {
  username: string;
  password: string;
  /** The provider button to press (its id); default the first. */
  provider?: string;
  /** Scopes to keep on the consent page; default all checked. */
  grant?: (offered: string[]) => string[];
}

/** Runs the pages to the app's redirect URI (returned as a URL), or returns the page where it stopped. */
export async function federatedSignIn(
  browser: Browser,
  authorizationUrl: string,
  redirectUri: string,
  idpIssuer: string,
  user: FederatedUser,
): Promise<URL | Page> {
  let result = await browser.go(authorizationUrl, { stopAt: redirectUri });
  let pressed = false;
  let signedInUpstream = false;
  for (let step = 0; step < 8; step++) {
    if (!isPage(result)) return new URL(result.stoppedAt);
    const page = result;
    const actions = page.forms.map((f) => new URL(f.action).pathname);
    const federate = page.forms.find((f) => new URL(f.action).pathname.includes(`/federate/${user.provider ?? ''}`));
    if (federate && !pressed) {
      pressed = true;
      result = await browser.submit(federate, {}, undefined, redirectUri);
    } else if (page.url.startsWith(idpIssuer) && actions.some((a) => a.endsWith('/login')) && !signedInUpstream) {
      signedInUpstream = true;
      result = await browser.submit(formTo(page, '/login'), { username: user.username, password: user.password }, undefined, redirectUri);
    } else if (actions.some((a) => a.endsWith('/consent'))) {
      const form = formTo(page, '/consent');
      const all = form.fields.filter((f) => f.name === 'scope').map((f) => f.value);
      const checked = form.fields.filter((f) => f.name === 'scope' && f.checked).map((f) => f.value);
      result = await browser.submit(form, { scope: user.grant ? user.grant(all) : checked }, { name: 'decision', value: 'approve' }, redirectUri);
    } else {
      return page;
    }
  }
  return isPage(result) ? result : new URL(result.stoppedAt);
}

export function text(page: Page): string {
  return page.html
    .replace(/<[^>]+>/g, ' ')
    .replace(/&#39;/g, "'")
    .replace(/\s+/g, ' ');
}
