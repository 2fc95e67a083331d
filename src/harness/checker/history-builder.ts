// Builds a history from the event stream a recorder sees: an invocation, then at
// most one completion per operation.

import type { KvInput, KvOutput, Operation } from './history.js';

export type HistoryEvent =
  | {
      readonly type: 'invoke';
      readonly id: number;
      readonly client: number;
      readonly key: string;
      readonly time: number;
      readonly input: KvInput;
    }
  /** A definite response. */
  | { readonly type: 'ok'; readonly id: number; readonly time: number; readonly output: KvOutput }
  /** A definite failure: the operation certainly did not take effect, so it leaves the history. */
  | { readonly type: 'fail'; readonly id: number; readonly time: number }
  /** An indeterminate failure (timeout, connection lost): it may take effect, even later. */
  | { readonly type: 'info'; readonly id: number; readonly time: number };

interface Invocation {
  readonly id: number;
  readonly client: number;
  readonly key: string;
  readonly call: number;
  readonly input: KvInput;
}

export class HistoryBuilder {
  private readonly open = new Map<number, Invocation>();
  private readonly done = new Map<number, Operation | null>();

  add(event: HistoryEvent): this {
    switch (event.type) {
      case 'invoke':
        return this.invoke(event.id, event.client, event.key, event.time, event.input);
      case 'ok':
        return this.complete(event.id, event.time, event.output);
      case 'fail':
        return this.fail(event.id, event.time);
      case 'info':
        return this.indeterminate(event.id, event.time);
    }
  }

  invoke(id: number, client: number, key: string, time: number, input: KvInput): this {
    if (this.open.has(id) || this.done.has(id)) throw new Error(`operation ${id} invoked twice`);
    this.open.set(id, { id, client, key, call: time, input });
    return this;
  }

  complete(id: number, time: number, output: KvOutput): this {
    const inv = this.take(id);
    if (output.kind !== inv.input.kind) {
      throw new Error(`operation ${id}: ${output.kind} response to a ${inv.input.kind}`);
    }
    this.done.set(id, { ...inv, ret: this.checkTime(inv, time), output });
    return this;
  }

  fail(id: number, time: number): this {
    this.checkTime(this.take(id), time);
    // Kept as null so a later event for the same id is still reported.
    this.done.set(id, null);
    return this;
  }

  /** The response time is kept, but the output is unknown: the search treats it as never returning. */
  indeterminate(id: number, time: number): this {
    const inv = this.take(id);
    this.done.set(id, { ...inv, ret: this.checkTime(inv, time), output: null });
    return this;
  }

  /** Completed and indeterminate operations, then still-open ones (ret null), in invocation order. */
  build(): Operation[] {
    const ops: Operation[] = [];
    for (const op of this.done.values()) if (op !== null) ops.push(op);
    for (const inv of this.open.values()) ops.push({ ...inv, ret: null, output: null });
    return ops.sort((a, b) => a.call - b.call || a.id - b.id);
  }

  private take(id: number): Invocation {
    const inv = this.open.get(id);
    if (inv === undefined) {
      throw new Error(this.done.has(id) ? `operation ${id} completed twice` : `operation ${id} completed but never invoked`);
    }
    this.open.delete(id);
    return inv;
  }

  private checkTime(inv: Invocation, time: number): number {
    if (time < inv.call) throw new Error(`operation ${inv.id} completes at ${time}, before its call at ${inv.call}`);
    return time;
  }
}

export function historyFromEvents(events: Iterable<HistoryEvent>): Operation[] {
  const builder = new HistoryBuilder();
  for (const event of events) builder.add(event);
  return builder.build();
}
