/**
 * The page shell of every server-rendered page (sign-in, consent, account, operators' pages, the
 * launcher's tutorial): plain HTML that works without JavaScript, one `<main>` landmark, a skip
 * link, Bedside's stylesheet and its top navigation.
 */
import { html, raw, type SafeHtml } from './template.js';

export const STYLESHEET = '/styles/bedside.css';

export interface PageOptions {
  /** Shown after the brand in the masthead (e.g. "for operators"). */
  subtitle?: string;
  /** A wide card, for tables. */
  wide?: boolean;
  /** Long-form text (the tutorial), whose own heading opens the page: no `<h1>` from the title. */
  prose?: boolean;
  /** The masthead's links; default: the launcher and the tutorial. */
  nav?: Array<{ href: string; label: string }>;
}

const DEFAULT_NAV = [
  { href: '/', label: 'Launcher' },
  { href: '/tutorial/', label: 'Tutorial' },
];

export function page(title: string, body: SafeHtml, options: PageOptions = {}): string {
  const card = ['card', ...(options.wide || options.prose ? ['wide'] : []), ...(options.prose ? ['prose'] : [])].join(' ');
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="same-origin">
<title>${title} · Bedside</title>
<link rel="stylesheet" href="${STYLESHEET}">
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header class="masthead"><a class="brand" href="/">Bedside</a>${options.subtitle ? html` <span class="subtitle">${options.subtitle}</span>` : ''}<nav class="topnav" aria-label="Bedside">${(options.nav ?? DEFAULT_NAV).map((l) => html`<a href="${l.href}">${l.label}</a>`)}</nav></header>
<main id="main" class="${card}">
${options.prose ? '' : html`<h1>${title}</h1>\n`}${body}
</main>
</body>
</html>`.value;
}

/** Trusted markup made elsewhere (rendered Markdown) as a page body. */
export function trusted(markup: string): SafeHtml {
  return raw(markup);
}
