#!/usr/bin/env node
// The `bedside` command. Bedside is TypeScript run by tsx (a runtime dependency), so the command
// works from a fresh clone (`npx bedside ...`) without a build step.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');
try {
  const code = await main(process.argv.slice(2));
  // Explicit exit: a command may leave handles open (the loader's store, oidc-provider timers).
  process.exit(code);
} catch (error) {
  process.stderr.write(`bedside: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
}
