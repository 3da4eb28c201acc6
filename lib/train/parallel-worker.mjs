// Worker entry for lib/train/parallel.ts: worker threads do not inherit tsx's loader hooks, so register
// them here, then load the TypeScript worker.
import { register } from 'tsx/esm/api';

register();
await import('./parallel-worker.ts');
