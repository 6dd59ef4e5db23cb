/**
 * Narrative rules (https://hl7.org/fhir/R4/narrative.html#rules): txt-1 (only basic XHTML) and
 * txt-2 (some content). Both are `htmlChecks()` in R4; FHIRPath.js implements that function as a
 * single-pass, linear XHTML scanner, which txt-1 uses. txt-2 is checked here, so that an empty
 * narrative is reported once, as txt-2.
 */
import { evaluateFhirPath } from './fhirpath.js';
import type { NativeCheck, NativeInvariant, ValueCheck } from './native-logic.js';

/**
 * txt-2: "some non-whitespace content (text or an image)". A scan outside tags and comments; an
 * `<img` with a `src` counts as content, as in the R4 XPath and FHIRPath.js.
 */
function hasNarrativeContent(div: string): boolean {
  let i = 0;
  while (i < div.length) {
    const c = div.charCodeAt(i);
    if (c === 60) {
      if (div.startsWith('<!--', i)) {
        const end = div.indexOf('-->', i + 4);
        if (end < 0) return true;
        i = end + 3;
        continue;
      }
      const end = div.indexOf('>', i);
      if (end < 0) return true;
      if (div.startsWith('<img', i) && /\ssrc\s*=/.test(div.slice(i, end))) return true;
      i = end + 1;
      continue;
    }
    if (c !== 32 && c !== 9 && c !== 10 && c !== 13) return true;
    i++;
  }
  return false;
}

/**
 * `xml:lang` is the XHTML spelling of `lang` (XHTML 1.0 C.7 asks for both); the FHIR validator
 * accepts it, FHIRPath.js' htmlChecks() does not (it refuses every prefixed attribute), so it is
 * removed before the check.
 */
const XML_LANG = /\sxml:lang=(?:"[^"<]*"|'[^'<]*')/g;

const narrative = (check: ValueCheck) => check as unknown as NativeCheck;

export const NARRATIVE: NativeInvariant[] = [
  {
    key: 'txt-1',
    expression: 'htmlChecks()',
    onValue: true,
    nativeOnly: true,
    // An empty narrative is txt-2's failure; report it once, there.
    check: narrative((div, env) =>
      typeof div !== 'string' ? null : !hasNarrativeContent(div) ? true : evaluateFhirPath('Narrative.div', 'htmlChecks()', div.replace(XML_LANG, ''), env),
    ),
  },
  {
    key: 'txt-2',
    expression: 'htmlChecks()',
    onValue: true,
    nativeOnly: true,
    check: narrative((div) => (typeof div !== 'string' ? null : hasNarrativeContent(div))),
  },
];
