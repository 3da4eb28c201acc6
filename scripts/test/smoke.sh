#!/usr/bin/env bash
# npm test's job 'smoke' (only when SEQUENTIA_SMOKE_NODE names a node binary; .ci/run gives it Node 24):
# on another Node major, what differs between majors — our wasm kernels (relaxed SIMD is native on 24, a
# flag on 20), worker threads, PyTorch parity, the kernel on that Node (kernelspec rewritten for it), the
# CLIs' signals and files, and two notebooks end to end with output checks. It runs in a copy of the
# tree (its tracked and unignored files; node_modules linked), so that its kernelspec (.jupyter/) and
# outputs never meet those of the jobs running beside it.
set -euo pipefail
node_bin=${SEQUENTIA_SMOKE_NODE:?SEQUENTIA_SMOKE_NODE must name the node binary of the smoke pass}
root=$(cd "$(dirname "$0")/../.." && pwd)
copy=$(mktemp -d)
trap 'rm -rf "$copy"' EXIT
(cd "$root" && git ls-files -z --cached --others --exclude-standard | tar --null --ignore-failed-read -T - -c) |
  tar -x -C "$copy"
ln -s "$root/node_modules" "$copy/node_modules"
cd "$copy"
export PATH="$(dirname "$node_bin"):$PATH"
node --version
node scripts/notebooks/kernel.mjs install-local
node --require tsx/cjs --require ./test/helpers/console-to-stderr.cjs --test --test-concurrency=2 test/backend/*/*.test.ts test/fused/*.test.ts test/train/parallel.test.ts \
  test/models/parity.test.ts
# of the kernel's tests, those where Node itself takes part (its version, signals to the process group, the
# output pipe, esbuild's service); of the CLIs' lifecycle tests, the signals and the disks (the rest is
# flag parsing and training arithmetic, the same on every major, and Node 20 runs every test)
node --require tsx/cjs --require ./test/helpers/console-to-stderr.cjs --test --test-concurrency=2 \
  --test-name-pattern='language_info|■ during train|after ■|chatty cell|exits when the process|during training saves latest|SIGHUP|full disk|read-only|closed stdout' \
  test/notebooks/kernel.test.ts test/cli/lifecycle.test.ts
node --require tsx/cjs scripts/notebooks/run.ts --quick --check --only 04 --only 08 --out out/ci-smoke --no-figures
