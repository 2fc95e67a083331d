// The one import point for the generated protobuf code.
//
// protobufjs decodes 64-bit integers as Long objects when the `long` package is
// present. duoraft's 64-bit fields (indexes, terms, counters) stay within
// Number.MAX_SAFE_INTEGER, and the generated types say `number` (--force-number), so
// the runtime is switched to plain numbers here, before any message is decoded.
import $protobuf from 'protobufjs/minimal.js';
import { duoraft } from '../generated/proto.js';

$protobuf.util.Long = undefined as unknown as typeof $protobuf.util.Long;
$protobuf.configure();

export { duoraft };
export const pb = duoraft;
