#!/usr/bin/env node
// The duoraft command. The code lives in dist/ (npm run build).
import('../dist/cli/main.js').catch((err) => {
  if (err && err.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('dist/cli/main.js')) {
    process.stderr.write('duoraft: not built yet: run `npm ci && npm run build` first\n');
  } else {
    process.stderr.write(`duoraft: ${err && err.stack ? err.stack : err}\n`);
  }
  process.exit(1);
});
