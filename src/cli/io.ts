/** What a CLI command may touch besides files: its output streams and environment (tests pass their own). */
export interface CliIo {
  out(text: string): void;
  err(text: string): void;
  env: NodeJS.ProcessEnv;
  /** Standard error is a terminal: progress is redrawn in place. */
  terminal?: boolean;
}

/** A problem the user can fix: printed without a stack trace, exit code 1 (2 for usage errors). */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

export const processIo = (env: NodeJS.ProcessEnv): CliIo => ({
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
  env,
  terminal: process.stderr.isTTY === true,
});
