/**
 * Configuration variables that hold a JSON array (CLAIM_MAPPINGS, FEDERATION_PROVIDERS,
 * RESOURCE_SERVERS, JWT_BEARER_ISSUERS): the text is parsed as JSON, each element checked
 * against its zod schema, and every problem of every element reported, so an operator fixes them
 * in one go. Two messages are the same for every such variable: `NAME is not valid JSON` and
 * `NAME must be a JSON array of <shape>`.
 *
 * https://zod.dev/api
 */
import type { z } from 'zod';

/** How one problem of element `index` is worded; `path` is where in the element (`['match', 'claim']`). */
export type ProblemWording = (where: string, path: readonly string[], message: string) => string;

/** `NAME[0].match.claim must be a claim name`: the element's field path, then the message. */
export const fieldPath: ProblemWording = (where, path, message) => `${where}${path.map((p) => `.${p}`).join('')} ${message}`;

/** `NAME[0]: identifier must be ...`: messages that name their field themselves. */
export const sentence: ProblemWording = (where, _path, message) => `${where}: ${message}`;

export interface ArraySetting<T> {
  /** The variable's name. */
  name: string;
  /** One element, for the "must be a JSON array of" message (e.g. `{"claim": "..."}`). */
  shape: string;
  /** One element's schema; its output is what the configuration holds. */
  element: z.ZodType<T>;
  wording?: ProblemWording;
  /** Elements that must differ: the key of a (raw) element, and the problem of a repeated one. */
  unique?: { key(element: unknown): string | undefined; path: string[]; message(key: string): string };
}

/** Where a zod issue is, as field names (array indices inside an element are left out: `in` for `in[2]`). */
function fieldsOf(path: readonly PropertyKey[]): string[] {
  return path.filter((p): p is string => typeof p === 'string');
}

/** Element by element: its value when valid, or undefined. Problems are pushed to `problems`. */
export function parseArraySetting<T>(setting: ArraySetting<T>, raw: string | undefined, problems: string[]): Array<T | undefined> {
  if (raw === undefined) return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    problems.push(`${setting.name} is not valid JSON`);
    return [];
  }
  if (!Array.isArray(parsed)) {
    problems.push(`${setting.name} must be a JSON array of ${setting.shape}`);
    return [];
  }
  const word = setting.wording ?? fieldPath;
  const seen = new Set<string>();
  const reported = new Set<string>();
  return parsed.map((element: unknown, index) => {
    const where = `${setting.name}[${index}]`;
    const result = setting.element.safeParse(element);
    const found = result.success ? [] : result.error.issues.map((issue) => word(where, fieldsOf(issue.path), issue.message));
    const key = setting.unique?.key(element);
    if (setting.unique && key !== undefined) {
      if (seen.has(key)) found.push(word(where, setting.unique.path, setting.unique.message(key)));
      seen.add(key);
    }
    for (const problem of found) {
      if (reported.has(problem)) continue;
      reported.add(problem);
      problems.push(problem);
    }
    return result.success && found.length === 0 ? result.data : undefined;
  });
}
