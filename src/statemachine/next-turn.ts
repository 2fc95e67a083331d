// Gives the event loop back between slices of long work (snapshots): setImmediate runs
// after pending I/O callbacks, so client requests, peer messages and timers go first.
export const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
