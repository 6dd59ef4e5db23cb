/**
 * Full-text search: `_text` (the narrative) and `_content` (the whole resource). Words are made
 * here, once, for both the index rows and the queries, so both stores compare the same words:
 *
 * - a word is a run of letters and digits (Unicode); everything else separates words;
 * - case and accents do not count (compatibility decomposition, marks removed, lower case);
 * - English words are reduced to their stem (Porter's algorithm, the `stemmer` package), so
 *   `attacks`, `attacked` and `attack` are the same word; words with digits or letters outside
 *   a-z are kept as they are. There are no stop words.
 *
 * Query syntax (one value; `,` separates alternatives as for any parameter, `\,` is a comma):
 * words must all occur (in any order); `"quoted words"` must occur one after another; `OR`
 * (in capitals) between two terms lets either occur: `heart "blood pressure" OR hypertension`
 * finds resources with `heart` and with `blood pressure` or `hypertension`.
 *
 * https://hl7.org/fhir/R4/search.html#text and https://hl7.org/fhir/R4/search.html#content
 */
import { Parser } from 'htmlparser2';
import { LRUCache } from 'lru-cache';
import { stemmer } from 'stemmer';
import { badRequest, tooCostly } from '../r4/errors.js';
import type { Condition } from '../storage/search-index.js';
import { splitEscaped, unescapeValue } from './escape.js';

/** Words indexed per parameter and resource; later words are not found. */
export const MAX_WORDS = 20_000;
/** Most words or quoted phrases one query value may hold (each is an index lookup). */
export const MAX_QUERY_TERMS = 32;

const MARKS = /\p{M}+/gu;
const WORD = /[\p{L}\p{N}]+/gu;
const ENGLISH = /^[a-z]+$/;
/** ASCII text needs no decomposition, and its letters and digits are these (the common case, faster). */
const ASCII = /^[\x00-\x7f]*$/;
const ASCII_WORD = /[a-z0-9]+/g;

/** Stems remembered (words repeat a lot). */
const STEMS = new LRUCache<string, string>({ max: 50_000 });

function stem(word: string): string {
  if (!ENGLISH.test(word)) return word;
  let stemmed = STEMS.get(word);
  if (stemmed === undefined) {
    STEMS.set(word, (stemmed = stemmer(word)));
  }
  return stemmed;
}

/** The words of a text, normalized and stemmed, appended to `out` until it holds `limit`. */
export function wordsOf(text: string, out: string[] = [], limit = MAX_WORDS): string[] {
  if (out.length >= limit) return out;
  const ascii = ASCII.test(text);
  const folded = ascii ? text.toLowerCase() : text.normalize('NFKD').replace(MARKS, '').toLowerCase();
  for (const match of folded.matchAll(ascii ? ASCII_WORD : WORD)) {
    out.push(stem(match[0]));
    if (out.length >= limit) break;
  }
  return out;
}

/**
 * The text of an XHTML narrative: the character data with entities decoded, each element
 * boundary a word boundary (`<td>a</td><td>b</td>` is two words).
 */
export function narrativeText(div: string): string {
  // `_text` and `_content` both read the narrative of the resource being indexed: parse it once.
  if (div === lastNarrative.div) return lastNarrative.text;
  const parts: string[] = [];
  const parser = new Parser(
    {
      ontext: (text) => parts.push(text),
      onopentag: () => parts.push(' '),
      onclosetag: () => parts.push(' '),
    },
    { decodeEntities: true, recognizeSelfClosing: true },
  );
  parser.write(div);
  parser.end();
  lastNarrative = { div, text: parts.join('') };
  return lastNarrative.text;
}

let lastNarrative = { div: '', text: '' };

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * Elements left out of `_content`: the resource's own bookkeeping (top-level `id` and `meta`,
 * which change with every version and have parameters of their own), type names, and `data`
 * (base64 attachments and SampledData series, which are not words).
 */
const TOP_LEVEL_SKIPPED = new Set(['id', 'meta']);
const SKIPPED = new Set(['resourceType', 'data']);

function collectContent(value: unknown, key: string, out: string[]): void {
  if (out.length >= MAX_WORDS) return;
  if (typeof value === 'string') wordsOf(key === 'div' ? narrativeText(value) : value, out);
  else if (typeof value === 'number') wordsOf(String(value), out);
  else if (Array.isArray(value)) for (const item of value) collectContent(item, key, out);
  else if (isObject(value)) {
    for (const [k, v] of Object.entries(value)) if (!SKIPPED.has(k)) collectContent(v, k, out);
  }
}

/**
 * Where each full-text parameter takes its words from: `_text` the narrative (Resource.text.div),
 * `_content` every string and number in the resource, narrative included, in document order.
 */
export const TEXT_SOURCES: Readonly<Record<string, (resource: Json) => string[]>> = {
  _text: (resource) => {
    const text = resource.text;
    return isObject(text) && typeof text.div === 'string' ? wordsOf(narrativeText(text.div)) : [];
  },
  _content: (resource) => {
    const out: string[] = [];
    for (const [key, value] of Object.entries(resource)) {
      if (!TOP_LEVEL_SKIPPED.has(key) && !SKIPPED.has(key)) collectContent(value, key, out);
    }
    return out;
  },
};

type Term = { kind: 'words'; words: string[] } | { kind: 'or' };

/** Splits one query value into words, quoted phrases and `OR`s. */
function lex(query: string, name: string): Term[] {
  const terms: Term[] = [];
  let i = 0;
  while (i < query.length) {
    const ch = query[i]!;
    if (/\s/.test(ch)) {
      i++;
    } else if (ch === '"') {
      const end = query.indexOf('"', i + 1);
      if (end < 0) throw badRequest(`The value of "${name}" has a quote that is not closed`);
      terms.push({ kind: 'words', words: wordsOf(query.slice(i + 1, end)) });
      i = end + 1;
    } else {
      let end = i;
      while (end < query.length && !/[\s"]/.test(query[end]!)) end++;
      const token = query.slice(i, end);
      // A bare token of several words (`e-mail`) must match them one after another too.
      terms.push(token === 'OR' ? { kind: 'or' } : { kind: 'words', words: wordsOf(token) });
      i = end;
    }
  }
  // Tokens without a letter or digit (`-`) search for nothing: leave them out.
  return terms.filter((t) => t.kind === 'or' || t.words.length > 0);
}

/** The clauses of a query: every clause must match, any phrase of a clause may. */
function clausesOf(query: string, name: string): string[][][] {
  const clauses: string[][][] = [];
  let joinNext = false;
  const terms = lex(query, name);
  for (const [i, term] of terms.entries()) {
    if (term.kind === 'or') {
      if (i === 0 || i === terms.length - 1 || joinNext) throw badRequest(`OR in the value of "${name}" needs a word or a quoted phrase on each side`);
      joinNext = true;
      continue;
    }
    if (joinNext) clauses[clauses.length - 1]!.push(term.words);
    else clauses.push([term.words]);
    joinNext = false;
  }
  return clauses;
}

const or = (of: Condition[]): Condition => (of.length === 1 ? of[0]! : { op: 'or', of });
const and = (of: Condition[]): Condition => (of.length === 1 ? of[0]! : { op: 'and', of });

/**
 * `_text` / `_content` (`param`) with its raw value: rows of the text table whose words hold
 * each clause. Undefined for an empty value.
 */
export function textCondition(param: string, name: string, modifier: string | undefined, value: string): Condition | undefined {
  if (modifier !== undefined) throw badRequest(`The parameter "${name}" takes no modifier`);
  const alternatives = splitEscaped(value, ',').filter((v) => v !== '');
  if (alternatives.length === 0) return undefined;
  let phrases = 0;
  const conditions = alternatives.map((alternative) => {
    const clauses = clausesOf(unescapeValue(alternative), name);
    if (clauses.length === 0) throw badRequest(`The value of "${name}" has no word to search for (words are letters and digits)`);
    phrases += clauses.flat().length;
    return and(
      clauses.map((clause) =>
        or(clause.map((words): Condition => ({ op: 'row', table: 'text', param, where: [{ field: 'terms', cmp: 'phrase', value: words }] }))),
      ),
    );
  });
  if (phrases > MAX_QUERY_TERMS) throw tooCostly(`The value of "${name}" has more than ${MAX_QUERY_TERMS} words and phrases`);
  return or(conditions);
}
