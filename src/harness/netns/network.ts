// The run's network: a bridge in the root namespace (address .1, where ZooKeeper's and
// the clients' relays listen), and one namespace per voter joined to it by a veth pair,
// with its own address and loopback, and no route but its own /24: nothing in a
// namespace can reach anything outside 10.213.<octet>.0/24 and its own loopback.
//
//   ns duoraft-<tag>-a: eth0 10.213.N.2 ──veth── dr<tag>v0 ─┐
//   ns duoraft-<tag>-b: eth0 10.213.N.3 ──veth── dr<tag>v1 ─┤ bridge dr<tag>b 10.213.N.1
//                                                            │   + relay addresses .10, .11, ...
//   root namespace: ZooKeeper (127.0.0.1), clients, relays ──┘
//
// Every name carries the run's tag (subnet-claim.ts), so runs side by side never touch
// each other's; teardown removes the run's own names only, and also runs from a process
// 'exit' hook in case the run ends without reaching its finally.
import { run, runSyncQuietly } from './commands.js';
import { claimSubnet, type RunNames, SUBNET_PREFIX, type SubnetClaim } from './subnet-claim.js';

export interface VoterNamespace {
  readonly id: string;
  readonly ns: string;
  /** The voter's own address inside its namespace. */
  readonly address: string;
}

/** First host octet of the relay addresses on the bridge. */
const RELAY_HOST_BASE = 10;

export class NetnsNetwork {
  private relayCount = 0;
  private tornDown = false;
  private readonly exitHook = (): void => this.teardownSync();

  private constructor(
    private readonly claim: SubnetClaim,
    readonly names: RunNames,
    readonly voters: ReadonlyMap<string, VoterNamespace>,
  ) {}

  /** The root namespace's address on the bridge. */
  get hostAddress(): string {
    return this.ip(1);
  }

  get subnet(): string {
    return `${SUBNET_PREFIX}.${this.claim.octet}.0/24`;
  }

  get tag(): string {
    return this.claim.tag;
  }

  voter(id: string): VoterNamespace {
    const v = this.voters.get(id);
    if (!v) throw new Error(`no namespace for voter ${id}`);
    return v;
  }

  static async create(ids: readonly string[]): Promise<NetnsNetwork> {
    const claim = await claimSubnet();
    const t = claim.tag;
    const names: RunNames = {
      bridge: `dr${t}b`,
      namespaces: ids.map((id) => `duoraft-${t}-${id}`),
      hostVeths: ids.map((_, k) => `dr${t}v${k}`),
    };
    // Recorded before anything exists, so a crash half-way leaves names a later run removes.
    await claim.record(names);
    const voters = new Map<string, VoterNamespace>();
    ids.forEach((id, k) => voters.set(id, { id, ns: names.namespaces[k]!, address: `${SUBNET_PREFIX}.${claim.octet}.${k + 2}` }));
    const net = new NetnsNetwork(claim, names, voters);
    process.on('exit', net.exitHook);
    try {
      await net.build();
      return net;
    } catch (err) {
      await net.teardown();
      throw err;
    }
  }

  private ip(host: number): string {
    return `${SUBNET_PREFIX}.${this.claim.octet}.${host}`;
  }

  private async build(): Promise<void> {
    const { bridge } = this.names;
    await run('ip', ['link', 'add', bridge, 'type', 'bridge']);
    await run('ip', ['addr', 'add', `${this.hostAddress}/24`, 'dev', bridge]);
    await run('ip', ['link', 'set', bridge, 'up']);
    let k = 0;
    for (const v of this.voters.values()) {
      const hostVeth = this.names.hostVeths[k++]!;
      await run('ip', ['netns', 'add', v.ns]);
      await run('ip', ['link', 'add', hostVeth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', v.ns]);
      await run('ip', ['link', 'set', hostVeth, 'master', bridge, 'up']);
      await run('ip', ['-n', v.ns, 'addr', 'add', `${v.address}/24`, 'dev', 'eth0']);
      await run('ip', ['-n', v.ns, 'link', 'set', 'eth0', 'up']);
      await run('ip', ['-n', v.ns, 'link', 'set', 'lo', 'up']);
      // The only route is the /24 the address brings: assert there is no way out.
      const routes = await run('ip', ['-n', v.ns, 'route', 'show']);
      if (/^default/m.test(routes)) throw new Error(`namespace ${v.ns} has a default route; refusing to run`);
    }
  }

  /** One more address on the bridge (a relay listens on it and connects from it). */
  async addRelayAddress(): Promise<string> {
    const host = RELAY_HOST_BASE + this.relayCount++;
    if (host > 254) throw new Error('out of relay addresses');
    const address = this.ip(host);
    await run('ip', ['addr', 'add', `${address}/24`, 'dev', this.names.bridge]);
    return address;
  }

  /** Removes the run's namespaces, veths and bridge (after its processes were stopped). */
  async teardown(): Promise<void> {
    if (this.tornDown) return;
    this.tornDown = true;
    process.removeListener('exit', this.exitHook);
    // A namespace's veth end goes with it, and with it the host end.
    for (const ns of this.names.namespaces) await run('ip', ['netns', 'del', ns]).catch(() => undefined);
    for (const veth of this.names.hostVeths) await run('ip', ['link', 'del', veth]).catch(() => undefined);
    await run('ip', ['link', 'del', this.names.bridge]).catch(() => undefined);
    await this.claim.release();
  }

  private teardownSync(): void {
    if (this.tornDown) return;
    this.tornDown = true;
    for (const ns of this.names.namespaces) runSyncQuietly('ip', ['netns', 'del', ns]);
    for (const veth of this.names.hostVeths) runSyncQuietly('ip', ['link', 'del', veth]);
    runSyncQuietly('ip', ['link', 'del', this.names.bridge]);
    runSyncQuietly('rm', ['-f', this.claim.lockPath]);
  }
}
