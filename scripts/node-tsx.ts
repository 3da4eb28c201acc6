/**
 * How our TypeScript entry points run in a child process, as package.json's scripts run them: Node with
 * tsx's CommonJS hook. Not `--import tsx`: that adds tsx's ES module hooks, which Node 20 runs on a
 * loader thread of their own (0.4 CPU-seconds more for an empty script), and every .ts file here is CommonJS.
 * The path is absolute so that a child started in another folder finds it too.
 */
export const TSX: readonly string[] = ['--require', require.resolve('tsx/cjs')];
