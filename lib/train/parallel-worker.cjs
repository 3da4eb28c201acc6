// Worker entry for lib/train/parallel.ts: worker threads do not inherit tsx's hook, so register its
// CommonJS one here (as package.json's scripts run ours: scripts/node-tsx.ts), then load the worker.
require('tsx/cjs/api').register();
require('./parallel-worker.ts');
