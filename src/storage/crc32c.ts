// CRC32C moved to src/common/crc32c.ts (the snapshot format in src/statemachine uses it
// too); this re-export keeps the existing imports working.
export { crc32c } from '../common/crc32c.js';
