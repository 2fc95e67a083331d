// TEST ONLY: `node dist/cli/broken-node.js --broken NAME[,NAME] node <duoraft node flags>`
// runs `duoraft node` with a deliberately broken build (src/server/broken-builds.ts), so the
// chaos run can show that its checks catch the bug. It is not part of the duoraft command:
// no flag of a production command can switch a safety rule off.
import { parseBrokenBuilds } from '../server/broken-builds.js';
import { runMain } from './cli.js';
import { injectTestFaults } from './node-command.js';

const argv = process.argv.slice(2);
const at = argv.indexOf('--broken');
if (at < 0 || argv[at + 1] === undefined || argv[at + 2] !== 'node') {
  process.stderr.write('usage: node dist/cli/broken-node.js --broken NAME[,NAME] node <duoraft node flags>\n');
  process.exit(2);
}
injectTestFaults(parseBrokenBuilds(argv[at + 1]!));
runMain(argv.slice(at + 2));
