/**
 * The operators' command: `bedside users|clients|resource-servers <action> [arguments]`, the
 * same changes as the admin page (service.ts), audited the same way. The `bedside` CLI registers
 * these three subcommands and runs them with an AdminService over the server's store.
 *
 *   users list
 *   users create <username> [--password <p>] [--name <n>] [--email <e>] [--fhir-user <Type/id>] [--operator]
 *   users reset-password <username> [--password <p>]      (a random one is printed when omitted)
 *   users lock|unlock <username>
 *   users link <username> <Type/id>|--none
 *   users patients <username> all|none|<Patient id>...
 *   clients list
 *   clients show <client_id>
 *   clients edit <client_id> [--name <n>] [--redirect-uri <u>]... [--post-logout-redirect-uri <u>]... [--scope "<s>"] [--first-party true|false]
 *   clients rotate-secret|disable|enable <client_id>
 *   resource-servers list
 *   resource-servers add <identifier> --name <n> --scope <scope>=<description>... [--ttl <s>]
 *   resource-servers remove <identifier>
 */
import { randomBytes } from 'node:crypto';
import { AdminError, parsePatientGrant, type Actor, type AdminService } from './service.js';

export const ADMIN_COMMANDS = ['users', 'clients', 'resource-servers'] as const;

export const ADMIN_USAGE = `Operators' commands (they change the store of the server, every change audited):

  bedside users list [--json]
  bedside users create <username> [--password <p>] [--name <n>] [--email <e>] [--fhir-user <Type/id>] [--operator]
  bedside users reset-password <username> [--password <p>]     a random one is printed when omitted
  bedside users lock|unlock <username>
  bedside users link <username> <Type/id>|--none
  bedside users patients <username> all|none|<Patient id>...   patients an account without a
                                                   Patient or Practitioner fhirUser may select
  bedside clients list [--json] | show <client_id>
  bedside clients edit <client_id> [--name <n>] [--redirect-uri <u>]... [--post-logout-redirect-uri <u>]... [--scope "<s>"] [--first-party true|false]
  bedside clients rotate-secret|disable|enable <client_id>
  bedside resource-servers list [--json]
  bedside resource-servers add <identifier> --name <n> --scope <scope>=<description>... [--ttl <s>]
  bedside resource-servers remove <identifier>

The server's settings (DATA_DIR or MONGODB_URI, BASE_URL ...) come from the environment, as for npm start.
`;

export interface CommandIo {
  out(line: string): void;
  err(line: string): void;
}

interface Parsed {
  positional: string[];
  flags: Map<string, string[]>;
}

const BOOLEAN_FLAGS = new Set(['operator', 'none', 'json']);

function parseArgs(args: readonly string[]): Parsed {
  const positional: string[] = [];
  const flags = new Map<string, string[]>();
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (!arg.startsWith('--')) {
      positional.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = eq > 0 ? arg.slice(2, eq) : arg.slice(2);
    const value = eq > 0 ? arg.slice(eq + 1) : BOOLEAN_FLAGS.has(name) ? 'true' : args[++i];
    if (value === undefined) throw new AdminError('invalid', `--${name} needs a value`);
    flags.set(name, [...(flags.get(name) ?? []), value]);
  }
  return { positional, flags };
}

const one = (p: Parsed, name: string): string | undefined => p.flags.get(name)?.at(-1);

function need(p: Parsed, index: number, what: string): string {
  const value = p.positional[index];
  if (!value) throw new AdminError('invalid', `missing ${what}`);
  return value;
}

function table(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  return rows.map((r) =>
    r
      .map((cell, c) => cell.padEnd(widths[c]!))
      .join('  ')
      .trimEnd(),
  );
}

async function users(admin: AdminService, actor: Actor, p: Parsed, io: CommandIo): Promise<void> {
  const action = need(p, 0, 'action (list, create, reset-password, lock, unlock, link, patients)');
  if (action === 'list') {
    const list = await admin.listUsers();
    if (one(p, 'json')) return io.out(JSON.stringify(list, null, 2));
    const patients = (u: (typeof list)[number]) =>
      u.patients.by === 'fhirUser' ? 'by fhirUser' : u.patients.grant === 'all' ? 'all' : u.patients.grant?.join(',') || '-';
    for (const line of table([
      ['USERNAME', 'FHIRUSER', 'ROLES', 'STATUS', 'SIGN-IN', 'PATIENTS'],
      ...list.map((u) => [
        u.username,
        u.fhirUser ?? '-',
        u.roles.join(',') || '-',
        u.locked ? 'locked' : 'active',
        [u.federatedOnly ? '' : 'password', ...u.identities.map((i) => i.provider)].filter(Boolean).join(',') || '-',
        patients(u),
      ]),
    ]))
      io.out(line);
    return;
  }
  const username = need(p, 1, 'username');
  if (action === 'create') {
    const password = one(p, 'password');
    const created = await admin.createUser(actor, {
      username,
      ...(password ? { password } : {}),
      ...(one(p, 'name') ? { name: one(p, 'name')! } : {}),
      ...(one(p, 'email') ? { email: one(p, 'email')! } : {}),
      ...(one(p, 'fhir-user') ? { fhirUser: one(p, 'fhir-user')! } : {}),
      operator: one(p, 'operator') === 'true',
    });
    return io.out(`created ${created.username}${password ? '' : ' (no password: signs in through an identity provider)'}`);
  }
  if (action === 'reset-password') {
    const password = one(p, 'password') ?? randomBytes(12).toString('base64url');
    await admin.resetPassword(actor, username, password);
    return io.out(one(p, 'password') ? `password of ${username} reset` : `new password of ${username}: ${password}`);
  }
  if (action === 'lock') {
    const { grantsRevoked } = await admin.lockUser(actor, username);
    return io.out(`locked ${username}; ${grantsRevoked} grant(s) revoked, sessions ended`);
  }
  if (action === 'unlock') {
    await admin.unlockUser(actor, username);
    return io.out(`unlocked ${username}`);
  }
  if (action === 'link') {
    const target = one(p, 'none') ? null : need(p, 2, 'fhirUser (Type/id) or --none');
    await admin.linkFhirUser(actor, username, target);
    return io.out(target ? `${username} is ${target}` : `${username} has no fhirUser`);
  }
  if (action === 'patients') {
    need(p, 2, 'patients: all, none, or Patient ids');
    const grant = parsePatientGrant(p.positional.slice(2).join(' '));
    const { grantsRevoked } = await admin.setPatientAccess(actor, username, grant);
    const what = grant === 'all' ? 'every patient' : grant ? `Patient ${grant.join(', ')}` : 'no patient';
    return io.out(`${username} may select ${what}${grantsRevoked ? `; ${grantsRevoked} grant(s) revoked` : ''}`);
  }
  throw new AdminError('invalid', `unknown action "users ${action}"`);
}

async function clients(admin: AdminService, actor: Actor, p: Parsed, io: CommandIo): Promise<void> {
  const action = need(p, 0, 'action (list, show, edit, rotate-secret, disable, enable)');
  if (action === 'list') {
    const list = await admin.listClients();
    if (one(p, 'json')) return io.out(JSON.stringify(list, null, 2));
    for (const line of table([
      ['CLIENT_ID', 'NAME', 'AUTH', 'STATUS'],
      ...list.map((c) => [
        c.clientId,
        c.name ?? '-',
        c.authMethod,
        [c.disabled ? 'disabled' : 'active', c.firstParty ? 'first-party' : ''].filter(Boolean).join(','),
      ]),
    ]))
      io.out(line);
    return;
  }
  const clientId = need(p, 1, 'client_id');
  if (action === 'show') return io.out(JSON.stringify(await admin.getClient(clientId), null, 2));
  if (action === 'edit') {
    const firstParty = one(p, 'first-party');
    if (firstParty !== undefined && !['true', 'false'].includes(firstParty)) throw new AdminError('invalid', '--first-party must be true or false');
    const updated = await admin.editClient(actor, clientId, {
      ...(one(p, 'name') !== undefined ? { name: one(p, 'name')! } : {}),
      ...(p.flags.has('redirect-uri') ? { redirectUris: p.flags.get('redirect-uri')! } : {}),
      ...(p.flags.has('post-logout-redirect-uri') ? { postLogoutRedirectUris: p.flags.get('post-logout-redirect-uri')! } : {}),
      ...(one(p, 'scope') !== undefined ? { scope: one(p, 'scope')! } : {}),
      ...(firstParty !== undefined ? { firstParty: firstParty === 'true' } : {}),
    });
    return io.out(JSON.stringify(updated, null, 2));
  }
  if (action === 'rotate-secret') return io.out(`new client_secret of ${clientId} (shown once): ${await admin.rotateSecret(actor, clientId)}`);
  if (action === 'disable') {
    const { grantsRevoked } = await admin.disableClient(actor, clientId);
    return io.out(`disabled ${clientId}; ${grantsRevoked} grant(s) revoked`);
  }
  if (action === 'enable') {
    await admin.enableClient(actor, clientId);
    return io.out(`enabled ${clientId}`);
  }
  throw new AdminError('invalid', `unknown action "clients ${action}"`);
}

async function resourceServers(admin: AdminService, actor: Actor, p: Parsed, io: CommandIo): Promise<void> {
  const action = need(p, 0, 'action (list, add, remove)');
  if (action === 'list') {
    const list = admin.listResourceServers();
    if (one(p, 'json')) return io.out(JSON.stringify(list, null, 2));
    for (const line of table([
      ['IDENTIFIER', 'NAME', 'SCOPES', 'SOURCE'],
      ...list.map((r) => [r.identifier, r.name, Object.keys(r.scopes).join(' '), r.source]),
    ]))
      io.out(line);
    return;
  }
  const identifier = need(p, 1, 'identifier (the API URL)');
  if (action === 'add') {
    const scopes = Object.fromEntries(
      (p.flags.get('scope') ?? []).map((s) => {
        const eq = s.indexOf('=');
        return eq > 0 ? [s.slice(0, eq), s.slice(eq + 1)] : [s, s];
      }),
    );
    const ttl = one(p, 'ttl');
    const saved = await admin.putResourceServer(actor, {
      identifier,
      name: one(p, 'name') ?? identifier,
      scopes,
      ...(ttl ? { accessTokenTtlSeconds: Number(ttl) } : {}),
    });
    return io.out(`resource server ${saved.identifier}: ${Object.keys(saved.scopes).join(' ')}`);
  }
  if (action === 'remove') {
    await admin.removeResourceServer(actor, identifier);
    return io.out(`removed ${identifier}`);
  }
  throw new AdminError('invalid', `unknown action "resource-servers ${action}"`);
}

/**
 * Runs `bedside <command> ...args`; returns the exit code (0 done, 1 refused, 2 usage). The
 * operator's name goes into the audit records (`actorId`, e.g. the OS user).
 */
export async function runAdminCommand(command: string, args: readonly string[], admin: AdminService, io: CommandIo, actorId: string): Promise<number> {
  const actor: Actor = { id: actorId, via: 'command' };
  if (args.length === 0 || ['--help', '-h', 'help'].includes(args[0]!)) {
    (args.length ? io.out : io.err)(ADMIN_USAGE);
    return args.length ? 0 : 2;
  }
  try {
    const parsed = parseArgs(args);
    if (command === 'users') await users(admin, actor, parsed, io);
    else if (command === 'clients') await clients(admin, actor, parsed, io);
    else if (command === 'resource-servers') await resourceServers(admin, actor, parsed, io);
    else {
      io.err(`unknown command "${command}": ${ADMIN_COMMANDS.join(', ')}`);
      return 2;
    }
    return 0;
  } catch (error) {
    if (error instanceof AdminError) {
      io.err(`${command}: ${error.message}`);
      return error.code === 'invalid' && /^missing|unknown action|needs a value/.test(error.message) ? 2 : 1;
    }
    throw error;
  }
}
