// Stale reads straight from one listener (no leader discovery): what the chaos run's final
// comparison of a listener's state uses.
import * as grpc from '@grpc/grpc-js';
import { fromWireError } from '../../common/error-codes.js';
import { pb } from '../../common/proto.js';
import { KvClient, kvService } from '../../server/kv-service.js';

const READ_TIMEOUT_MS = 5000;
const decoder = new TextDecoder();

export class DirectStaleReader {
  private readonly c: InstanceType<typeof KvClient>;

  constructor(address: string) {
    this.c = new KvClient(address, grpc.credentials.createInsecure());
  }

  /** The value (null: absent) as of at least `minIndex`. */
  get(key: string, minIndex: number): Promise<string | null> {
    const def = kvService.get;
    return new Promise((resolve, reject) => {
      this.c.makeUnaryRequest(
        def.path,
        def.requestSerialize,
        def.responseDeserialize,
        { key, consistency: pb.client.Consistency.STALE, minIndex },
        { deadline: Date.now() + READ_TIMEOUT_MS },
        (err, res) => {
          if (err || !res) return reject(err ?? new Error('no response'));
          const e = fromWireError(res.error);
          if (e) return reject(e);
          resolve(res.found ? decoder.decode(res.value) : null);
        },
      );
    });
  }

  close(): void {
    this.c.close();
  }
}
