// The size limits of the real stack, measured against ZooKeeper 3.8 with
// node-zookeeper-client 1.1.3:
// - the library refuses create/setData data over 1 MiB before sending (the wrapper
//   reports BAD_ARGUMENTS);
// - the server drops the connection when a request packet (jute-encoded, without its
//   4-byte length prefix) exceeds jute.maxbuffer = 1048575 bytes. The request is not
//   applied, the client sees CONNECTION_LOSS and reconnects to the same session. So data
//   a little under 1 MiB is already refused this way, and so is a multi whose ops add up.
// The boundaries (create '/big' with 1048524 bytes passes, 1048525 drops; setData
// '/bs' 1048552 / 1048553; a one-op multi setData '/bs' 1048534 / 1048535) match the
// encoding below exactly.
import type { ZkOp } from '../../../src/coordination/zk-api.js';
import type { ModelRequest } from './requests.js';

/** node-zookeeper-client's DATA_SIZE_LIMIT for create and setData (not checked in multi). */
export const clientDataLimitBytes = 1_048_576;
/** ZooKeeper's default jute.maxbuffer, the largest request packet the server reads. */
export const serverPacketLimitBytes = 1_048_575;

const requestHeaderBytes = 8; // xid, type
const multiHeaderBytes = 9; // type, done, err
/** One ACL, world:anyone (OPEN_ACL_UNSAFE, what the wrapper sends without auth): vector length + perms + 'world' + 'anyone'. */
const openAclBytes = 4 + 4 + (4 + 5) + (4 + 6);
const encoder = new TextEncoder();

function ustring(text: string): number {
  return 4 + encoder.encode(text).length;
}

function buffer(data: Uint8Array): number {
  return 4 + data.length;
}

function opBytes(op: ZkOp): number {
  switch (op.type) {
    case 'create':
      return ustring(op.path) + buffer(op.data) + openAclBytes + 4;
    case 'setData':
      return ustring(op.path) + buffer(op.data) + 4;
    case 'delete':
    case 'check':
      return ustring(op.path) + 4;
  }
}

/** Bytes of the request packet as node-zookeeper-client encodes it. */
export function requestPacketBytes(request: ModelRequest): number {
  switch (request.kind) {
    case 'getData':
    case 'exists':
    case 'getChildren':
      return requestHeaderBytes + ustring(request.path) + 1;
    case 'create':
      return requestHeaderBytes + opBytes({ type: 'create', path: request.path, data: request.data, mode: request.mode });
    case 'setData':
      return requestHeaderBytes + opBytes({ type: 'setData', path: request.path, data: request.data, version: request.version });
    case 'delete':
      return requestHeaderBytes + opBytes({ type: 'delete', path: request.path, version: request.version });
    case 'multi':
      return requestHeaderBytes + request.ops.reduce((sum, op) => sum + multiHeaderBytes + opBytes(op), 0) + multiHeaderBytes;
    case 'closeSession':
      return requestHeaderBytes;
  }
}
