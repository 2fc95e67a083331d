// Flags whose value is itself a command line for another program (`--node-args "--wal-sync-
// interval-ms 0"`). yargs reads a value that starts with a dash as the next flag, so the
// help's own example failed with "Unknown argument"; joined as `--node-args=VALUE` first,
// yargs takes the value as it is.

/** The flags whose next word is always their value, whatever it starts with. */
export const PASS_THROUGH_FLAGS: readonly string[] = ['--node-args'];

/** argv with each pass-through flag and the word after it joined into one `--flag=value`. */
export function joinPassThroughValues(argv: readonly string[], flags: readonly string[] = PASS_THROUGH_FLAGS): string[] {
  const out: string[] = [];
  for (let k = 0; k < argv.length; k++) {
    const word = argv[k]!;
    // After `--`, everything is positional: leave it alone.
    if (word === '--') {
      out.push(...argv.slice(k));
      break;
    }
    if (flags.includes(word) && k + 1 < argv.length) {
      out.push(`${word}=${argv[k + 1]!}`);
      k++;
    } else {
      out.push(word);
    }
  }
  return out;
}
