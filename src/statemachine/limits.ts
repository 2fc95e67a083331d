// Size limits of keys and values. A ZooKeeper multi must stay under jute.maxbuffer
// (1 MB by default), and one value must fit in one segment with room to spare.
export const MAX_KEY_BYTES = 1024;
export const DEFAULT_MAX_VALUE_BYTES = 256 * 1024;
/** The most a deployment may raise the value limit to. */
export const HARD_MAX_VALUE_BYTES = 512 * 1024;
