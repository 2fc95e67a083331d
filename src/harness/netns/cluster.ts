// A two-voter cluster on a real (virtual) network: each voter in its own network
// namespace (network.ts), every path between the voters, ZooKeeper and the clients
// through a delaying relay (relay.ts) on the bridge, and nftables in each namespace to
// drop packets (firewall.ts). ZooKeeper and the clients stay in the root namespace: the
// clients live inside the harness process (the chaos run records their history there),
// and ZooKeeper is started and killed by the same launcher as everywhere else; the relays
// put each of them at a distinct address on the bridge, which is all the faults need.
//
// The nodes are `ip netns exec NS node bin/duoraft.js node ...`; `ip netns exec` execs
// the command in place (no fork), so the pid the harness tracks and SIGKILLs is the
// node's own (checked by the netns integration test).
import { ProcessCluster, type NodePlacement, type ProcessClusterOptions } from '../process-cluster.js';
import { NetFaults, LINK_KINDS, linkName } from './faults.js';
import { NamespaceFirewall } from './firewall.js';
import { NetnsNetwork } from './network.js';
import type { RelaySpec } from './relay.js';
import { RelayHost } from './relay-host.js';
import type { RelayLatenessStats } from './relay-lateness.js';
import { requireNetns } from './support.js';

/** Each voter has its namespace to itself, so a fixed port cannot collide with anything. */
export const NODE_PORT = 7100;

export interface NetnsClusterOptions {
  /** One ZooKeeper server, host:port, in the root namespace. */
  readonly zk: string;
  readonly cluster: string;
  readonly ids?: readonly string[];
  readonly workDir?: string;
  readonly nodeArgs?: readonly string[];
  /** Test only: a deliberately broken build for the voters (as ProcessCluster takes it). */
  readonly brokenBuild?: string;
  readonly logLevel?: string;
  readonly waitForLeader?: boolean;
  /** Every line a node writes (as ProcessCluster takes it): the take-over faults aim by them. */
  readonly onLine?: (id: string, line: string) => void;
  /** Where to say what the run should know (e.g. that the relays run at normal priority). */
  readonly say?: (line: string) => void;
}

export class NetnsCluster {
  private constructor(
    readonly cluster: ProcessCluster,
    readonly faults: NetFaults,
    readonly network: NetnsNetwork,
    private readonly relays: RelayHost,
  ) {}

  /** Throws NetnsUnavailableError (with what is missing) where namespaces cannot be made. */
  static async start(o: NetnsClusterOptions): Promise<NetnsCluster> {
    await requireNetns();
    if (o.zk.includes(',')) throw new Error('the network-namespace harness relays one ZooKeeper server; give it one host:port');
    const slash = o.zk.indexOf('/');
    if (slash >= 0) throw new Error('the network-namespace harness takes a ZooKeeper host:port without a chroot');
    const zkHost = o.zk.slice(0, o.zk.lastIndexOf(':'));
    const zkPort = Number(o.zk.slice(o.zk.lastIndexOf(':') + 1));
    const ids = o.ids ?? ['a', 'b'];
    const network = await NetnsNetwork.create(ids);
    let relays: RelayHost | null = null;
    let cluster: ProcessCluster | null = null;
    try {
      const firewalls = new Map<string, NamespaceFirewall>();
      for (const id of ids) {
        const fw = new NamespaceFirewall(network.voter(id).ns);
        await fw.install();
        firewalls.set(id, fw);
      }
      const specs: RelaySpec[] = [];
      const relayAddresses = new Map<string, string>();
      for (const id of ids) {
        const v = network.voter(id);
        for (const kind of LINK_KINDS) {
          const name = linkName(kind, id);
          const address = await network.addRelayAddress();
          relayAddresses.set(name, address);
          specs.push({ name, address, target: kind === 'zk' ? { host: zkHost, port: zkPort } : { host: v.address, port: NODE_PORT } });
        }
      }
      relays = await RelayHost.start(specs, o.say);
      const placement = new Map<string, NodePlacement>();
      const at = (link: string): string => `${relayAddresses.get(link)}:${relays!.port(link)}`;
      for (const id of ids) {
        const v = network.voter(id);
        placement.set(id, {
          listen: `${v.address}:${NODE_PORT}`,
          advertise: at(linkName('client', id)),
          peerAdvertise: at(linkName('peer', id)),
          zk: at(linkName('zk', id)),
          statusAddress: `${v.address}:${NODE_PORT}`,
          launcher: ['ip', 'netns', 'exec', v.ns],
        });
      }
      const options: ProcessClusterOptions = {
        zk: o.zk,
        cluster: o.cluster,
        placement,
        ...(o.workDir !== undefined ? { workDir: o.workDir } : {}),
        ...(o.nodeArgs !== undefined ? { nodeArgs: o.nodeArgs } : {}),
        ...(o.brokenBuild !== undefined ? { brokenBuild: o.brokenBuild } : {}),
        ...(o.logLevel !== undefined ? { logLevel: o.logLevel } : {}),
        ...(o.waitForLeader !== undefined ? { waitForLeader: o.waitForLeader } : {}),
        ...(o.onLine !== undefined ? { onLine: o.onLine } : {}),
      };
      cluster = await ProcessCluster.start(options);
      return new NetnsCluster(cluster, new NetFaults(network, firewalls, relays, relayAddresses), network, relays);
    } catch (err) {
      await cluster?.stop().catch(() => undefined);
      await relays?.stop().catch(() => undefined);
      await network.teardown();
      throw err;
    }
  }

  /** How late the relays delivered, beyond the delays they were given (relay-lateness.ts). */
  async relayLateness(): Promise<RelayLatenessStats & { readonly realtime: boolean }> {
    return { ...(await this.relays.lateness()), realtime: this.relays.normalPriorityBecause === null };
  }

  /** Stops the nodes and the relays, then removes the namespaces, veths and bridge. */
  async stop(): Promise<void> {
    try {
      await this.cluster.stop();
    } finally {
      try {
        await this.relays.stop();
      } finally {
        await this.network.teardown();
      }
    }
  }
}
