/**
 * Reading environment variables: each kind of value (an integer in a range, a flag, a size, one of
 * a list, free text) is a zod schema with the message an operator reads when the value is wrong.
 * A variable that is unset or blank takes its default; one that is wrong is reported and takes
 * its default too, so that every other mistake is still found (ConfigError lists them all).
 *
 * https://zod.dev/api
 */
import { z } from 'zod';

/** One variable: its schema (over the trimmed text) and its value when unset or wrong. */
export interface Variable<T> {
  schema: z.ZodType<T, string>;
  fallback: T;
  /** The problem for a wrong value, without the variable's name; `text` is the value as given. */
  problem(text: string, issue: z.core.$ZodIssue): string;
}

const FLAG_TRUE = ['true', '1', 'yes', 'on'];
const FLAG_FALSE = ['false', '0', 'no', 'off'];
const SIZE = /^(\d+)\s*(b|kb|mb|gb)?$/i;
const SIZE_UNITS = { b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3 } as const;

/** An integer from `min` to `max`. */
export function integer(min: number, max: number, fallback: number): Variable<number> {
  return {
    schema: z.string().regex(/^\d+$/).transform(Number).pipe(z.number().min(min).max(max)),
    fallback,
    problem: (text) => `must be an integer from ${min} to ${max} (got "${text}")`,
  };
}

/** true/1/yes/on or false/0/no/off, any case. */
export function flag<T extends boolean | undefined>(fallback: T): Variable<boolean | T> {
  return {
    schema: z
      .string()
      .transform((text) => text.toLowerCase())
      .pipe(z.enum([...FLAG_TRUE, ...FLAG_FALSE]))
      .transform((text) => FLAG_TRUE.includes(text)),
    fallback,
    problem: (text) => `must be true or false (got "${text}")`,
  };
}

/** A size in bytes: `1048576`, `512kb`, `16mb`, `1gb`; at least `min` bytes. */
export function size(fallback: number, min?: { bytes: number; words: string }): Variable<number> {
  return {
    schema: z
      .string()
      .regex(SIZE)
      .transform((text) => {
        const [, digits, unit] = SIZE.exec(text)!;
        return Number(digits) * SIZE_UNITS[(unit ?? 'b').toLowerCase() as keyof typeof SIZE_UNITS];
      })
      .pipe(z.number().min(min?.bytes ?? 0)),
    fallback,
    problem: (text, issue) =>
      issue.code === 'too_small' ? `must be at least ${min?.words} (got "${text}")` : `must be a size such as 512kb, 16mb or 1048576 (got "${text}")`,
  };
}

/** One of `values`, any case; `words` says which for the message (default: "one of a, b, c"). */
export function oneOf<const V extends readonly [string, ...string[]]>(
  values: V,
  fallback: V[number],
  words = `one of ${values.join(', ')}`,
): Variable<V[number]> {
  return {
    schema: z
      .string()
      .transform((text) => text.toLowerCase())
      .pipe(z.enum(values)),
    fallback,
    problem: (text) => `must be ${words} (got "${text}")`,
  };
}

/** Free text, or a pattern it must match (`words` says what it must be). */
export function text<T extends string | undefined>(fallback: T, pattern?: { regex: RegExp; words: string }): Variable<string | T> {
  return {
    schema: pattern ? z.string().regex(pattern.regex) : z.string(),
    fallback,
    problem: () => `must ${pattern?.words ?? 'be text'}`,
  };
}

export type Values<T extends Record<string, Variable<unknown>>> = { [K in keyof T]: T[K] extends Variable<infer V> ? V : never };

/** Reads every variable of `table` from `env`; each wrong one is pushed to `problems` as `NAME <problem>`. */
export function readVariables<T extends Record<string, Variable<unknown>>>(table: T, env: NodeJS.ProcessEnv, problems: string[]): Values<T> {
  const values: Record<string, unknown> = {};
  for (const [name, variable] of Object.entries(table)) {
    const raw = env[name]?.trim();
    if (raw === undefined || raw === '') {
      values[name] = variable.fallback;
      continue;
    }
    const result = variable.schema.safeParse(raw);
    if (!result.success) problems.push(`${name} ${variable.problem(raw, result.error.issues[0]!)}`);
    values[name] = result.success ? result.data : variable.fallback;
  }
  return values as Values<T>;
}
