/**
 * `npm run load -- ...`: the same command as `bedside load` (cli/load.ts), run as an npm script.
 */
import { runLoad } from '../cli/load.js';
import { processIo } from '../cli/io.js';

runLoad(process.argv.slice(2), processIo(process.env)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`${(error as Error).message}\n`);
    process.exit(1);
  },
);
