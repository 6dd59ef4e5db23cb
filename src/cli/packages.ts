/**
 * `bedside packages add <file or folder>...` and `bedside packages list`: install FHIR packages
 * (Implementation Guides) into the store named by the environment (DATA_DIR or MONGODB_URI), as
 * `npm start` would open it, and list what is installed. Running servers pick a new package up
 * within a few seconds (they watch the package registry); its search parameters apply to what
 * they write from then on, and what was stored before is reindexed here.
 */
import { parseArgs } from 'node:util';
import { CliError, type CliIo } from './io.js';

export const PACKAGES_USAGE = `Usage:
  bedside packages add <package.tgz or folder>...   install FHIR packages (Implementation Guides)
  bedside packages list                             list the installed packages and missing dependencies
The store is the one the server uses (DATA_DIR or MONGODB_URI).
`;

type Command = (argv: string[], io: CliIo) => Promise<number>;

async function withPackages<T>(io: CliIo, work: (packages: import('../packages/service.js').Packages) => Promise<T>): Promise<T> {
  // Loaded on demand: the store and the search registry come with them.
  const [{ ConfigError, loadConfig }, { openStorage }, { Packages }, { createLogger }] = await Promise.all([
    import('../config.js'),
    import('../storage/open.js'),
    import('../packages/service.js'),
    import('../log.js'),
  ]);
  let config;
  try {
    config = loadConfig({ ...io.env, FHIR_PACKAGES: '' });
  } catch (error) {
    if (error instanceof ConfigError) throw new CliError(error.message, 2);
    throw error;
  }
  const storage = await openStorage(config.storage);
  const packages = new Packages({
    resources: storage.resources,
    documents: storage.documents,
    fhirBaseUrl: config.fhirBaseUrl,
    logger: createLogger('silent'),
  });
  try {
    await packages.refresh();
    return await work(packages);
  } finally {
    await packages.close();
    await storage.close();
  }
}

export const packagesAdd: Command = async (argv, io) => {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { help: { type: 'boolean', short: 'h', default: false } } });
  if (values.help || positionals.length === 0) {
    io.out(PACKAGES_USAGE);
    return values.help ? 0 : 2;
  }
  const { PackageError } = await import('../packages/errors.js');
  const path = await import('node:path');
  return withPackages(io, async (packages) => {
    let reports;
    try {
      reports = await packages.install(positionals.map((p) => path.resolve(p)));
    } catch (error) {
      if (error instanceof PackageError) throw new CliError(error.message);
      throw error;
    }
    for (const r of reports) {
      const id = `${r.package.name}#${r.package.version}`;
      if (r.status === 'unchanged') io.out(`${id} is already installed (${r.source})\n`);
      else {
        io.out(
          `${id} ${r.status === 'replaced' ? `replaced ${r.previous}` : 'installed'}: ${r.package.resources.length} conformance resources (${r.written} written, ${r.deleted} deleted) in ${r.elapsedMs} ms\n`,
        );
        if (r.addedSearchParameters.length)
          io.out(`  search parameters added: ${r.addedSearchParameters.join(', ')}; ${r.reindexed} stored resources reindexed in ${r.reindexMs} ms\n`);
      }
    }
    printMissing(io, packages.missingDependencies());
    return 0;
  });
};

export const packagesList: Command = async (_argv, io) =>
  withPackages(io, async (packages) => {
    const installed = packages.installed();
    if (installed.length === 0) io.out('No FHIR packages installed (R4 core is built in).\n');
    for (const p of installed)
      io.out(`${p.name}#${p.version}  FHIR ${p.fhirVersions.join(', ')}  ${p.resources.length} resources  installed ${p.installedAt}\n`);
    printMissing(io, packages.missingDependencies());
    return 0;
  });

function printMissing(io: CliIo, missing: Array<{ name: string; versions: string[]; neededBy: string[] }>): void {
  for (const dep of missing) io.out(`not loaded: ${dep.name}#${dep.versions.join(', ')} (a dependency of ${dep.neededBy.join(', ')})\n`);
}
