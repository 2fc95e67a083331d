// Raw session calls to one member (no client library): lets a test replay exactly the
// (session, sequence) a client would retry with.
import * as grpc from '@grpc/grpc-js';
import { fromWireError } from '../../src/common/error-codes.js';
import type { DuoraftError } from '../../src/common/errors.js';
import { KvClient, kvService } from '../../src/server/kv-service.js';
import type { WriteContext } from '../../src/statemachine/command.js';

export class SessionMember {
  private readonly c: InstanceType<typeof KvClient>;

  constructor(address: string) {
    this.c = new KvClient(address, grpc.credentials.createInsecure());
  }

  register(timeoutMs: number): Promise<number> {
    const def = kvService.registerSession;
    return new Promise((resolve, reject) => {
      this.c.makeUnaryRequest(def.path, def.requestSerialize, def.responseDeserialize, { timeoutMs }, { deadline: Date.now() + 5000 }, (err, res) => {
        if (err || !res) return reject(err ?? new Error('no response'));
        const e = fromWireError(res.error);
        if (e) return reject(e);
        resolve(res.sessionId);
      });
    });
  }

  incr(key: string, delta: number, ctx: WriteContext): Promise<{ value: number; index: number } | DuoraftError> {
    const def = kvService.incr;
    return new Promise((resolve, reject) => {
      this.c.makeUnaryRequest(def.path, def.requestSerialize, def.responseDeserialize, { key, delta, ctx }, { deadline: Date.now() + 5000 }, (err, res) => {
        if (err || !res) return reject(err ?? new Error('no response'));
        resolve(fromWireError(res.error) ?? { value: res.value, index: res.index });
      });
    });
  }

  close(): void {
    this.c.close();
  }
}
