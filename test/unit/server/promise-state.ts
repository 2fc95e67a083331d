/** Whether `p` has settled, after a few turns of the microtask queue (for waiters woken synchronously). */
export async function settled<T>(p: Promise<T>): Promise<'resolved' | 'pending' | 'rejected'> {
  let state: 'resolved' | 'pending' | 'rejected' = 'pending';
  p.then(
    () => (state = 'resolved'),
    () => (state = 'rejected'),
  );
  for (let i = 0; i < 5; i++) await Promise.resolve();
  return state;
}
