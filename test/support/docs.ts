/**
 * The examples of the documentation, for the tests that run them as written: the shell blocks
 * of a section, run with bash and curl against a test server (only the host changed, curl told
 * to fail on an HTTP error and to print a newline after each body).
 */
import { execFile, execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** Whether curl is installed (the examples are skipped, and reported as skipped, without it). */
export const hasCurl = (() => {
  try {
    execFileSync('curl', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

/** The ```sh blocks of a Markdown file (relative to the repository) between a heading and the next heading of the same level. */
export function shellBlocks(file: string, heading: string): string[] {
  const text = readFileSync(path.join(ROOT, file), 'utf8');
  const level = heading.match(/^#+/)![0];
  const start = text.indexOf(`\n${heading}\n`);
  if (start < 0) throw new Error(`${file} has no "${heading}"`);
  const rest = text.slice(start + heading.length + 2);
  const end = rest.search(new RegExp(`\\n${level} `));
  const section = end < 0 ? rest : rest.slice(0, end);
  return [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!);
}

/**
 * Runs a shell example against the server at `baseUrl` (asynchronously: the server may run in
 * the calling process), with `TOKEN` set; resolves to its standard output.
 */
export async function runShell(script: string, options: { baseUrl: string; token: string; prelude?: string }): Promise<string> {
  const wrapped = `set -euo pipefail\ncurl() { command curl --fail-with-body -sS "$@"; echo; }\n${options.prelude ?? ''}\n${script}`.replaceAll(
    'http://localhost:8080',
    options.baseUrl,
  );
  const { stdout } = await promisify(execFile)('bash', ['-c', wrapped], { env: { ...process.env, TOKEN: options.token }, encoding: 'utf8', timeout: 60_000 });
  return stdout;
}
