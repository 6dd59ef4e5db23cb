/**
 * A browser without JavaScript, for driving the login, patient picker and consent pages the way a
 * plain HTTP client can (docs/contract.md): it keeps cookies, follows redirects until it reaches the
 * app's redirect URI, and reads and submits HTML forms.
 */

export interface FormField {
  name: string;
  value: string;
  type: string;
  checked: boolean;
}

export interface HtmlForm {
  method: string;
  action: string;
  fields: FormField[];
  buttons: Array<{ name: string; value: string }>;
}

const attr = (tag: string, name: string): string | undefined => {
  const m = new RegExp(`\\s${name}="([^"]*)"`, 'i').exec(tag);
  return m ? decodeEntities(m[1]!) : undefined;
};

function decodeEntities(s: string): string {
  return s
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

/** Every form of a page, with its inputs and submit buttons. */
export function parseForms(html: string, baseUrl: string): HtmlForm[] {
  const forms: HtmlForm[] = [];
  for (const m of html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/gi)) {
    const [, open, inner] = m as unknown as [string, string, string];
    const fields = [...inner.matchAll(/<input\b[^>]*>/gi)].map(([tag]) => ({
      name: attr(tag, 'name') ?? '',
      value: attr(tag, 'value') ?? '',
      type: (attr(tag, 'type') ?? 'text').toLowerCase(),
      checked: /\schecked\b/i.test(tag),
    }));
    const buttons = [...inner.matchAll(/<button\b[^>]*>/gi)].map(([tag]) => ({ name: attr(tag, 'name') ?? '', value: attr(tag, 'value') ?? '' }));
    forms.push({ method: (attr(open, 'method') ?? 'get').toUpperCase(), action: new URL(attr(open, 'action') ?? '', baseUrl).href, fields, buttons });
  }
  return forms;
}

export interface Page {
  url: string;
  status: number;
  html: string;
  forms: HtmlForm[];
}

export class Browser {
  readonly cookies = new Map<string, string>();

  constructor(readonly origin?: string) {}

  #store(response: Response): void {
    for (const line of response.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq).trim();
      const value = pair!.slice(eq + 1).trim();
      if (/expires=Thu, 01 Jan 1970/i.test(line) || value === '') this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }

  async request(url: string, init: { method?: string; body?: URLSearchParams; headers?: Record<string, string> } = {}): Promise<Response> {
    const headers: Record<string, string> = { ...init.headers };
    if (this.cookies.size) headers.cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    if (init.body) headers['content-type'] = 'application/x-www-form-urlencoded';
    if (init.method === 'POST' && this.origin) headers.origin = this.origin;
    const response = await fetch(url, { method: init.method ?? 'GET', headers, redirect: 'manual', ...(init.body ? { body: init.body } : {}) });
    this.#store(response);
    return response;
  }

  /**
   * Requests `url` and follows redirects. Stops at a URL starting with `stopAt` (returned without
   * being fetched) or at a page (returned with its forms).
   */
  async go(url: string, options: { stopAt?: string; method?: string; body?: URLSearchParams } = {}): Promise<{ stoppedAt: string } | Page> {
    let current = url;
    let init: { method?: string; body?: URLSearchParams } = {
      ...(options.method ? { method: options.method } : {}),
      ...(options.body ? { body: options.body } : {}),
    };
    for (let hops = 0; hops < 20; hops++) {
      if (options.stopAt && current.startsWith(options.stopAt)) return { stoppedAt: current };
      const response = await this.request(current, init);
      const location = response.headers.get('location');
      if (response.status >= 300 && response.status < 400 && location) {
        current = new URL(location, current).href;
        init = {};
        continue;
      }
      const html = await response.text();
      return { url: current, status: response.status, html, forms: parseForms(html, current) };
    }
    throw new Error('too many redirects');
  }

  /** Submits a form: its hidden and checked fields, overridden or extended by `values`, with a button. */
  async submit(form: HtmlForm, values: Record<string, string | string[]> = {}, button?: { name: string; value: string }, stopAt?: string) {
    const body = new URLSearchParams();
    for (const f of form.fields) {
      if (f.name in values) continue;
      if (f.type === 'checkbox' || f.type === 'radio') {
        if (f.checked) body.append(f.name, f.value);
      } else if (f.name) body.append(f.name, f.value);
    }
    for (const [name, value] of Object.entries(values)) for (const v of Array.isArray(value) ? value : [value]) body.append(name, v);
    if (button?.name) body.append(button.name, button.value);
    if (form.method === 'GET') {
      const url = new URL(form.action);
      url.search = body.toString();
      return this.go(url.href, { ...(stopAt ? { stopAt } : {}) });
    }
    return this.go(form.action, { method: 'POST', body, ...(stopAt ? { stopAt } : {}) });
  }
}

export function isPage(result: { stoppedAt: string } | Page): result is Page {
  return 'html' in result;
}

export function asPage(result: { stoppedAt: string } | Page): Page {
  if (!isPage(result)) throw new Error(`expected a page, got a redirect to ${result.stoppedAt}`);
  return result;
}

export function asRedirect(result: { stoppedAt: string } | Page): URL {
  if (isPage(result))
    throw new Error(
      `expected a redirect, got a page (${result.status}) ${result.url}: ${result.html
        .replace(/<[^>]+>/g, ' ')
        .replace(/\s+/g, ' ')
        .slice(0, 400)}`,
    );
  return new URL(result.stoppedAt);
}

/** The form posting to `pathEnd` (e.g. "/login", "/consent"). */
export function formTo(page: Page, pathEnd: string): HtmlForm {
  const form = page.forms.find((f) => new URL(f.action).pathname.endsWith(pathEnd));
  if (!form)
    throw new Error(
      `no form to ${pathEnd} on ${page.url}: ${page.html
        .replace(/<[^>]+>/g, ' ')
        .replace(/\s+/g, ' ')
        .slice(0, 400)}`,
    );
  return form;
}
