// Reads the nodes' logs as they grow and sorts what matters:
// - failures: an uncaught exception or unhandled rejection, a stack trace on stderr (pino
//   writes a logged error's stack inside its JSON line, so a line that starts with
//   "    at " came from a crash), a broken core invariant, a fatal-level line, a node that
//   ended on an untyped error ("duoraft: error: ...", not one of our error codes), running
//   out of stack or heap;
// - warnings: Node's own process warnings (a listener leak, a deprecation) and internal
//   errors answering a client, worth a look but no failure by themselves;
// - stops: how each process ended, from its last "duoraft: CODE: ..." line (a node that
//   found a divergence or a corrupt znode stops on purpose, with such a line).
import { open } from 'node:fs/promises';

export interface LogFinding {
  readonly node: string;
  /** The round during which the log grew this line (0: start-up, before the first round). */
  readonly round: number;
  readonly line: string;
}

const FAILURE_PATTERNS: readonly RegExp[] = [
  /Uncaught/,
  /unhandled ?rejection/i,
  /invariant broken/,
  /^\s+at \S.*(:\d+:\d+\)?|native\)?)$/,
  /"level":60/,
  /^duoraft: error: /,
  /Maximum call stack size exceeded/,
  /JavaScript heap out of memory|FATAL ERROR/,
  /^(?!\{)\S*Error: /,
];

const WARNING_PATTERNS: readonly RegExp[] = [/^\(node:\d+\) \w*Warning/, /internal error answering/];

/** Lines from a process's stderr that only explain the warning before them. */
const EXPLANATION = /^\(Use `node --trace-warnings/;

function clip(line: string): string {
  return line.length > 400 ? `${line.slice(0, 400)}...` : line;
}

export class LogScanner {
  private readonly offsets = new Map<string, number>();
  readonly failures: LogFinding[] = [];
  readonly warnings: LogFinding[] = [];
  /** Per node, its processes' last typed failure lines (why each one stopped). */
  readonly stops: LogFinding[] = [];

  constructor(private readonly files: ReadonlyMap<string, string>) {}

  /** Reads what each log gained since the last scan; findings are tagged with `round`. */
  async scan(round: number): Promise<void> {
    for (const [node, file] of this.files) {
      const from = this.offsets.get(node) ?? 0;
      let text = '';
      const handle = await open(file, 'r').catch(() => null);
      if (!handle) continue;
      try {
        const { size } = await handle.stat();
        if (size <= from) continue;
        // Whole lines only: a line still being written is read next time.
        const buf = Buffer.alloc(size - from);
        await handle.read(buf, 0, buf.length, from);
        const end = buf.lastIndexOf(0x0a);
        if (end < 0) continue;
        text = buf.subarray(0, end + 1).toString('utf8');
        this.offsets.set(node, from + end + 1);
      } finally {
        await handle.close();
      }
      for (const line of text.split('\n')) {
        if (line === '' || EXPLANATION.test(line)) continue;
        if (/^duoraft: [A-Z_]+: /.test(line)) this.stops.push({ node, round, line: clip(line) });
        if (FAILURE_PATTERNS.some((p) => p.test(line))) this.failures.push({ node, round, line: clip(line) });
        else if (WARNING_PATTERNS.some((p) => p.test(line))) this.warnings.push({ node, round, line: clip(line) });
      }
    }
  }
}
