/** Temporary folders and started processes that a test file removes when it ends, whatever failed. */
import { after } from 'node:test';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export function cleanup(prefix: string): { tmp(): string; started: Set<number> } {
  const dirs: string[] = [];
  // every process a test starts goes here; it and its process group are killed at the end
  const started = new Set<number>();
  after(() => {
    for (const pid of started) {
      for (const target of [-pid, pid]) {
        try {
          process.kill(target, 'SIGKILL');
        } catch {
          /* already gone */
        }
      }
    }
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  });
  return {
    tmp: () => {
      const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
      dirs.push(d);
      return d;
    },
    started,
  };
}
