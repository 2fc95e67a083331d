// What travels between a model client and the model server: requests, and the
// server's replies. The ops mirror zk-api's; sync travels as the one-op multi the real
// wrapper sends (check '/' at any version), so it is a write in the server's order.
import type { ZkCreateMode, ZkErrorCode, ZkOp, ZkOpResult, ZkStat } from '../../../src/coordination/zk-api.js';

export type ModelRequest =
  | { readonly kind: 'getData'; readonly path: string; readonly watch: boolean }
  | { readonly kind: 'exists'; readonly path: string; readonly watch: boolean }
  | { readonly kind: 'getChildren'; readonly path: string; readonly watch: boolean }
  | { readonly kind: 'create'; readonly path: string; readonly data: Uint8Array; readonly mode: ZkCreateMode }
  | { readonly kind: 'setData'; readonly path: string; readonly data: Uint8Array; readonly version: number }
  | { readonly kind: 'delete'; readonly path: string; readonly version: number }
  | { readonly kind: 'multi'; readonly ops: readonly ZkOp[] }
  /** A graceful close: the server ends the session (its ephemerals go) after every earlier request. */
  | { readonly kind: 'closeSession' };

export type ReplyValue =
  | { readonly kind: 'data'; readonly data: Uint8Array; readonly stat: ZkStat }
  | { readonly kind: 'stat'; readonly stat: ZkStat | null }
  | { readonly kind: 'children'; readonly children: readonly string[] }
  | { readonly kind: 'created'; readonly path: string }
  | { readonly kind: 'multi'; readonly results: readonly ZkOpResult[] }
  | { readonly kind: 'done' };

export type ReplyOutcome =
  | { readonly ok: true; readonly value: ReplyValue }
  /** failedOp: the index of the failing op of a multi, -1 otherwise. */
  | { readonly ok: false; readonly code: ZkErrorCode; readonly failedOp: number };

export interface ServerReply {
  /** The server's last zxid when it answered (what the real reply header carries). */
  readonly zxid: bigint;
  readonly outcome: ReplyOutcome;
}
