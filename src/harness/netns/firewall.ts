// The nftables table inside one voter's namespace: a set of blocked addresses (a silent
// partition: packets to and from them are dropped both ways, nothing is reset) and a
// random loss of packets. Loopback traffic inside the namespace is never touched.
//
// Each change replaces the whole state in one `nft -f` transaction, so the rules always
// match what the caller last asked for, whatever order faults come and go in.
import { nftIn, run } from './commands.js';

const TABLE = 'inet duoraft';

/** SCHED_FIFO priority of a brief block's shell: below the relays' (relay-host.ts), above every normal process. */
const BRIEF_BLOCK_RT_PRIORITY = 5;

/** Where a brief block was in force, by the namespace's wall clock (ms since the epoch). */
export interface BriefBlock {
  /** Before the block was asked for, and once it was in force. */
  readonly startedAt: number;
  readonly inForceAt: number;
  /** When its removal was asked for, and once it was done. */
  readonly endingAt: number;
  readonly endedAt: number;
}

export interface FirewallState {
  /** Addresses this namespace neither sends to nor hears from. */
  readonly blocked: readonly string[];
  /** Share of packets dropped, in percent, each way (in and out of the namespace). */
  readonly lossPercent: number;
}

export class NamespaceFirewall {
  constructor(readonly ns: string) {}

  async install(): Promise<void> {
    await nftIn(
      this.ns,
      `table ${TABLE} {
  set blocked { type ipv4_addr; }
  chain loss { }
  chain input {
    type filter hook input priority 0; policy accept;
    iifname "lo" accept
    ip saddr @blocked drop
    jump loss
  }
  chain output {
    type filter hook output priority 0; policy accept;
    oifname "lo" accept
    ip daddr @blocked drop
    jump loss
  }
}
`,
    );
  }

  async apply(state: FirewallState): Promise<void> {
    if (!(state.lossPercent >= 0 && state.lossPercent <= 100)) throw new Error(`loss must be 0..100 %, got ${state.lossPercent}`);
    const lines = [`flush set ${TABLE} blocked`, `flush chain ${TABLE} loss`];
    if (state.blocked.length > 0) lines.push(`add element ${TABLE} blocked { ${[...new Set(state.blocked)].join(', ')} }`);
    // numgen draws per packet; per mille, so fractions of a percent work too.
    const perMille = Math.round(state.lossPercent * 10);
    if (perMille > 0) lines.push(`add rule ${TABLE} loss numgen random mod 1000 < ${perMille} drop`);
    await nftIn(this.ns, `${lines.join('\n')}\n`);
  }

  /**
   * Blocks `address` for `ms`, timed inside the namespace by one shell: a block through
   * apply() starts and ends only as precisely as a process is spawned from the harness
   * (hundreds of ms on a loaded machine), too coarse for a span of a few hundred ms. It runs
   * at real-time priority (root, as the namespaces need anyway). Adds
   * to the blocked set and removes from it: the caller makes sure nothing else blocks the
   * address meanwhile (NetFaults does).
   */
  async blockBriefly(address: string, ms: number): Promise<BriefBlock> {
    if (!(Number.isInteger(ms) && ms > 0 && ms <= 10_000)) throw new Error(`a brief block lasts 1..10000 ms, got ${ms}`);
    if (!/^[0-9.]+$/.test(address)) throw new Error(`not an IPv4 address: ${address}`);
    const element = `${TABLE} blocked { ${address} }`;
    // The removal runs whatever happened before it, so the block never outlives the shell.
    const script = [
      'ms() { echo $(( $(date +%s%N) / 1000000 )); }',
      `a=$(ms); nft add element ${element}; added=$?; b=$(ms)`,
      `sleep ${(ms / 1000).toFixed(3)}`,
      `c=$(ms); nft delete element ${element}; removed=$?; d=$(ms)`,
      'echo "$a $b $c $d $added $removed"',
    ].join('\n');
    // Real-time priority (inherited by sleep and both nft): on a loaded machine a normal one
    // started the block up to a quarter of a second late.
    const out = (await run('chrt', ['-f', String(BRIEF_BLOCK_RT_PRIORITY), 'ip', 'netns', 'exec', this.ns, 'sh', '-c', script])).trim().split(/\s+/).map(Number);
    const [startedAt, inForceAt, endingAt, endedAt, added, removed] = out;
    if (out.length !== 6 || out.some((n) => !Number.isFinite(n))) throw new Error(`brief block in ${this.ns}: unexpected output ${out.join(' ')}`);
    if (added !== 0 || removed !== 0) throw new Error(`brief block of ${address} in ${this.ns}: nft add exited ${added}, delete ${removed}`);
    return { startedAt: startedAt!, inForceAt: inForceAt!, endingAt: endingAt!, endedAt: endedAt! };
  }
}
