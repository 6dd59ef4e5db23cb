/**
 * `bedside users | clients <action> | resource-servers`: the operators' commands of the
 * authorization server (src/auth/admin/commands.ts has them), run against the store named by the
 * environment, as `npm start` would open it. The operator (OS user@host) is named in the audit
 * records. Changes to users and clients take effect at once on running servers; resource servers
 * within RESOURCE_SERVER_POLL_MS.
 */
import { hostname, userInfo } from 'node:os';
import { CliError, type CliIo } from './io.js';

type Command = (argv: string[], io: CliIo) => Promise<number>;

function run(command: 'users' | 'clients' | 'resource-servers', action?: string): Command {
  return async (argv, io) => {
    // Loaded on demand: the admin service brings the store and oidc-provider with it.
    const [{ ConfigError, loadConfig }, { openStorage }, { openAdminService }, { runAdminCommand }] = await Promise.all([
      import('../config.js'),
      import('../storage/open.js'),
      import('../auth/admin/standalone.js'),
      import('../auth/admin/commands.js'),
    ]);
    let config;
    try {
      config = loadConfig(io.env);
    } catch (error) {
      if (error instanceof ConfigError) throw new CliError(error.message, 2);
      throw error;
    }
    const storage = await openStorage(config.storage);
    try {
      const admin = await openAdminService(config, storage);
      const line = (write: (text: string) => void) => (text: string) => write(text.endsWith('\n') ? text : `${text}\n`);
      return await runAdminCommand(
        command,
        action ? [action, ...argv] : argv,
        admin,
        { out: line(io.out), err: line(io.err) },
        `${userInfo().username}@${hostname()}`,
      );
    } finally {
      await storage.close();
    }
  };
}

/** Entries for the command table of main.ts (`clients add` stays the integrator's command). */
export const ADMIN_COMMANDS: Record<string, Command> = {
  users: run('users'),
  'resource-servers': run('resource-servers'),
  ...Object.fromEntries(['list', 'show', 'edit', 'rotate-secret', 'disable', 'enable'].map((action) => [`clients ${action}`, run('clients', action)])),
};
