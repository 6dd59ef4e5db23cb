/**
 * The folders Bedside writes to (DATA_DIR for the embedded store, EXPORT_DIR for Bulk Data
 * files) are checked at start-up: created when missing, then written to. A container whose
 * volume belongs to root while the server runs as `node` would otherwise fail later and less
 * clearly (SQLite's "unable to open database file" with a stack trace, or every `$export`
 * failing to write).
 */
import { accessSync, constants, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import path from 'node:path';

/** A problem with the machine Bedside runs on, which the operator can fix: main.ts prints its one-line message and exits 1. */
export class StartupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StartupError';
  }
}

export interface WritableFolder {
  /** The setting that names it (DATA_DIR, EXPORT_DIR). */
  setting: string;
  dir: string;
}

/**
 * Creates each folder if needed and checks that this process can write to it and to what is
 * already in it (an existing database or export file owned by another user would fail later).
 * Throws a {@link StartupError} naming the folder and the user.
 */
export function checkWritableFolders(folders: readonly WritableFolder[]): void {
  for (const { setting, dir } of folders) {
    let failing = dir;
    try {
      mkdirSync(dir, { recursive: true });
      const probe = path.join(dir, `.bedside-write-check-${process.pid}`);
      writeFileSync(probe, '');
      rmSync(probe);
      for (const entry of readdirSync(dir)) {
        failing = path.join(dir, entry);
        accessSync(failing, constants.W_OK);
      }
    } catch (error) {
      const user = currentUser();
      const what = failing === dir ? `${setting} (${dir})` : `${failing} in ${setting}`;
      throw new StartupError(
        `Bedside cannot write to ${what} as user ${user.name} (uid ${user.uid}): ${reason(error)}. ` +
          `Make it writable for that user (for example: chown -R ${user.uid} ${dir}) or set ${setting} to a folder it can write.`,
      );
    }
  }
}

function currentUser(): { name: string; uid: number | string } {
  const uid = process.getuid?.() ?? 'unknown';
  try {
    return { name: userInfo().username, uid };
  } catch {
    // An arbitrary uid without a passwd entry (some container platforms).
    return { name: String(uid), uid };
  }
}

function reason(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  switch (code) {
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EROFS':
      return 'read-only file system';
    case 'ENOTDIR':
    case 'EEXIST':
      return 'a file is in the way of the folder';
    case 'ENOSPC':
      return 'no space left on the device';
    default:
      return (error as Error).message ?? String(error);
  }
}
