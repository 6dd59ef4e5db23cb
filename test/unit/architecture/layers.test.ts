/**
 * Layers that only point down (docs/ARCHITECTURE.md). Every module under src/ belongs to a unit:
 * its top folder (`src/fhir/api.ts` → `fhir`) or, at the root, its name (`src/config.ts` →
 * `config`, which is also the unit of a `src/config/` folder). The units are placed in LAYERS,
 * top first. This test reads every module's runtime imports and fails
 * - on an import into a unit of the same layer or of a layer above (it prints the import),
 * - on any cycle between units, and
 * - on a unit LAYERS does not place, so a new folder has to be given its place.
 *
 * Runtime imports are what Node loads: `import … from`, `export … from` and `import()`. An
 * `import type` is erased and does not count; `import { type A, b }` does (verbatimModuleSyntax
 * keeps every other import, even one naming only types inline).
 *
 * Run alone with `npm run lint:layers`.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const SRC = fileURLToPath(new URL('../../../src/', import.meta.url));

/** Top layer first. A unit may import its own modules and the units of the layers below it. */
const LAYERS: { layer: string; units: string[] }[] = [
  { layer: 'entry points', units: ['main', 'tools'] },
  { layer: 'commands and start-up', units: ['cli', 'bedside'] },
  { layer: 'composition root', units: ['app'] },
  { layer: 'FHIR core composition (without the authorization server)', units: ['fhir-core'] },
  { layer: 'HTTP edge', units: ['http'] },
  { layer: 'launcher and loading', units: ['launcher', 'ingest'] },
  { layer: 'authorization server', units: ['auth'] },
  { layer: 'features on the FHIR API', units: ['bulk', 'subscriptions', 'terminology', 'directory', 'sample-data'] },
  { layer: 'FHIR interactions', units: ['fhir'] },
  { layer: 'FHIR packages', units: ['packages'] },
  { layer: 'access control', units: ['access'] },
  { layer: 'query', units: ['search'] },
  { layer: 'storage', units: ['storage'] },
  { layer: 'configuration', units: ['config'] },
  { layer: 'vocabulary and utilities', units: ['r4', 'smart', 'security', 'html', 'text-decoding', 'serial-pass', 'log', 'folders', 'version'] },
];

interface Import {
  /** Importing module, relative to src/. */
  from: string;
  /** Imported module, relative to src/. */
  to: string;
}

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sources(full);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [full] : [];
  });
}

/** The runtime imports of one module that stay inside src/. */
function runtimeImports(file: string): Import[] {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
  const specifiers: string[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) && !node.importClause?.isTypeOnly && ts.isStringLiteral(node.moduleSpecifier)) {
      specifiers.push(node.moduleSpecifier.text);
    } else if (ts.isExportDeclaration(node) && !node.isTypeOnly && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      specifiers.push(node.moduleSpecifier.text);
    } else if (
      ts.isCallExpression(node) &&
      node.expression.kind === ts.SyntaxKind.ImportKeyword &&
      node.arguments[0] &&
      ts.isStringLiteralLike(node.arguments[0])
    ) {
      specifiers.push(node.arguments[0].text);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  const from = path.relative(SRC, file).split(path.sep).join('/');
  return specifiers
    .filter((s) => s.startsWith('.'))
    .map((s) => ({
      from,
      to: path
        .relative(SRC, path.resolve(path.dirname(file), s))
        .split(path.sep)
        .join('/')
        .replace(/\.js$/, '.ts'),
    }))
    .filter((i) => !i.to.startsWith('..'));
}

/** `fhir/api.ts` → `fhir`; `config.ts` → `config`. */
function unitOf(module: string): string {
  return module.split('/')[0]!.replace(/\.ts$/, '');
}

const layerOf = new Map(LAYERS.flatMap(({ units }, index) => units.map((unit) => [unit, index] as const)));

const layerName = (unit: string) => {
  const index = layerOf.get(unit);
  return index === undefined ? 'no layer' : `"${LAYERS[index]!.layer}"`;
};

const show = (i: Import) => `src/${i.from} -> src/${i.to}`;

/** Strongly connected groups of more than one unit (Tarjan), each with the imports that close it. */
function cycles(imports: Import[]): string[][] {
  const edges = new Map<string, Set<string>>();
  for (const i of imports) {
    const [a, b] = [unitOf(i.from), unitOf(i.to)];
    if (a !== b) edges.set(a, (edges.get(a) ?? new Set()).add(b));
  }
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const groups: string[][] = [];
  const connect = (v: string): void => {
    index.set(v, index.size);
    low.set(v, index.get(v)!);
    stack.push(v);
    for (const w of edges.get(v) ?? []) {
      if (!index.has(w)) {
        connect(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (stack.includes(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) === index.get(v)) {
      const group: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        group.push(w);
      } while (w !== v);
      if (group.length > 1) groups.push(group.sort());
    }
  };
  for (const v of edges.keys()) if (!index.has(v)) connect(v);
  return groups.map((group) => {
    const inside = imports.filter((i) => unitOf(i.from) !== unitOf(i.to) && group.includes(unitOf(i.from)) && group.includes(unitOf(i.to)));
    const firstPerEdge = [...new Map(inside.map((i) => [`${unitOf(i.from)}>${unitOf(i.to)}`, i])).values()];
    return [`{${group.join(', ')}}`, ...firstPerEdge.map(show)];
  });
}

describe('layers that only point down', () => {
  const modules = sources(SRC);
  const imports = modules.flatMap(runtimeImports);

  it('reads the imports (static, re-exports and dynamic; not import type)', () => {
    expect(modules.length).toBeGreaterThan(200);
    const of = (module: string) => imports.filter((i) => i.from === module).map((i) => i.to);
    expect(of('http/fhir-adapter.ts')).toContain('access/anonymous.ts');
    expect(of('http/fhir-adapter.ts')).not.toContain('access/policy.ts'); // import type
    expect(of('cli/admin.ts')).toContain('auth/admin/standalone.ts'); // import()
    expect(of('search/index.ts')).toContain('search/parse.ts'); // export … from
  });

  it('places every unit in exactly one layer', () => {
    const units = [...new Set(modules.map((m) => unitOf(path.relative(SRC, m).split(path.sep).join('/'))))].sort();
    const placed = LAYERS.flatMap((l) => l.units);
    expect(
      units.filter((u) => !layerOf.has(u)),
      'units LAYERS does not place',
    ).toEqual([]);
    expect(
      placed.filter((u, i) => placed.indexOf(u) !== i),
      'units placed twice',
    ).toEqual([]);
    expect(
      placed.filter((u) => !units.includes(u)),
      'units LAYERS places that do not exist',
    ).toEqual([]);
  });

  it('imports only point down', () => {
    const upOrSideways = imports
      .filter((i) => unitOf(i.from) !== unitOf(i.to))
      .filter((i) => (layerOf.get(unitOf(i.to)) ?? -1) <= (layerOf.get(unitOf(i.from)) ?? -1))
      .map((i) => `${show(i)} (${unitOf(i.from)} in ${layerName(unitOf(i.from))} may not import ${unitOf(i.to)} in ${layerName(unitOf(i.to))})`);
    expect(upOrSideways).toEqual([]);
  });

  it('no cycle between units', () => {
    expect(cycles(imports)).toEqual([]);
  });
});
