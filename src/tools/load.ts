/**
 * `npm run load -- ...`: the same command as `bedside load` (cli/load.ts), run as an npm script.
 */
import { runLoad } from '../cli/load.js';
import { processIo } from '../cli/io.js';

// No process.exit: the loader leaves nothing running, so the process ends by itself.
runLoad(process.argv.slice(2), processIo(process.env)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`${(error as Error).message}\n`);
    process.exitCode = 1;
  },
);
