/**
 * Enforcement by construction: code that serves requests can only reach FHIR data through a
 * store bound to a principal's policy. This test reads every module's imports and fails when a
 * module outside the named places reaches for
 * - the raw store (`storage/open`, the `ResourceStore` port with its unguarded operations),
 * - the unrestricted policy (`access/unrestricted`),
 * - the means to make a policy the store accepts (`access/minted`) or to guard a store
 *   (`access/guarded-store`'s `guardStore`), which only the access layer uses,
 * - the modules that hand the unrestricted policy on (`noAuthentication`, `inProcessSink`):
 *   whoever imports them holds it too, so they are held to the same rule.
 * It also binds a home-made policy object and expects the store to refuse it.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { AccessPolicy } from '../../../src/access/policy.js';
import { createResourceAccess } from '../../../src/access/resource-access.js';
import type { ResourceStore } from '../../../src/storage/resource-store.js';

const SRC = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../src');

/** Where each capability may be used, as path prefixes relative to src/. */
const ALLOWED: Record<string, { what: string; modules: string[] }> = {
  rawStore: {
    what: 'the raw store (storage/open, the ResourceStore port or its change feed)',
    modules: [
      'storage/', // the stores themselves
      'access/resource-access.ts', // binds it to policies
      'access/guarded-store.ts',
      'access/change-feed.ts', // the change feed, whose content it hands out only for standing searches under a policy
      'access/reference-resolver.ts', // what a patient's records reference and whom a practitioner is linked to, for the policy
      'app.ts', // the server's composition root (opened storage)
      'fhir-core.ts', // the FHIR core's composition hands it to the access layer
      'bedside.ts', // start-up: opens and closes it
      'main.ts',
      'ingest/seed.ts', // first-start seeding
      'ingest/reindex.ts', // start-up reindex when the index version moves
      'tools/', // integrity check, generator
      'cli/load.ts', // the loader (`bedside load`, `npm run load`)
      'cli/admin.ts', // operator commands
      'auth/admin/standalone.ts', // operator commands without a server
      'packages/installer.ts', // installs FHIR packages (start-up, `bedside packages add`); reads go through a bound store
      'packages/service.ts',
      'cli/packages.ts', // `bedside packages add|list`
    ],
  },
  unrestricted: {
    what: 'the unrestricted policy (access/unrestricted)',
    modules: [
      'access/authenticate.ts', // the test-only enforcement-off switch
      'fhir-core.ts', // export jobs and subscriptions when enforcement is off
      'ingest/in-process-sink.ts', // the loader and seeding
      'tools/',
    ],
  },
  minted: {
    what: 'policy minting (access/minted)',
    modules: ['access/token-policy.ts', 'access/unrestricted.ts', 'access/anonymous.ts', 'access/resource-access.ts'],
  },
  guardStore: {
    what: 'guardStore (access/guarded-store)',
    modules: ['access/resource-access.ts'],
  },
  handsOnUnrestricted: {
    what: 'what hands on the unrestricted policy (noAuthentication, inProcessSink)',
    modules: [
      'app.ts', // the test-only enforcement-off switch
      'ingest/seed.ts', // first-start seeding, before the server listens
      'cli/load.ts', // the loader
    ],
  },
};

/** Exports that give the unrestricted policy, or a store bound to it, to whoever imports them. */
const HANDS_ON_UNRESTRICTED: Record<string, string> = { 'access/authenticate.ts': 'noAuthentication', 'ingest/in-process-sink.ts': 'inProcessSink' };

interface ImportStatement {
  names: string[];
  target: string;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(full);
    return entry.name.endsWith('.ts') ? [full] : [];
  });
}

/** Static and dynamic imports with their named bindings, targets resolved relative to src/. */
function importsOf(file: string): ImportStatement[] {
  const text = readFileSync(file, 'utf8');
  const out: ImportStatement[] = [];
  const resolve = (specifier: string) =>
    specifier.startsWith('.')
      ? path
          .relative(SRC, path.resolve(path.dirname(file), specifier))
          .replace(/\\/g, '/')
          .replace(/\.js$/, '.ts')
      : specifier;
  // Any quote style; `import * as x` and `export *` count as every name.
  for (const m of text.matchAll(/(?:import|export)\s+(?:type\s+)?([\s\S]*?)\s+from\s+(['"`])([^'"`]+)\2/g)) {
    const clause = m[1]!;
    const names = clause.includes('*')
      ? ['*']
      : [...(clause.match(/\{([\s\S]*)\}/)?.[1] ?? '').matchAll(/(?:type\s+)?([A-Za-z_$][\w$]*)(?:\s+as\s+[\w$]+)?/g)].map((n) => n[1]!);
    out.push({ names, target: resolve(m[3]!) });
  }
  for (const m of text.matchAll(/import\(\s*(['"`])([^'"`]+)\1\s*\)/g)) out.push({ names: ['*'], target: resolve(m[2]!) });
  return out;
}

function uses(statement: ImportStatement): string[] {
  const found: string[] = [];
  if (statement.target === 'storage/open.ts') found.push('rawStore');
  if (statement.target === 'storage/resource-store.ts' && statement.names.some((n) => n === 'ResourceStore' || n === 'ChangeFeedSource' || n === '*'))
    found.push('rawStore');
  if (statement.target === 'access/unrestricted.ts') found.push('unrestricted');
  if (statement.target === 'access/minted.ts') found.push('minted');
  if (statement.target === 'access/guarded-store.ts' && statement.names.some((n) => n === 'guardStore' || n === '*')) found.push('guardStore');
  const handedOn = HANDS_ON_UNRESTRICTED[statement.target];
  if (handedOn && statement.names.some((n) => n === handedOn || n === '*')) found.push('handsOnUnrestricted');
  return found;
}

describe('enforcement by construction', () => {
  const files = sourceFiles(SRC);

  it('finds the modules it checks (the import reader works)', () => {
    expect(files.length).toBeGreaterThan(100);
    const core = importsOf(path.join(SRC, 'fhir-core.ts'));
    expect(core.some((s) => s.target === 'access/resource-access.ts' && s.names.includes('createResourceAccess'))).toBe(true);
    const store = importsOf(path.join(SRC, 'access/resource-access.ts'));
    expect(store.flatMap(uses)).toEqual(expect.arrayContaining(['rawStore', 'minted', 'guardStore']));
    expect(importsOf(path.join(SRC, 'ingest/seed.ts')).flatMap(uses)).toContain('handsOnUnrestricted');
  });

  for (const [capability, rule] of Object.entries(ALLOWED)) {
    it(`only the named modules use ${rule.what}`, () => {
      const offenders: string[] = [];
      for (const file of files) {
        const module = path.relative(SRC, file).replace(/\\/g, '/');
        if (rule.modules.some((allowed) => module === allowed || (allowed.endsWith('/') && module.startsWith(allowed)))) continue;
        if (importsOf(file).some((s) => uses(s).includes(capability))) offenders.push(module);
      }
      expect(offenders, `${rule.what} is used outside the places named for it`).toEqual([]);
    });
  }

  it('binds stores only to policies the access layer made', () => {
    const { access, policies } = createResourceAccess({} as ResourceStore, { fhirBaseUrl: 'http://localhost/fhir', referenceWindowMs: 0 });
    const homemade: AccessPolicy = {
      principal: { subject: 'attacker' },
      restricted: false,
      assertAllowed() {},
      permits: () => true,
      searchFilter: () => Promise.resolve(undefined),
      isFixed: () => true,
      allowsResource: () => Promise.resolve(true),
      decideByType: () => Promise.resolve('all'),
      allowedTypes: () => undefined,
    };
    expect(() => access.bind(homemade)).toThrow(/made by the access layer/);
    // A copy of a real policy is not the policy.
    const real = policies.compile({ scopes: [], clientId: 'c', subject: 's', scopeStrings: [] });
    expect(() => access.bind(real)).not.toThrow();
    expect(() => access.bind({ ...real, restricted: false })).toThrow(/made by the access layer/);
  });
});
