// The nftables table inside one voter's namespace: a set of blocked addresses (a silent
// partition: packets to and from them are dropped both ways, nothing is reset) and a
// random loss of packets. Loopback traffic inside the namespace is never touched.
//
// Each change replaces the whole state in one `nft -f` transaction, so the rules always
// match what the caller last asked for, whatever order faults come and go in.
import { nftIn } from './commands.js';

const TABLE = 'inet duoraft';

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
}
