// Commands that run whole scenarios (demo, bench, chaos): registered here so main.ts
// stays a list of the everyday commands.
import type { Argv } from 'yargs';
import type { CommonArgs } from './common-options.js';

type Runner = <A>(fn: (args: A) => Promise<void>) => (args: A) => Promise<void>;

export function extraCommands(parser: Argv<CommonArgs>, _run: Runner): Argv<CommonArgs> {
  return parser;
}
