// The recorded history of a chaos run, as the linearizability checker reads it.
// One Operation per client request, with its invocation and response times and
// what the client saw. Pure data: nothing here does I/O.

/** What a client asked for. Each operation touches exactly one key. */
export type KvInput =
  | { readonly kind: 'put'; readonly value: string }
  | { readonly kind: 'get' }
  | { readonly kind: 'del' }
  | { readonly kind: 'incr'; readonly delta: number | bigint }
  /** expected null means "the key is absent". */
  | { readonly kind: 'cas'; readonly expected: string | null; readonly next: string };

export type PutOutput = { readonly kind: 'put' };

export type GetOutput =
  | { readonly kind: 'get'; readonly found: false; readonly value?: never }
  | { readonly kind: 'get'; readonly found: true; readonly value: string };

export type DelOutput = { readonly kind: 'del'; readonly deleted: boolean };

export type IncrOutput =
  | { readonly kind: 'incr'; readonly value: number | bigint; readonly error?: never }
  /** The stored value was not a decimal integer; nothing changed. */
  | { readonly kind: 'incr'; readonly error: 'not_integer'; readonly value?: never };

export type CasOutput = {
  readonly kind: 'cas';
  readonly ok: boolean;
  /**
   * When ok is false and the server reported it: the value it found (null = absent).
   * Left out, the failed cas only says "the value was not `expected`".
   */
  readonly current?: string | null;
};

/** What the client saw. `kind` repeats the input's kind so the two can be checked together. */
export type KvOutput = PutOutput | GetOutput | DelOutput | IncrOutput | CasOutput;

export type KvKind = KvInput['kind'];

export interface Operation {
  /** Unique within the history. */
  readonly id: number;
  /** The client (process) that issued it; a client has at most one operation outstanding. */
  readonly client: number;
  readonly key: string;
  /** Invocation time, on one monotonic clock shared by all clients (ms or ns). */
  readonly call: number;
  /** Response time; null when no response came (the outcome is unknown). */
  readonly ret: number | null;
  readonly input: KvInput;
  /**
   * null when the outcome is unknown: no response, or an error response after which
   * the write may still take effect (timeout, connection reset, leader lost).
   */
  readonly output: KvOutput | null;
}

/**
 * An operation whose outcome is unknown may take effect at any time after its call,
 * even after the client gave up on it, or never; what it returned is unconstrained.
 */
export function isUnknownOutcome(op: Operation): boolean {
  return op.ret === null || op.output === null;
}

function isInteger(n: number | bigint): boolean {
  return typeof n === 'bigint' || Number.isSafeInteger(n);
}

/** Everything malformed in a history (an empty list when it is well formed). */
export function validateHistory(history: readonly Operation[]): string[] {
  const problems: string[] = [];
  const seen = new Set<number>();
  for (const op of history) {
    const where = `operation #${op.id}`;
    if (seen.has(op.id)) problems.push(`${where}: duplicate id`);
    seen.add(op.id);
    if (!Number.isFinite(op.call)) problems.push(`${where}: call time ${op.call} is not a finite number`);
    if (op.ret !== null && !(Number.isFinite(op.ret) && op.ret >= op.call)) {
      problems.push(`${where}: return time ${op.ret} is not a finite number >= call time ${op.call}`);
    }
    if (op.ret === null && op.output !== null) problems.push(`${where}: has an output but no return time`);
    if (op.input.kind === 'incr' && !isInteger(op.input.delta)) {
      problems.push(`${where}: incr delta ${String(op.input.delta)} is not a safe integer`);
    }
    const out = op.output;
    if (out === null) continue;
    if (out.kind !== op.input.kind) {
      problems.push(`${where}: output kind '${out.kind}' does not match input kind '${op.input.kind}'`);
    } else if (out.kind === 'incr' && out.error === undefined && !isInteger(out.value)) {
      problems.push(`${where}: incr result ${String(out.value)} is not a safe integer`);
    }
  }
  return problems;
}
