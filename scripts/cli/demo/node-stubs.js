// The demo page's stand-ins for the node modules lib/ imports (tfjs-node's loader, the kernels' worker
// threads): the page uses the cpu backend and never calls them. esbuild aliases node:* to this file.
export const createRequire = () => () => {
  throw new Error('no require in the browser');
};
export const setFlagsFromString = () => {};
export const cpus = () => [{}];
export const availableParallelism = () => 1;
export const join = (...a) => a.join('/');
export const dirname = (p) => p;
export const resolve = (...a) => a.join('/');
export class Worker {
  constructor() {
    throw new Error('no worker threads in the demo page');
  }
}
export default { cpus, availableParallelism, join, dirname, resolve };
