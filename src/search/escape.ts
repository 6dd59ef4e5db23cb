/**
 * Search value escaping: `\,` `\$` `\|` and `\\` stand for the literal characters; unescaped
 * `,` separates OR alternatives, `$` composite components and `|` token/quantity parts.
 *
 * https://hl7.org/fhir/R4/search.html#escaping
 */

/** Splits on each unescaped `separator`; the pieces keep their escapes. */
export function splitEscaped(value: string, separator: ',' | '$' | '|'): string[] {
  const pieces: string[] = [];
  let start = 0;
  for (let i = 0; i < value.length; i++) {
    const ch = value[i];
    if (ch === '\\') i++;
    else if (ch === separator) {
      pieces.push(value.slice(start, i));
      start = i + 1;
    }
  }
  pieces.push(value.slice(start));
  return pieces;
}

/** Splits at the first unescaped `|`: [before, after], or [value] when there is none. */
export function splitFirstBar(value: string): [string] | [string, string] {
  for (let i = 0; i < value.length; i++) {
    const ch = value[i];
    if (ch === '\\') i++;
    else if (ch === '|') return [value.slice(0, i), value.slice(i + 1)];
  }
  return [value];
}

/** Removes the escapes of `\,` `\$` `\|` `\\`; other backslashes stay as they are. */
export function unescapeValue(value: string): string {
  return value.includes('\\') ? value.replace(/\\([,$|\\])/g, '$1') : value;
}
