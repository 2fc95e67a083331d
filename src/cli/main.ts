// The duoraft command: runs the command line (src/cli/cli.ts) on this process's arguments.
import { hideBin } from 'yargs/helpers';
import { runMain } from './cli.js';

runMain(hideBin(process.argv));
