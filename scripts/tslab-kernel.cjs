#!/usr/bin/env node
// Sequentia's kernel: tslab, started with the project root as its working directory.
// tslab compiles local .ts imports only from under its working directory (its rootDir),
// so running from the root lets every notebook import lib's sources (`./lib/...`) fresh,
// and `data/...` means the same whichever folder the client launched the kernel from.
const path = require('node:path');
process.chdir(path.resolve(__dirname, '..'));

// tslab's TypeScript watcher reacts to a lib/ file edited while the kernel runs by scheduling a
// rebuild that its own timer stub rejects ("Unexpected pending rebuildTimer"), which kills the kernel
// or fails the next cell. Without file watching, an edit to lib/ simply takes effect after a kernel
// restart — the same contract as a Python module without autoreload.
const tslabDir = path.dirname(require.resolve('tslab/package.json'));
const ts = require(require.resolve('@tslab/typescript-for-tslab', { paths: [tslabDir] }));
const noWatch = () => ({ close() {} });
ts.sys.watchFile = noWatch;
ts.sys.watchDirectory = noWatch;

require('tslab/dist/main.js').main();
