// The parts of node-zookeeper-client 1.1.3 (CommonJS, no bundled types) that
// zk-client.ts uses, as read from its source. Internals the public API does not
// expose (the ConnectionManager and its socket) are typed `unknown` here and narrowed
// in zk-native-internals.ts.
declare module 'node-zookeeper-client' {
  namespace zookeeper {
    /** The library's error: `code` is one of Exception's numeric codes. */
    interface Exception extends Error {
      readonly code: number;
      readonly path?: string;
      getCode(): number;
    }

    /** jute Stat: 64-bit fields are 8-byte big-endian Buffers. */
    interface Stat {
      readonly czxid: Buffer;
      readonly mzxid: Buffer;
      readonly ctime: Buffer;
      readonly mtime: Buffer;
      readonly version: number;
      readonly cversion: number;
      readonly aversion: number;
      readonly ephemeralOwner: Buffer;
      readonly dataLength: number;
      readonly numChildren: number;
      readonly pzxid: Buffer;
    }

    interface State {
      readonly name: string;
      readonly code: number;
    }

    interface Event {
      /** 1 created, 2 deleted, 3 data changed, 4 children changed. */
      readonly type: number;
      readonly name: string;
      readonly path: string;
    }

    interface Id {
      readonly scheme: string;
      readonly id: string;
    }

    interface ACL {
      readonly permission: number;
      readonly id: Id;
    }

    /** One entry of a multi's results: `err` is set when type is -1 (error). */
    interface TransactionResult {
      readonly type: number;
      readonly path?: string;
      readonly stat?: Stat;
      readonly err?: number;
    }

    interface Transaction {
      create(path: string, data: Buffer, acls: ACL[], mode: number): Transaction;
      /** Beware: `version || -1` turns version 0 into -1 (unconditional). */
      check(path: string, version: number): Transaction;
      /** Beware: `version || -1` turns version 0 into -1 (unconditional). */
      setData(path: string, data: Buffer, version: number): Transaction;
      /** Beware: `version || -1` turns version 0 into -1 (unconditional). */
      remove(path: string, version: number): Transaction;
      commit(callback: (error: Exception | null | undefined, results?: TransactionResult[]) => void): void;
    }

    type Watcher = (event: Event) => void;

    interface ClientOptions {
      sessionTimeout?: number;
      spinDelay?: number;
      retries?: number;
      sessionId?: Buffer;
      sessionPassword?: Buffer;
    }

    interface Client {
      connect(): void;
      close(): void;
      getState(): State;
      getSessionId(): Buffer;
      getSessionPassword(): Buffer;
      getSessionTimeout(): number;
      addAuthInfo(scheme: string, auth: Buffer): void;
      create(path: string, data: Buffer, acls: ACL[], mode: number, callback: (error: Exception | null, path: string) => void): void;
      remove(path: string, version: number, callback: (error: Exception | null) => void): void;
      setData(path: string, data: Buffer, version: number, callback: (error: Exception | null, stat: Stat) => void): void;
      getData(path: string, callback: (error: Exception | null, data: Buffer | undefined, stat: Stat) => void): void;
      getData(path: string, watcher: Watcher, callback: (error: Exception | null, data: Buffer | undefined, stat: Stat) => void): void;
      exists(path: string, callback: (error: Exception | null, stat: Stat | null) => void): void;
      exists(path: string, watcher: Watcher, callback: (error: Exception | null, stat: Stat | null) => void): void;
      getChildren(path: string, callback: (error: Exception | null, children: string[], stat: Stat) => void): void;
      getChildren(path: string, watcher: Watcher, callback: (error: Exception | null, children: string[], stat: Stat) => void): void;
      getACL(path: string, callback: (error: Exception | null, acls: ACL[], stat: Stat) => void): void;
      setACL(path: string, acls: ACL[], version: number, callback: (error: Exception | null, stat: Stat) => void): void;
      transaction(): Transaction;
      on(event: 'state', listener: (state: State) => void): this;
      removeListener(event: 'state', listener: (state: State) => void): this;
      /** Internal, not part of the documented API. */
      readonly connectionManager: unknown;
    }

    function createClient(connectionString: string, options?: ClientOptions): Client;

    const ACL: {
      new (permission: number, id: Id): ACL;
      readonly OPEN_ACL_UNSAFE: ACL[];
      readonly CREATOR_ALL_ACL: ACL[];
      readonly READ_ACL_UNSAFE: ACL[];
    };

    const Id: {
      new (scheme: string, id: string): Id;
    };

    const CreateMode: {
      readonly PERSISTENT: number;
      readonly PERSISTENT_SEQUENTIAL: number;
      readonly EPHEMERAL: number;
      readonly EPHEMERAL_SEQUENTIAL: number;
    };

    const State: {
      readonly DISCONNECTED: State;
      readonly SYNC_CONNECTED: State;
      readonly AUTH_FAILED: State;
      readonly CONNECTED_READ_ONLY: State;
      readonly SASL_AUTHENTICATED: State;
      readonly EXPIRED: State;
    };
  }

  export = zookeeper;
}
