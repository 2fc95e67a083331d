import { describe, expect, it } from 'vitest';
import { GapMeter } from '../../../src/harness/chaos/gap-meter.js';

describe('GapMeter', () => {
  it('reports the longest gap inside the window, counting from its opening and to its end', () => {
    const m = new GapMeter();
    m.record(5); // before the window: not a gap of it
    m.open(10);
    m.record(40); // 30 from the opening
    m.record(45);
    m.record(145); // 100
    m.record(150);
    expect(m.close(170)).toBe(100);
    expect(m.recorded).toBe(5);
  });

  it('counts the stretch after the last write when it is the longest', () => {
    const m = new GapMeter();
    m.open(0);
    m.record(10);
    expect(m.close(500)).toBe(490);
  });

  it('reports the whole window when nothing was written', () => {
    const m = new GapMeter();
    m.open(100);
    expect(m.close(350)).toBe(250);
    expect(m.close(400)).toBe(0);
  });
});
