import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { pressureTotal, sampleHostPressure } from '../../../src/harness/host-pressure.js';

const CPU = 'some avg10=0.11 avg60=7.58 avg300=23.61 total=43174929553\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n';
const IO = 'some avg10=0.00 avg60=0.21 avg300=2.02 total=4417650975\nfull avg10=0.00 avg60=0.12 avg300=0.89 total=423685518\n';

describe('pressureTotal', () => {
  it('reads the total of the some and full lines', () => {
    expect(pressureTotal(CPU, 'some')).toBe(43174929553);
    expect(pressureTotal(CPU, 'full')).toBe(0);
    expect(pressureTotal(IO, 'full')).toBe(423685518);
  });

  it('is null for a line that is missing or has no total', () => {
    expect(pressureTotal('some avg10=0.00\n', 'some')).toBeNull();
    expect(pressureTotal('', 'full')).toBeNull();
  });
});

describe('sampleHostPressure', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('writes a header, then one line per sample with the time and load, and stops writing once stopped', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'duoraft-pressure-'));
    dirs.push(dir);
    const file = join(dir, 'host-pressure.log');
    const sampler = sampleHostPressure(file, 10);
    await new Promise((r) => setTimeout(r, 80));
    await sampler.stop();
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    expect(lines[0]).toMatch(/^time load1 load5 load15 cpu_some_ms io_some_ms io_full_ms/);
    expect(lines.length).toBeGreaterThanOrEqual(3);
    // The first sample has no interval yet; later ones have numbers (or '-' without PSI).
    expect(lines[1]).toMatch(/^\d{4}-\d\d-\d\dT\S+Z \S+ \S+ \S+ - - -$/);
    expect(lines[2]).toMatch(/^\d{4}-\d\d-\d\dT\S+Z \S+ \S+ \S+ (\d+\.\d (\d+\.\d) (\d+\.\d)|- - -)$/);
    await new Promise((r) => setTimeout(r, 40));
    expect(readFileSync(file, 'utf8').trim().split('\n').length).toBe(lines.length);
    await sampler.stop();
  });
});
