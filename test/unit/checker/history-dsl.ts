// A terse way to write histories in tests: one method per operation kind, with what
// the client saw. `ret: null` means no response (unknown outcome).

import type { KvInput, KvOutput, Operation } from '../../../src/harness/checker/history.js';

export interface OpOptions {
  readonly key?: string;
  /** A response came at ret, but it was an error after which the write may still happen. */
  readonly unknown?: boolean;
}

export class Hist {
  readonly ops: Operation[] = [];
  private nextId = 1;

  private add(client: number, call: number, ret: number | null, input: KvInput, output: KvOutput, opts: OpOptions): Operation {
    const op: Operation = {
      id: this.nextId++,
      client,
      key: opts.key ?? 'k',
      call,
      ret,
      input,
      output: ret === null || opts.unknown === true ? null : output,
    };
    this.ops.push(op);
    return op;
  }

  put(client: number, call: number, ret: number | null, value: string, opts: OpOptions = {}): Operation {
    return this.add(client, call, ret, { kind: 'put', value }, { kind: 'put' }, opts);
  }

  /** seen: the value read, or null for "not found". */
  get(client: number, call: number, ret: number | null, seen: string | null, opts: OpOptions = {}): Operation {
    const output: KvOutput = seen === null ? { kind: 'get', found: false } : { kind: 'get', found: true, value: seen };
    return this.add(client, call, ret, { kind: 'get' }, output, opts);
  }

  del(client: number, call: number, ret: number | null, deleted: boolean, opts: OpOptions = {}): Operation {
    return this.add(client, call, ret, { kind: 'del' }, { kind: 'del', deleted }, opts);
  }

  incr(client: number, call: number, ret: number | null, delta: number, result: number | 'not_integer', opts: OpOptions = {}): Operation {
    const output: KvOutput =
      result === 'not_integer' ? { kind: 'incr', error: 'not_integer' } : { kind: 'incr', value: result };
    return this.add(client, call, ret, { kind: 'incr', delta }, output, opts);
  }

  /** current: what a failed cas reported (undefined: not reported). */
  cas(
    client: number,
    call: number,
    ret: number | null,
    expected: string | null,
    next: string,
    ok: boolean,
    current?: string | null,
    opts: OpOptions = {},
  ): Operation {
    const output: KvOutput = current === undefined || ok ? { kind: 'cas', ok } : { kind: 'cas', ok, current };
    return this.add(client, call, ret, { kind: 'cas', expected, next }, output, opts);
  }
}
