// A minimal etcd v3 client for the comparison bench: KV.Put and Maintenance.Status over
// @grpc/grpc-js with the messages of proto/etcd.proto. gRPC is etcd's native API (what its
// own benchmark tool uses); its HTTP/JSON gateway re-enters etcd's gRPC server over a
// second loopback connection, which would charge etcd for a hop our client never makes.
// Like our client, one HTTP/2 connection carries many calls; unlike it, each Put is its
// own call: etcd has no way to batch independent writes (a Txn is one atomic write).
// Must load before the generated code (see proto-numbers.ts). etcd's member ids are random
// 64-bit numbers, so as JS numbers they lose their low bits; the bench only compares them
// with each other, and two members colliding after rounding is vanishingly unlikely.
import '../../common/proto-numbers.js';
import * as grpc from '@grpc/grpc-js';
import { etcdserverpb } from '../../generated/proto.js';
import { asBuffer, unaryMethod } from '../../common/grpc-unary.js';

const KV = 'etcdserverpb.KV';
const MAINTENANCE = 'etcdserverpb.Maintenance';

const put = unaryMethod(KV, 'Put', etcdserverpb.PutRequest, etcdserverpb.PutResponse);
const status = unaryMethod(MAINTENANCE, 'Status', etcdserverpb.StatusRequest, etcdserverpb.StatusResponse);

export interface EtcdPutResult {
  /** The member that answered. */
  readonly memberId: number;
  /** Raft term when it was applied. */
  readonly raftTerm: number;
  readonly revision: number;
}

export interface EtcdStatus {
  readonly memberId: number;
  readonly leader: number;
  readonly raftTerm: number;
}

export class EtcdClient {
  private readonly client: grpc.Client;

  constructor(readonly endpoint: string) {
    // A channel of its own (not shared with other EtcdClients to the same endpoint), so
    // several of them spread the load over several connections.
    this.client = new grpc.Client(endpoint, grpc.credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 });
  }

  put(key: string, value: Uint8Array, timeoutMs: number): Promise<EtcdPutResult> {
    return new Promise((resolve, reject) => {
      this.client.makeUnaryRequest(
        put.path,
        (m: etcdserverpb.PutRequest.$Properties) => asBuffer(etcdserverpb.PutRequest.encode(m).finish()),
        put.responseDeserialize,
        { key: Buffer.from(key), value },
        { deadline: Date.now() + timeoutMs },
        (err, res) => {
          if (err || !res) return reject(err ?? new Error('etcd: empty Put response'));
          resolve({ memberId: Number(res.header?.memberId ?? 0), raftTerm: Number(res.header?.raftTerm ?? 0), revision: Number(res.header?.revision ?? 0) });
        },
      );
    });
  }

  status(timeoutMs: number): Promise<EtcdStatus> {
    return new Promise((resolve, reject) => {
      this.client.makeUnaryRequest(
        status.path,
        (m: etcdserverpb.StatusRequest.$Properties) => asBuffer(etcdserverpb.StatusRequest.encode(m).finish()),
        status.responseDeserialize,
        {},
        { deadline: Date.now() + timeoutMs },
        (err, res) => {
          if (err || !res) return reject(err ?? new Error('etcd: empty Status response'));
          resolve({ memberId: Number(res.header?.memberId ?? 0), leader: Number(res.leader ?? 0), raftTerm: Number(res.raftTerm ?? 0) });
        },
      );
    });
  }

  close(): void {
    this.client.close();
  }
}
