/**
 * The authorization server's folders form layers (src/auth/README.md, "How the code is laid
 * out"): each part imports only the parts before it, so there is no cycle between them.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const AUTH = fileURLToPath(new URL('../../../src/auth/', import.meta.url));

/** Lowest first; a part may import itself and anything to its left. */
const LAYERS = [
  'endpoints.ts',
  'malformed-request.ts',
  'accounts',
  'policy',
  'launch',
  'provider',
  'issuer-records.ts',
  'discovery.ts',
  'admin',
  'pages',
  'index.ts',
];

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : [],
  );
}

/** The part of src/auth a file belongs to (its top folder, or the file at the root), undefined outside. */
function partOf(file: string): string | undefined {
  const relative = path.relative(AUTH, file);
  if (relative.startsWith('..')) return undefined;
  return relative.split(path.sep)[0];
}

describe('src/auth layers', () => {
  it('every part is placed in the order', () => {
    const parts = new Set(sources(AUTH).map(partOf));
    expect([...parts].filter((p) => !LAYERS.includes(p!))).toEqual([]);
  });

  it('each part imports only the parts below it', () => {
    const upward: string[] = [];
    for (const file of sources(AUTH)) {
      const from = partOf(file)!;
      for (const imported of ts.preProcessFile(readFileSync(file, 'utf8'), true, true).importedFiles) {
        if (!imported.fileName.startsWith('.')) continue;
        const to = partOf(path.resolve(path.dirname(file), imported.fileName.replace(/\.js$/, '.ts')));
        if (to && LAYERS.indexOf(to) > LAYERS.indexOf(from)) upward.push(`${path.relative(AUTH, file)} -> ${imported.fileName}`);
      }
    }
    expect(upward).toEqual([]);
  });

  it('at most eight TypeScript files at the root', () => {
    expect(readdirSync(AUTH).filter((f) => f.endsWith('.ts')).length).toBeLessThanOrEqual(8);
  });
});
