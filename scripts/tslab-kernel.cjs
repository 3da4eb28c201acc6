#!/usr/bin/env node
// Sequentia's kernel: tslab, started with the project root as its working directory.
// tslab compiles local .ts imports only from under its working directory (its rootDir),
// so running from the root lets every notebook import lib's sources (`./lib/...`) fresh,
// and `data/...` means the same whichever folder the client launched the kernel from.
const path = require('node:path');
process.chdir(path.resolve(__dirname, '..'));
require('tslab/dist/main.js').main();
