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
