/**
 * Helpers of the web-security tests: a browser without JavaScript that keeps every response's
 * headers (Set-Cookie, CSP ...), and the sign-in steps written once.
 */
import { asPage, Browser, formTo, isPage, type HtmlForm, type Page } from '../auth/support/browser.js';
import { sampleAuthorization } from '../auth/support/clients.js';
import type { TestServer } from '../auth/support/server.js';

export interface Seen {
  method: string;
  url: string;
  status: number;
  headers: Headers;
}

/** A Browser that records every response it gets. */
export class RecordingBrowser extends Browser {
  readonly seen: Seen[] = [];

  override async request(url: string, init: { method?: string; body?: URLSearchParams; headers?: Record<string, string> } = {}): Promise<Response> {
    const response = await super.request(url, init);
    this.seen.push({ method: init.method ?? 'GET', url, status: response.status, headers: response.headers });
    return response;
  }

  /** Every Set-Cookie header received so far. */
  setCookies(): string[] {
    return this.seen.flatMap((s) => s.headers.getSetCookie());
  }

  /** The headers of the last response to `url` (exact match). */
  headersOf(url: string): Headers {
    const found = this.seen.findLast((s) => s.url === url);
    if (!found) throw new Error(`no response from ${url}`);
    return found.headers;
  }
}

/** The form's hidden fields (the CSRF token among them) as name/value pairs. */
export function hiddenFields(form: HtmlForm): Array<[string, string]> {
  return form.fields.filter((f) => f.type === 'hidden').map((f) => [f.name, f.value]);
}

/** The form's fields as a browser would submit them, with `values` on top, minus `omit`. */
export function formBody(form: HtmlForm, values: Record<string, string | string[]> = {}, omit: string[] = []): URLSearchParams {
  const body = new URLSearchParams();
  for (const f of form.fields) {
    if (!f.name || f.name in values || omit.includes(f.name)) continue;
    if ((f.type === 'checkbox' || f.type === 'radio') && !f.checked) continue;
    body.append(f.name, f.value);
  }
  for (const [name, value] of Object.entries(values)) for (const v of Array.isArray(value) ? value : [value]) body.append(name, v);
  return body;
}

/** Opens the sample app's authorization request and returns the sign-in page. */
export async function loginPage(browser: Browser, server: TestServer, overrides: Record<string, string | undefined> = {}) {
  const request = sampleAuthorization(server, overrides);
  const page = asPage(await browser.go(request.url, { stopAt: request.redirectUri }));
  return { request, page, form: formTo(page, '/login') };
}

/** Signs in on `page` and returns the next page (or the redirect back to the app). */
export async function signIn(browser: Browser, page: Page, username: string, password: string, stopAt: string) {
  return browser.submit(formTo(page, '/login'), { username, password }, undefined, stopAt);
}

/** The visible text of a page. */
export function text(page: Page): string {
  return page.html
    .replace(/<[^>]+>/g, ' ')
    .replace(/&#39;/g, "'")
    .replace(/\s+/g, ' ');
}

export { asPage, formTo, isPage, type Page };
