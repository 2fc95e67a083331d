import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { packageRoot } from '../../../src/harness/package-root.js';

describe('packageRoot', () => {
  const dir = mkdtempSync(join(tmpdir(), 'package-root-'));
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'duoraft' }));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('finds the duoraft package above a file at any depth (src/harness, dist/harness, dist/bundle)', () => {
    for (const sub of ['src/harness', 'dist/harness/netns', 'dist/bundle']) {
      mkdirSync(join(dir, sub), { recursive: true });
      expect(packageRoot(pathToFileURL(join(dir, sub, 'x.js')).href)).toBe(dir);
    }
  });

  it('passes over another package.json (a dependency, a nested project) and an unreadable one', () => {
    const nested = join(dir, 'node_modules', 'other');
    mkdirSync(join(nested, 'lib'), { recursive: true });
    writeFileSync(join(nested, 'package.json'), JSON.stringify({ name: 'other' }));
    const broken = join(dir, 'broken');
    mkdirSync(broken, { recursive: true });
    writeFileSync(join(broken, 'package.json'), '{ not json');
    expect(packageRoot(pathToFileURL(join(nested, 'lib', 'x.js')).href)).toBe(dir);
    expect(packageRoot(pathToFileURL(join(broken, 'x.js')).href)).toBe(dir);
  });

  it('says so when no duoraft package is above the file', () => {
    const lone = mkdtempSync(join(tmpdir(), 'package-root-lone-'));
    try {
      expect(() => packageRoot(pathToFileURL(join(lone, 'x.js')).href)).toThrow(/cannot find duoraft's package.json/);
    } finally {
      rmSync(lone, { recursive: true, force: true });
    }
  });
});
