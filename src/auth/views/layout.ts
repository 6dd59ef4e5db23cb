/**
 * The page shell shared by the login, patient picker, consent, error and account pages: plain
 * HTML that works without JavaScript, one `<main>` landmark, a skip link and labelled controls.
 */
import { html, type SafeHtml } from './html.js';

export const STYLESHEET = '/styles/bedside.css';

export function page(title: string, body: SafeHtml, options: { subtitle?: string } = {}): string {
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
<header class="masthead"><a class="brand" href="/">Bedside</a>${options.subtitle ? html` <span class="subtitle">${options.subtitle}</span>` : ''}<nav class="topnav" aria-label="Bedside"><a href="/">Launcher</a><a href="/tutorial/">Tutorial</a></nav></header>
<main id="main" class="card">
<h1>${title}</h1>
${body}
</main>
</body>
</html>`.value;
}
