/**
 * The browser code of the launcher, the EHR frame and the sample app, bundled with esbuild (which
 * Bedside already runs on, through tsx) the first time a page asks for it, then kept in memory for
 * the life of the process. No build step and no build output to keep in step with the sources:
 * `npm start`, the container and the tests all serve what launch/src/ says.
 *
 * fhir-kit-client is written for Node: its one Node-only import, the `agentkeepalive` HTTP agent,
 * is replaced by a stub (a browser's fetch ignores agents), everything else runs as published.
 */
import path from 'node:path';

export interface Bundle {
  code: string;
  /** A short content hash, for logs and ETags. */
  etag: string;
}

/** Entry points by bundle name, relative to the launch/ folder. */
export const BUNDLE_ENTRIES = {
  launcher: 'src/launcher/main.ts',
  ehr: 'src/ehr/main.ts',
  'sample-app': 'src/sample-app/main.ts',
} as const;

export type BundleName = keyof typeof BUNDLE_ENTRIES;

export function isBundleName(name: string): name is BundleName {
  return Object.hasOwn(BUNDLE_ENTRIES, name);
}

/** Builds one bundle (ES2022 module for current browsers, minified, with an inline source map). */
export async function buildBundle(launchDir: string, name: BundleName): Promise<Bundle> {
  // Loaded on first use: servers that never serve a page never load esbuild.
  const { build } = await import('esbuild');
  const result = await build({
    entryPoints: [path.join(launchDir, BUNDLE_ENTRIES[name])],
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'browser',
    target: ['es2022'],
    minify: true,
    sourcemap: 'inline',
    legalComments: 'inline',
    alias: { agentkeepalive: path.join(launchDir, 'src/common/agentkeepalive-shim.ts') },
    define: { 'process.env.DEBUG': 'undefined' },
    logLevel: 'silent',
  });
  const file = result.outputFiles[0]!;
  return { code: file.text, etag: `"${file.hash}"` };
}

/** Builds each bundle once per process, on first request. */
export function bundleCache(launchDir: string): (name: BundleName) => Promise<Bundle> {
  const built = new Map<BundleName, Promise<Bundle>>();
  return (name) => {
    let bundle = built.get(name);
    if (!bundle) {
      bundle = buildBundle(launchDir, name);
      // A failed build is retried on the next request (e.g. after fixing a source file).
      bundle.catch(() => built.delete(name));
      built.set(name, bundle);
    }
    return bundle;
  };
}
