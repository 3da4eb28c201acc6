/**
 * Exits once stdout and stderr have written what is queued: to a pipe, Node writes asynchronously, and
 * process.exit() at once would cut off the last of a long output (20,000 samples piped to a file).
 */
export function exitWhenFlushed(code: number): void {
  let pending = 2;
  const done = () => {
    if (--pending === 0) process.exit(code);
  };
  for (const stream of [process.stdout, process.stderr]) {
    // a closed pipe (| head) never calls back: its error ends the wait instead
    stream.once('error', done);
    stream.write('', done);
  }
}

/**
 * An error as the CLI says it. tfjs's wasm module aborts without a word of why ("Aborted(). Build with
 * -sASSERTIONS for more info."), and in a training run that is memory: the lecture's GPT at batch 64 ×
 * block 256 through the tfjs ops needs more than WebAssembly's 4 GB at its first backward pass.
 */
export function failureText(tool: string, e: unknown): string {
  const said = e instanceof Error ? e.message : String(e);
  if (!said.startsWith('Aborted(')) return `${tool}: ${said}`;
  return `${tool}: the wasm backend aborted (${said.split('.')[0]}), most likely out of memory: WebAssembly holds at most 4 GB, and training through the tfjs ops keeps every activation of a step for its backward pass. A smaller --batch-size or --block-size (or model) fits; the last checkpoint saved is kept.`;
}
