// The fault schedule of a simulated run, drawn from the seed: every 100-600 virtual ms
// until faultMs, one fault (or a quiet interval), chosen at random. See notes/simulation.md
// for the kinds. Returns the aimed faults (aimed-faults.ts), which the run must poke after
// every event.
import { ClusterPaths } from '../../../src/coordination/layout.js';
import { decodeEpoch, decodeTail } from '../../../src/coordination/records.js';
import { defaultTiming, lapseSilenceMs } from '../../../src/server/node-config.js';
import type { SimScheduler } from '../sim-scheduler.js';
import type { ZkModel } from '../zk-model.js';
import { AimedFaults } from './aimed-faults.js';
import type { SimNetwork } from './sim-network.js';
import type { SimNode } from './sim-node.js';
import type { SimFeedNetwork } from './sim-feed-network.js';
import type { SimListener } from './sim-listener.js';

/**
 * 'all': every kind. The others schedule one kind only, to aim many seeds at one window:
 * 'slow-leader-zk': sudden slowdowns of the leader's link to ZooKeeper by about one lease
 * window (a take-over races the old leader's late appends); 'expire-in-takeover': a
 * take-over that loses its session (kind 11); 'expire-after-fence': kind 11 always with a
 * held ZooKeeper follower and the expiry right after the fence lands (the take-over reads
 * the tail on a new session; with local sessions it may land on the held follower);
 * 'kill-deposed-leader': the old leader killed just after it follows the new one (kind 12);
 * 'stale-tail-takeover': a take-over that reads the tail on a new session, which may land
 * on a ZooKeeper follower behind the fence (see below; local sessions);
 * 'both-down': both nodes killed at once, half the time with both disks lost (wipe-both,
 * restart-both);
 * 'listeners': two or three listeners run beside the voters (fed by a follower, by each
 * other, or reading ZooKeeper); half the faults are the 14 kinds of 'all', half hit the
 * listeners (listenerFault below).
 */
export type FaultMix = 'all' | 'slow-leader-zk' | 'expire-in-takeover' | 'expire-after-fence' | 'kill-deposed-leader' | 'stale-tail-takeover' | 'both-down' | 'listeners';

export const faultMixes: readonly FaultMix[] = ['all', 'slow-leader-zk', 'expire-in-takeover', 'expire-after-fence', 'kill-deposed-leader', 'stale-tail-takeover', 'both-down', 'listeners'];

/** Mixes whose window exists only with local sessions (a new session answered by a lagging server at once). */
export const localSessionMixes: readonly FaultMix[] = ['stale-tail-takeover'];

export interface FaultScheduleContext {
  readonly sched: SimScheduler;
  readonly model: ZkModel;
  readonly net: SimNetwork;
  readonly nodes: readonly SimNode[];
  /** Faults start until this virtual time. */
  readonly faultMs: number;
  readonly mix: FaultMix;
  /** Servers in the ZooKeeper ensemble (0 leads). */
  readonly zkServers: number;
  readonly cluster: string;
  /** Records (and traces) one line of the schedule. */
  readonly note: (line: string) => void;
  /** Under --mix listeners: the listeners and their feed network. */
  readonly listeners?: { readonly members: readonly SimListener[]; readonly feed: SimFeedNetwork };
}

export function scheduleFaults(ctx: FaultScheduleContext): AimedFaults {
  const { sched, model, net, nodes, faultMs, mix, zkServers, note } = ctx;
  const paths = new ClusterPaths(ctx.cluster);
  const epochPath = paths.epoch;
  const rnd = sched.random;
  const pick = <T>(xs: readonly T[]): T => xs[rnd.nextInt(xs.length)]!;
  const leaderNow = (): SimNode | undefined => nodes.find((n) => n.state === 'up' && n.driver?.inspect().softState.role === 'leader');
  const restartLater = (node: SimNode, ms: number): void => {
    sched.schedule(ms, () => {
      if (node.state === 'down') {
        note(`restart ${node.id}`);
        node.start();
      }
    });
  };
  const aimed = new AimedFaults(sched, nodes, {
    expireSession: (n, delayMs, why, then) => {
      const name = n.sessionName;
      sched.schedule(delayMs, () => {
        note(`ZooKeeper session of ${n.id} expired, ${why}`);
        model.expire(name);
        then?.();
      });
    },
    epoch: () => {
      const z = model.znode(epochPath);
      return z === null ? null : { mzxid: z.mzxid, leaderId: decodeEpoch(epochPath, z.data).leaderId };
    },
    tailIndex: () => {
      const data = model.dataOf(paths.tail);
      return data === null ? 0 : decodeTail(paths.tail, data).lastIndex;
    },
    kill: (n, delayMs) => {
      sched.schedule(delayMs, () => {
        if (n.state === 'down') return;
        note(`crash ${n.id}, ${delayMs} ms after it started following the new leader`);
        n.crash({ wipe: false, tornTail: rnd.nextInt(2) === 0 });
        restartLater(n, 50 + rnd.nextInt(300));
      });
    },
  });
  /**
   * Issue 9 hole 2, aimed: a take-over whose tail read after a new session may come from a
   * ZooKeeper follower that missed appends its node does not know were committed. A
   * follower (not the one the other node's session is on) falls behind its leader; the
   * voters' leader is killed the moment one of its appends lands in ZooKeeper (so neither
   * voter learns that it committed); the other node's link to ZooKeeper is slow (its
   * take-over starts before it read the tail as a pre-candidate, so its commit index stays
   * below the lagging follower's tail); and its session expires right after its fence
   * lands. Its new (local) session lands on the lagging follower a third of the time, and
   * a tail read there before sync() is older than the fence: the old leader's last append
   * is missing.
   */
  let staleTailBusyUntil = 0;
  const staleTailTakeover = (): void => {
    // One at a time: a second would kill the node taking over as its first append lands.
    if (sched.now() < staleTailBusyUntil) return;
    const leader = leaderNow();
    const taker = nodes.find((n) => n !== leader && n.state === 'up');
    if (!leader || !taker) return;
    const busy = model.serverOf(taker.sessionName);
    const free = Array.from({ length: zkServers - 1 }, (_, i) => i + 1).filter((s) => s !== busy && !model.isServerHeld(s));
    if (free.length === 0) return;
    const follower = pick(free);
    const holdMs = 700 + rnd.nextInt(501);
    const slowMs = 60 + rnd.nextInt(61);
    const residualMs = rnd.nextInt(11);
    const expireMs = rnd.nextInt(8);
    staleTailBusyUntil = sched.now() + holdMs;
    note(`ZooKeeper server ${follower} (a follower) falls behind its leader for ${holdMs} ms; ${leader.id} (the leader) is killed when its next append lands`);
    model.holdServer(follower);
    sched.schedule(holdMs, () => model.releaseServer(follower));
    aimed.whenTailMoves(200, () => {
      if (leader.state !== 'up') return;
      note(`crash ${leader.id} (the leader) as its append lands; ${taker.id}'s link to ZooKeeper slows by ${slowMs} ms; its next take-over loses its session ${expireMs} ms after its fence lands (then it is ${residualMs} ms slow)`);
      leader.crash({ wipe: false, tornTail: false });
      // Back only after the follower caught up: meanwhile the taker's lease touches wait
      // there, and a node back earlier would see the lease still and take over in turn.
      restartLater(leader, holdMs + 100 + rnd.nextInt(400));
      taker.slowZk(slowMs);
      // From the expiry on the link is only a little slow: the new session connects while
      // the take-over still retries its tail read every few ms (its backoff is short then).
      const later = sched.schedule(1500, () => taker.slowZk(0));
      aimed.expireAfterNextFence(expireMs, () => {
        later.cancel();
        taker.slowZk(residualMs);
        sched.schedule(500, () => taker.slowZk(0));
      });
    });
  };
  const injectFault = (): void => {
    if (sched.now() >= faultMs) return;
    if (mix === 'slow-leader-zk') {
      const leader = nodes.find((n) => n.driver?.inspect().softState.role === 'leader');
      if (!leader) return;
      // Long enough that no lease touch lands for the lapse silence plus an election timeout
      // (700 + 150 ms with today's defaults): the lapsed leader falls silent and the follower
      // takes over while the old leader's appends are still on their way (a touch that lands
      // late keeps a leader from falling silent, so a shorter slowdown no longer causes a
      // failover at all). Derived from the timing, so a longer silence keeps this mix aimed.
      const shortest = lapseSilenceMs(defaultTiming) + defaultTiming.electionTimeoutMs + 30;
      const extra = shortest + rnd.nextInt(120);
      note(`${leader.id}'s (the leader's) link to ZooKeeper slows by ${extra} ms`);
      leader.slowZk(extra);
      sched.schedule(shortest + 420, () => leader.slowZk(0));
      return;
    }
    if (mix === 'stale-tail-takeover') {
      staleTailTakeover();
      return;
    }
    if (mix === 'both-down') {
      bothDown(rnd.nextInt(2) === 0);
      return;
    }
    if (mix === 'listeners' && ctx.listeners && rnd.nextInt(2) === 0) {
      listenerFault(ctx.listeners.members, ctx.listeners.feed);
      return;
    }
    const node = pick(nodes);
    const kind = mix === 'expire-in-takeover' || mix === 'expire-after-fence' ? 11 : mix === 'kill-deposed-leader' ? 12 : rnd.nextInt(14);
    switch (kind) {
      case 0:
      case 1: {
        const wipe = rnd.nextInt(4) === 0;
        const tornTail = !wipe && rnd.nextInt(2) === 0;
        note(`crash ${node.id}${wipe ? ' (disk lost)' : tornTail ? ' (torn tail)' : ''}`);
        node.crash({ wipe, tornTail });
        sched.schedule(50 + rnd.nextInt(800), () => {
          if (node.state === 'down') {
            note(`restart ${node.id}`);
            node.start();
          }
        });
        break;
      }
      case 2: {
        const ms = 20 + rnd.nextInt(1500);
        note(`pause ${node.id} for ${ms} ms`);
        node.pause();
        sched.schedule(ms, () => {
          note(`resume ${node.id}`);
          node.resume();
        });
        break;
      }
      case 3: {
        const ms = 100 + rnd.nextInt(1500);
        note(`cut link a-b for ${ms} ms`);
        net.cutLink('a', 'b');
        sched.schedule(ms, () => net.healLink('a', 'b'));
        break;
      }
      case 4: {
        const ms = 100 + rnd.nextInt(2500);
        note(`cut ${node.id} from ZooKeeper for ${ms} ms`);
        node.cutZk();
        sched.schedule(ms, () => node.healZk());
        break;
      }
      case 5:
        note(`ZooKeeper connection loss at ${node.id}`);
        if (node.sessionName) model.disconnect(node.sessionName);
        break;
      case 6:
        note(`ZooKeeper session of ${node.id} expired`);
        if (node.sessionName) model.expire(node.sessionName);
        break;
      case 7: {
        const ms = 200 + rnd.nextInt(1000);
        net.faults.drop = 0.05 + rnd.nextFloat() * 0.3;
        note(`drop ${(net.faults.drop * 100).toFixed(0)}% of peer messages for ${ms} ms`);
        sched.schedule(ms, () => {
          net.faults.drop = 0;
        });
        break;
      }
      case 8: {
        const ms = 200 + rnd.nextInt(1000);
        net.faults.latencyMs = [1, 20 + rnd.nextInt(200)];
        note(`peer messages delayed and reordered (up to ${net.faults.latencyMs[1]} ms) for ${ms} ms`);
        sched.schedule(ms, () => {
          net.faults.latencyMs = [1, 3];
        });
        break;
      }
      case 9: {
        const extra = 100 + rnd.nextInt(500);
        const ms = 200 + rnd.nextInt(1500);
        note(`${node.id}'s link to ZooKeeper slows by ${extra} ms for ${ms} ms`);
        node.slowZk(extra);
        sched.schedule(ms, () => node.slowZk(0));
        break;
      }
      case 10: {
        // A ZooKeeper follower falls behind: its link to the ZooKeeper leader is held. It
        // keeps answering its sessions from what it has (stale reads, late watches) and
        // holds their writes, syncs and handshakes until released.
        const follower = 1 + rnd.nextInt(zkServers - 1);
        if (model.isServerHeld(follower)) break;
        const ms = 100 + rnd.nextInt(1400);
        note(`ZooKeeper server ${follower} (a follower) falls behind its leader for ${ms} ms`);
        model.holdServer(follower);
        sched.schedule(ms, () => model.releaseServer(follower));
        break;
      }
      case 11: {
        // A take-over with a session expiry aimed at it: the leader stops (paused or
        // killed), and the other node's session expires as it takes over (N ms after it
        // became candidate, or N ms after its fence landed: then it reads the tail on a new
        // session). Half the time a ZooKeeper follower is held from a little before the
        // leader stops, so that it misses the old leader's last appends: a new session
        // that lands there (with local sessions) reads an old tail.
        const leader = leaderNow();
        if (!leader) break;
        const aimAtFence = mix === 'expire-after-fence';
        const afterFence = aimAtFence || rnd.nextInt(2) === 0;
        const delayMs = afterFence ? rnd.nextInt(8) : rnd.nextInt(30);
        if (afterFence) aimed.expireAfterNextFence(delayMs);
        else aimed.expireAtNextTakeover(delayMs);
        const aim = afterFence ? `${delayMs} ms after its fence lands` : `${delayMs} ms into its take-over`;
        let lead = 0;
        if (aimAtFence || rnd.nextInt(2) === 0) {
          const follower = 1 + rnd.nextInt(zkServers - 1);
          if (!model.isServerHeld(follower)) {
            const ms = 300 + rnd.nextInt(1000);
            lead = rnd.nextInt(aimAtFence ? 10 : 30);
            note(`ZooKeeper server ${follower} (a follower) falls behind its leader for ${ms} ms`);
            model.holdServer(follower);
            sched.schedule(ms, () => model.releaseServer(follower));
          }
        }
        const paused = rnd.nextInt(2) === 0;
        const ms = paused ? 300 + rnd.nextInt(900) : 300 + rnd.nextInt(600);
        sched.schedule(lead, () => {
          if (leader.state !== 'up') return;
          if (paused) {
            note(`pause ${leader.id} (the leader) for ${ms} ms; the next take-over loses its session ${aim}`);
            leader.pause();
            sched.schedule(ms, () => {
              note(`resume ${leader.id}`);
              leader.resume();
            });
          } else {
            note(`crash ${leader.id} (the leader); the next take-over loses its session ${aim}`);
            leader.crash({ wipe: false, tornTail: false });
            restartLater(leader, ms);
          }
        });
        break;
      }
      case 12: {
        // The leader is cut off from ZooKeeper (its writes stop landing there while it
        // keeps appending locally), the follower takes over, and the old leader is killed
        // shortly after it starts following: just after the new leader's appends
        // overwrote its unreplicated suffix.
        const leader = leaderNow();
        if (!leader) break;
        const term = leader.driver?.inspect().softState.term ?? 0;
        const delayMs = rnd.nextInt(40);
        const ms = 400 + rnd.nextInt(800);
        note(`cut ${leader.id} (the leader) from ZooKeeper for ${ms} ms; it is killed ${delayMs} ms after it follows the new leader`);
        leader.cutZk();
        sched.schedule(ms, () => leader.healZk());
        aimed.killWhenDeposed(leader, term, delayMs);
        break;
      }
      default: {
        // The slot of the quiet interval, split three ways (so that the kinds above keep
        // their draws): quiet, wipe-both, restart-both.
        const which = rnd.nextInt(3);
        if (which > 0) bothDown(which === 1);
        break;
      }
    }
  };
  /**
   * Both nodes SIGKILLed at once; with `wipe` both disks are lost too (WAL and snapshots):
   * the first to start rebuilds from ZooKeeper's newest snapshot and log and leads, the
   * other follows. Each restarts 50-850 ms later.
   */
  const bothDown = (wipe: boolean): void => {
    note(wipe ? 'wipe-both: both nodes killed, both disks lost' : 'restart-both: both nodes killed');
    for (const n of nodes) {
      n.crash({ wipe, tornTail: !wipe && rnd.nextInt(2) === 0 });
      restartLater(n, 50 + rnd.nextInt(800));
    }
  };
  /**
   * One fault aimed at the listeners: kill one (a quarter with its disk lost), kill its
   * upstream (the follower or listener feeding it; one reading ZooKeeper is killed itself),
   * cut one from the feed network (half the time from ZooKeeper too), pause one, expire its
   * ZooKeeper session, or cut a voter from the feed network (its listeners stall).
   */
  const listenerFault = (members: readonly SimListener[], feed: SimFeedNetwork): void => {
    const l = pick(members);
    const restartListener = (x: SimListener, ms: number): void => {
      sched.schedule(ms, () => {
        if (x.state === 'down') {
          note(`restart listener ${x.id}`);
          x.start();
        }
      });
    };
    switch (rnd.nextInt(6)) {
      case 0: {
        const wipe = rnd.nextInt(4) === 0;
        const tornTail = !wipe && rnd.nextInt(2) === 0;
        note(`kill-listener ${l.id}${wipe ? ' (disk lost)' : tornTail ? ' (torn tail)' : ''}`);
        l.crash({ wipe, tornTail });
        restartListener(l, 50 + rnd.nextInt(800));
        break;
      }
      case 1: {
        const up = l.upstream();
        const voter = nodes.find((n) => n.id === up);
        const listener = members.find((m) => m.id === up);
        const ms = 50 + rnd.nextInt(800);
        if (voter) {
          note(`kill-upstream of ${l.id}: crash voter ${voter.id}`);
          voter.crash({ wipe: false, tornTail: rnd.nextInt(2) === 0 });
          restartLater(voter, ms);
        } else if (listener) {
          note(`kill-upstream of ${l.id}: kill listener ${listener.id}`);
          listener.crash({ wipe: false, tornTail: rnd.nextInt(2) === 0 });
          restartListener(listener, ms);
        } else {
          note(`kill-upstream of ${l.id}: it has none (${up || 'choosing'}), kill it`);
          l.crash({ wipe: false, tornTail: false });
          restartListener(l, ms);
        }
        break;
      }
      case 2: {
        const ms = 100 + rnd.nextInt(1900);
        const zkToo = rnd.nextInt(2) === 0;
        note(`cut listener ${l.id} from the feed${zkToo ? ' and from ZooKeeper' : ''} for ${ms} ms`);
        feed.cutMember(l.id);
        if (zkToo) l.cutZk();
        sched.schedule(ms, () => {
          feed.healMember(l.id);
          if (zkToo) l.healZk();
        });
        break;
      }
      case 3: {
        const ms = 20 + rnd.nextInt(1500);
        note(`pause listener ${l.id} for ${ms} ms`);
        l.pause();
        sched.schedule(ms, () => l.resume());
        break;
      }
      case 4:
        note(`ZooKeeper session of listener ${l.id} expired`);
        if (l.sessionName) model.expire(l.sessionName);
        break;
      default: {
        const v = pick(nodes);
        const ms = 100 + rnd.nextInt(1900);
        note(`cut voter ${v.id} from the feed for ${ms} ms`);
        feed.cutMember(v.id);
        sched.schedule(ms, () => feed.healMember(v.id));
        break;
      }
    }
  };
  const next = (): void => {
    sched.schedule(100 + rnd.nextInt(500), () => {
      injectFault();
      if (sched.now() < faultMs) next();
    });
  };
  next();
  return aimed;
}
