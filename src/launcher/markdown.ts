/**
 * docs/tutorial.md as a page of the launcher, rendered by markdown-it (CommonMark with tables)
 * with heading ids from markdown-it-anchor for the page's links. Raw HTML in the source is
 * escaped, never passed through, and links or images with script or data URLs (other than
 * images) are dropped by markdown-it's link validation, so the page carries no markup of its own.
 */
import MarkdownIt from 'markdown-it';
import anchor from 'markdown-it-anchor';

const markdown = new MarkdownIt({ html: false, linkify: false, typographer: false }).use(anchor, { tabIndex: false });

export function renderMarkdown(source: string): string {
  return markdown.render(source);
}
