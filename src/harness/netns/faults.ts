// Network faults between the voters, ZooKeeper and the clients, in the run's namespaces:
// silent partitions and packet loss by nftables inside each voter's namespace
// (firewall.ts), latency with jitter by the relays (relay.ts). Faults combine: the
// wanted state is kept here and every change re-applies all of it, so healing one fault
// leaves the others in place.
//
// Paths (each crosses the bridge through a relay with its own address):
//   voter X -> ZooKeeper        relay zk-X      (X's namespace sees address of zk-X)
//   voter Y -> voter X (peer)   relay peer-X    (both namespaces see address of peer-X)
//   clients -> voter X          relay client-X  (X's namespace sees address of client-X)
import type { BriefBlock, NamespaceFirewall } from './firewall.js';
import type { NetnsNetwork } from './network.js';
import { type Delay, NO_DELAY } from './relay.js';
import type { RelayHost } from './relay-host.js';

export type LinkKind = 'zk' | 'peer' | 'client';
export const LINK_KINDS: readonly LinkKind[] = ['zk', 'peer', 'client'];

export function linkName(kind: LinkKind, voter: string): string {
  return `${kind}-${voter}`;
}

export class NetFaults {
  private votersCut = false;
  private readonly isolated = new Set<string>();
  private readonly zkCut = new Set<string>();
  private readonly clientsCut = new Set<string>();
  private readonly loss = new Map<string, number>();
  private readonly delays = new Map<string, Delay>();
  /** A brief cut (cutFromZkBriefly) is running: the blocked sets may not be rewritten meanwhile. */
  private briefCut: string | null = null;

  constructor(
    private readonly net: NetnsNetwork,
    private readonly firewalls: ReadonlyMap<string, NamespaceFirewall>,
    private readonly relays: RelayHost,
    /** Address of each relay, by link name. */
    private readonly relayAddresses: ReadonlyMap<string, string>,
  ) {}

  /** Every link's name (zk-a, peer-a, client-a, ...). */
  links(): string[] {
    return [...this.relayAddresses.keys()];
  }

  private voterIds(): string[] {
    return [...this.net.voters.keys()];
  }

  private address(link: string): string {
    const a = this.relayAddresses.get(link);
    if (a === undefined) throw new Error(`no link ${link}; the links are ${this.links().join(', ')}`);
    return a;
  }

  /** A silent partition between the voters (both still reach ZooKeeper and the clients). */
  cutVoters(): Promise<void> {
    this.votersCut = true;
    return this.apply();
  }

  healVoters(): Promise<void> {
    this.votersCut = false;
    return this.apply();
  }

  /** Cuts `id` from the other voter and from ZooKeeper, silently; clients still reach it. */
  isolate(id: string): Promise<void> {
    this.isolated.add(id);
    return this.apply();
  }

  /** Cuts `id` from ZooKeeper only. */
  cutFromZk(id: string): Promise<void> {
    this.zkCut.add(id);
    return this.apply();
  }

  /**
   * Cuts `id` from ZooKeeper only, for `ms`, timed inside its namespace (firewall.ts,
   * blockBriefly): for spans too short for cutFromZk and rejoin, whose rules take effect
   * only as fast as the harness spawns a process. Resolves when the cut has ended, with
   * when it was in force (wall clock). No other fault may change while it runs.
   */
  async cutFromZkBriefly(id: string, ms: number): Promise<BriefBlock> {
    if (this.briefCut !== null) throw new Error(`a brief cut of ${this.briefCut} is already running`);
    if (this.isolated.has(id) || this.zkCut.has(id)) throw new Error(`${id} is already cut from ZooKeeper; rejoin it first`);
    const fw = this.firewalls.get(id);
    if (!fw) throw new Error(`no voter ${id}; the voters are ${this.voterIds().join(', ')}`);
    this.briefCut = id;
    try {
      return await fw.blockBriefly(this.address(linkName('zk', id)), ms);
    } finally {
      this.briefCut = null;
    }
  }

  /** Cuts `id` from the clients only (it still reaches the other voter and ZooKeeper). */
  cutFromClients(id: string): Promise<void> {
    this.clientsCut.add(id);
    return this.apply();
  }

  /** Ends the partitions of `id` (isolation, cut from ZooKeeper or from the clients). */
  rejoin(id: string): Promise<void> {
    this.isolated.delete(id);
    this.zkCut.delete(id);
    this.clientsCut.delete(id);
    return this.apply();
  }

  /** Drops `percent` of the packets in and out of the named voters' namespaces (default: all voters). */
  setLoss(percent: number, ids: readonly string[] = this.voterIds()): Promise<void> {
    for (const id of ids) {
      this.net.voter(id);
      if (percent > 0) this.loss.set(id, percent);
      else this.loss.delete(id);
    }
    return this.apply();
  }

  /** Latency ± jitter on the named links (default: every link), each direction. */
  async setLatency(d: Delay, links: readonly string[] = this.links()): Promise<void> {
    for (const l of links) this.address(l);
    await this.relays.setDelay(links, d);
    for (const l of links) this.delays.set(l, d);
  }

  /** Ends every fault: no partition, no loss, no added latency. */
  async healAll(): Promise<void> {
    this.votersCut = false;
    this.isolated.clear();
    this.zkCut.clear();
    this.clientsCut.clear();
    this.loss.clear();
    await this.apply();
    await this.setLatency(NO_DELAY);
  }

  /** What is in force, for logs and reports. */
  describe(): string {
    const parts: string[] = [];
    if (this.votersCut) parts.push('voters cut');
    for (const id of this.isolated) parts.push(`${id} isolated`);
    for (const id of this.zkCut) parts.push(`${id} cut from ZooKeeper`);
    for (const id of this.clientsCut) parts.push(`${id} cut from clients`);
    for (const [id, p] of this.loss) parts.push(`${p} % loss at ${id}`);
    for (const [l, d] of this.delays) if (d.latencyMs > 0) parts.push(`${l} ${d.latencyMs}±${d.jitterMs} ms`);
    return parts.join(', ') || 'none';
  }

  private blockedFor(id: string): string[] {
    const blocked: string[] = [];
    const ids = this.voterIds();
    if (this.votersCut || this.isolated.size > 0) for (const v of ids) blocked.push(this.address(linkName('peer', v)));
    if (this.isolated.has(id) || this.zkCut.has(id)) blocked.push(this.address(linkName('zk', id)));
    if (this.clientsCut.has(id)) blocked.push(this.address(linkName('client', id)));
    return blocked;
  }

  private async apply(): Promise<void> {
    if (this.briefCut !== null) throw new Error(`faults cannot change during the brief cut of ${this.briefCut}`);
    await Promise.all(
      [...this.firewalls].map(([id, fw]) => fw.apply({ blocked: this.blockedFor(id), lossPercent: this.loss.get(id) ?? 0 })),
    );
  }
}
