// Human-readable operations for violation reports.

import type { KvInput, KvOutput, Operation } from './history.js';
import type { KeyState } from './kv-model.js';

export function formatValue(value: KeyState): string {
  return value === null ? 'absent' : JSON.stringify(value);
}

export function formatInput(input: KvInput): string {
  switch (input.kind) {
    case 'put':
      return `put(${JSON.stringify(input.value)})`;
    case 'get':
      return 'get()';
    case 'del':
      return 'del()';
    case 'incr':
      return `incr(${String(input.delta)})`;
    case 'cas':
      return `cas(${formatValue(input.expected)} -> ${JSON.stringify(input.next)})`;
  }
}

export function formatOutput(output: KvOutput | null): string {
  if (output === null) return 'unknown';
  switch (output.kind) {
    case 'put':
      return 'ok';
    case 'get':
      return output.found ? JSON.stringify(output.value) : 'not found';
    case 'del':
      return output.deleted ? 'deleted' : 'not deleted';
    case 'incr':
      return output.error !== undefined ? output.error : String(output.value);
    case 'cas':
      if (output.ok) return 'ok';
      return output.current === undefined ? 'failed' : `failed (current ${formatValue(output.current)})`;
  }
}

/** e.g. `#12 client 3 [100, 140] put("a") -> ok`; an unanswered operation shows `[100, ?]`. */
export function formatOperation(op: Operation): string {
  const ret = op.ret === null ? '?' : String(op.ret);
  return `#${op.id} client ${op.client} [${op.call}, ${ret}] ${formatInput(op.input)} -> ${formatOutput(op.ret === null ? null : op.output)}`;
}
