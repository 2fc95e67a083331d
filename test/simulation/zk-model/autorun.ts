// Drives a SimScheduler from the real event loop, for code written with async/await
// and real-time waits (the shared ZkSession contract suite): whenever events are
// pending it runs the next one, so virtual time advances as fast as there are events,
// and virtual timeouts still fire when nothing else is pending. Test harness only: the
// model itself never reads a clock.
import type { SimScheduler } from '../sim-scheduler.js';

export interface Autorun {
  /** Stops driving; rejects if an event threw. */
  stop(): Promise<void>;
}

/** How long to idle (real ms) when nothing is scheduled, before looking again. */
const idlePollMs = 1;

export function autorun(sched: SimScheduler): Autorun {
  let running = true;
  const loop = async (): Promise<void> => {
    while (running) {
      if (Number.isFinite(sched.nextAt())) await sched.step();
      else await new Promise<void>((resolve) => setTimeout(resolve, idlePollMs));
    }
  };
  const done = loop();
  // Surface an event's exception at stop() rather than as an unhandled rejection now.
  done.catch(() => undefined);
  return {
    stop: async () => {
      running = false;
      await done;
    },
  };
}
