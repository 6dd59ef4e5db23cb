/**
 * The narrative `div` (type xhtml): in JSON a string holding the XHTML element, in XML the element
 * itself, in the XHTML namespace (https://hl7.org/fhir/R4/narrative.html#xhtml,
 * https://hl7.org/fhir/R4/json.html#xhtml).
 *
 * JSON to XML writes the string as it is, so that XML to JSON (which takes the element's source
 * text back, see read.ts) gives the same string. Stored narratives passed the validator's txt-1
 * check (well-formed XHTML, the five XML entities only, no comments or CDATA); the scan here
 * checks again what embedding needs, so that a string that is not one balanced element can never
 * change the XML around it.
 */
import { notAcceptable } from '../../r4/errors.js';
import { XHTML_NS } from './model.js';

const ENTITY = /^&(?:amp|lt|gt|quot|apos|#[0-9]{1,7}|#x[0-9A-Fa-f]{1,6});/;
/** Characters XML 1.0 cannot carry: C0 controls but tab, LF and CR; U+FFFE, U+FFFF; unpaired surrogates. */
export const NOT_XML_CHAR = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * The div as XML to embed: the string itself, with the XHTML namespace declared on the root
 * element when the string leaves it out (it is optional in JSON, required in XML).
 * Throws 406 when the string is not a single well-formed `div` element.
 */
export function divForXml(div: string): string {
  const root = checkFragment(div);
  if (!root) throw notAcceptable('A narrative div is not well-formed XHTML, so the resource cannot be written as XML; request JSON');
  if (/\sxmlns\s*=/.test(div.slice(root.start, root.attributesEnd))) return div;
  return `${div.slice(0, root.start)}<div xmlns="${XHTML_NS}"${div.slice(root.start + 4)}`;
}

/**
 * Checks that `text` is one element named `div` (whitespace and comments around it) with
 * balanced, well-formed tags, quoted attributes, the XML entities only and XML characters only.
 * Returns where the root's start tag begins and where its attributes end, or undefined. Linear
 * in the length.
 */
function checkFragment(text: string): { start: number; attributesEnd: number } | undefined {
  if (NOT_XML_CHAR.test(text)) return undefined;
  const open: string[] = [];
  let root: { start: number; attributesEnd: number } | undefined;
  let i = 0;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c === 60 /* < */) {
      if (text.startsWith('<!--', i)) {
        const end = text.indexOf('-->', i + 4);
        if (end < 0 || text.indexOf('--', i + 4) < end) return undefined;
        i = end + 3;
        continue;
      }
      if (open.length === 0 && root) return undefined; // a second element after the root
      if (text.charCodeAt(i + 1) === 47 /* / */) {
        const end = text.indexOf('>', i);
        if (end < 0 || text.slice(i + 2, end).trimEnd() !== open.pop()) return undefined;
        i = end + 1;
        continue;
      }
      const tag = startTag(text, i);
      if (!tag || (!root && tag.name !== 'div')) return undefined;
      root ??= { start: i, attributesEnd: tag.attributesEnd };
      if (!tag.empty) open.push(tag.name);
      i = tag.end;
      continue;
    }
    if (open.length === 0) {
      if (c !== 32 && c !== 9 && c !== 10 && c !== 13) return undefined; // text outside the root
    } else if (c === 38 /* & */ && !ENTITY.test(text.slice(i, i + 12))) {
      return undefined;
    } else if (c === 62 /* > */ && text.startsWith(']]>', i - 2)) {
      return undefined;
    }
    i++;
  }
  return open.length === 0 ? root : undefined;
}

const isSpace = (c: number) => c === 32 || c === 9 || c === 10 || c === 13;
const isNameStart = (c: number) => (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;
const isNameChar = (c: number) => isNameStart(c) || (c >= 48 && c <= 58) || c === 45 || c === 46;

/** A start tag at `i`: its name, where its attributes end, whether it is empty (`/>`), and its end. */
function startTag(text: string, i: number): { name: string; attributesEnd: number; empty: boolean; end: number } | undefined {
  let j = i + 1;
  if (!isNameStart(text.charCodeAt(j))) return undefined;
  while (isNameChar(text.charCodeAt(j))) j++;
  const name = text.slice(i + 1, j);
  for (;;) {
    const start = j;
    while (isSpace(text.charCodeAt(j))) j++;
    const c = text.charCodeAt(j);
    if (c === 62 /* > */) return { name, attributesEnd: j, empty: false, end: j + 1 };
    if (c === 47 /* / */) return text.charCodeAt(j + 1) === 62 ? { name, attributesEnd: j, empty: true, end: j + 2 } : undefined;
    if (j === start || !isNameStart(c)) return undefined;
    while (isNameChar(text.charCodeAt(j))) j++;
    while (isSpace(text.charCodeAt(j))) j++;
    if (text.charCodeAt(j) !== 61 /* = */) return undefined;
    j++;
    while (isSpace(text.charCodeAt(j))) j++;
    const quote = text.charCodeAt(j);
    if (quote !== 34 && quote !== 39) return undefined;
    const close = text.indexOf(quote === 34 ? '"' : "'", j + 1);
    if (close < 0) return undefined;
    for (let k = j + 1; k < close; k++) {
      const v = text.charCodeAt(k);
      if (v === 60 /* < */ || (v === 38 /* & */ && !ENTITY.test(text.slice(k, k + 12)))) return undefined;
    }
    j = close + 1;
  }
}

/** Escapes text for an XHTML text node. */
export function escapeText(text: string): string {
  return text.replace(/[&<>]/g, (c) => (c === '&' ? '&amp;' : c === '<' ? '&lt;' : '&gt;'));
}

/** Escapes an attribute value (double-quoted); whitespace other than space as character references, so it survives attribute normalization. */
export function escapeAttribute(value: string): string {
  return value.replace(/[&<>"\n\r\t]/g, (c) => ATTRIBUTE_ESCAPES[c]!);
}

const ATTRIBUTE_ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  '\n': '&#10;',
  '\r': '&#13;',
  '\t': '&#9;',
};
