// What `duoraft admin remove-listener` prints: a removal says it lasts only once the listener
// is stopped (one still starting registers itself again); an id not listed says plainly it is
// no listener of this cluster.
import { describe, expect, it } from 'vitest';
import { removalLine } from '../../../src/cli/listener-commands.js';

describe('admin remove-listener output', () => {
  it('a removal tells the operator to stop the listener for it to last', () => {
    const line = removalLine('l2', 'c', { before: { voters: ['a', 'b'], listeners: ['l1', 'l2'] }, after: { voters: ['a', 'b'], listeners: ['l1'] }, removed: true });
    expect(line).toMatch(/listener l2 removed .* listeners are now l1/);
    expect(line).toMatch(/registers itself again: stop the listener first for the removal to last/);
  });

  it('an id not listed is reported as not a listener of this cluster', () => {
    const cfg = { voters: ['a', 'b'], listeners: [] };
    const line = removalLine('zz', 'c', { before: cfg, after: cfg, removed: false });
    expect(line).toMatch(/^zz is NOT a listener of cluster c \(already removed, or never one\): nothing changed; listeners are none$/);
    expect(line).not.toMatch(/removed from/);
  });
});
