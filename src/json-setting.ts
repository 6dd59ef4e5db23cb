/**
 * Configuration variables that hold a JSON array (CLAIM_MAPPINGS, FEDERATION_PROVIDERS,
 * RESOURCE_SERVERS, JWT_BEARER_ISSUERS): parsed with the same two start-up messages for each.
 */

/**
 * The array in variable `name`, or undefined with a problem pushed when `raw` is not JSON or not
 * an array. `shape` describes one element for the message (e.g. `{"claim": "..."}`).
 */
export function jsonArraySetting(name: string, raw: string, shape: string, problems: string[]): unknown[] | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    problems.push(`${name} is not valid JSON`);
    return undefined;
  }
  if (!Array.isArray(parsed)) {
    problems.push(`${name} must be a JSON array of ${shape}`);
    return undefined;
  }
  return parsed;
}
