/**
 * The user's side of an authorization, driven through the HTML pages: sign in, pick a patient
 * (and an encounter) when asked, consent (all scopes, a subset, or deny).
 */
import { asPage, asRedirect, type Browser, formTo, isPage, type Page } from './browser.js';

export interface UserChoices {
  username: string;
  password: string;
  patient?: string;
  encounter?: string;
  /** The scopes to submit, from every scope checkbox (requested and granular); default: those checked. */
  grant?: (offered: string[]) => string[];
  decision?: 'approve' | 'deny';
}

/** Runs the pages from the authorization URL to the redirect back to the app; returns that URL. */
export async function authorizeInBrowser(browser: Browser, authorizationUrl: string, redirectUri: string, user: UserChoices): Promise<URL> {
  let result = await browser.go(authorizationUrl, { stopAt: redirectUri });
  for (let step = 0; step < 6; step++) {
    if (!isPage(result)) return asRedirect(result);
    const page: Page = result;
    const path = page.forms.map((f) => new URL(f.action).pathname);
    if (path.some((p) => p.endsWith('/login'))) {
      result = await browser.submit(formTo(page, '/login'), { username: user.username, password: user.password }, undefined, redirectUri);
    } else if (path.some((p) => p.endsWith('/patient'))) {
      result = await browser.submit(formTo(page, '/patient'), user.patient ? { patient: user.patient } : {}, undefined, redirectUri);
    } else if (path.some((p) => p.endsWith('/encounter'))) {
      result = await browser.submit(formTo(page, '/encounter'), user.encounter !== undefined ? { encounter: user.encounter } : {}, undefined, redirectUri);
    } else if (path.some((p) => p.endsWith('/consent'))) {
      const form = formTo(page, '/consent');
      const checked = form.fields.filter((f) => f.name === 'scope' && f.checked).map((f) => f.value);
      const all = form.fields.filter((f) => f.name === 'scope').map((f) => f.value);
      const chosen = user.grant ? user.grant(all) : checked;
      result = await browser.submit(form, { scope: chosen }, { name: 'decision', value: user.decision ?? 'approve' }, redirectUri);
    } else {
      throw new Error(
        `unexpected page ${page.url} (${page.status}): ${page.html
          .replace(/<[^>]+>/g, ' ')
          .replace(/\s+/g, ' ')
          .slice(0, 500)}`,
      );
    }
  }
  return asRedirect(result);
}

export { asPage };
