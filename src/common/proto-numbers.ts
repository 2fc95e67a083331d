// Switches protobufjs to plain numbers for 64-bit fields. It must be evaluated before the
// generated code (which fixes its field defaults when it loads), so src/common/proto.ts
// imports it first. duoraft's 64-bit values (indexes, terms, counters) stay within
// Number.MAX_SAFE_INTEGER.
import $protobuf from 'protobufjs/minimal.js';

$protobuf.util.Long = undefined as unknown as typeof $protobuf.util.Long;
$protobuf.configure();
