/**
 * The `bedside` command (package.json `bin`, run from a clone with `npx bedside ...`): the
 * integrator's toolkit, from zero to a working curl in a minute.
 *
 *   bedside clients add   register a backend-services client (generates its key pair)
 *   bedside token         print an access token for curl
 *   bedside export        run a Bulk Data export and download its files
 *   bedside load          load Bundles and NDJSON into Bedside
 *   bedside packages      install FHIR packages (Implementation Guides)
 */
import { ADMIN_COMMANDS } from './admin.js';
import { CLIENTS_ADD_USAGE, clientsAdd } from './clients.js';
import { exportCommand } from './export.js';
import { CliError, processIo, type CliIo } from './io.js';
import { PACKAGES_USAGE, packagesAdd, packagesList } from './packages.js';
import { token } from './token.js';

export const USAGE = `Usage: bedside <command> [options]

Commands:
  clients add   register a backend-services client and write its key and client file
  token         print an access token for the client (TOKEN=$(npx bedside token))
  export        run a Bulk Data $export and download the NDJSON files
  load          load FHIR Bundles and NDJSON files (into a running server with --url)
  packages add  install FHIR packages (Implementation Guides: .tgz files or folders)
  packages list list the installed packages

"bedside <command> --help" describes each. The server is $BEDSIDE_URL or http://localhost:8080.
`;

type Command = (argv: string[], io: CliIo) => Promise<number>;

/** Command words to handlers; `clients` has sub-commands. */
const COMMANDS: Record<string, Command> = {
  ...ADMIN_COMMANDS, // operators: users, clients list|show|edit|rotate-secret|disable|enable, resource-servers (auth/admin)
  'clients add': clientsAdd,
  clients: async (_argv, io) => {
    io.out(CLIENTS_ADD_USAGE);
    return 2;
  },
  token,
  export: exportCommand,
  'packages add': packagesAdd,
  'packages list': packagesList,
  packages: async (_argv, io) => {
    io.out(PACKAGES_USAGE);
    return 2;
  },
  // Loaded on demand: the loader brings the whole server (and oidc-provider) with it.
  load: async (argv, io) => (await import('./load.js')).runLoad(argv, io),
};

/** Runs one command line; resolves to the exit code. */
export async function main(argv: string[], io: CliIo = processIo(process.env)): Promise<number> {
  const [first, second] = argv;
  if (!first || first === 'help' || first === '--help' || first === '-h') {
    io.out(USAGE);
    return first ? 0 : 2;
  }
  const twoWords = `${first} ${second ?? ''}`;
  const [command, rest] = COMMANDS[twoWords] ? [COMMANDS[twoWords], argv.slice(2)] : [COMMANDS[first], argv.slice(1)];
  if (!command) {
    io.err(`Unknown command "${first}".\n\n${USAGE}`);
    return 2;
  }
  try {
    return await command(rest, io);
  } catch (error) {
    if (error instanceof CliError) {
      io.err(`bedside: ${error.message}\n`);
      return error.exitCode;
    }
    // parseArgs reports unknown or malformed options with these codes.
    const code = (error as NodeJS.ErrnoException).code;
    if (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS')) {
      io.err(`bedside: ${(error as Error).message}\n`);
      return 2;
    }
    throw error;
  }
}
