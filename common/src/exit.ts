/**
 * Ends the process with `code` once what it wrote to stdout and stderr has been handed to the
 * operating system. `process.exit` right after a write can cut the output short when stdout is a
 * pipe (the CLI's output read by a script, the worker's log lines read by the container's log
 * driver): on Node 20 and 22, a 1 MB write followed by `process.exit` loses all but the first 64 kB.
 * A write's callback runs once it and every write before it on that stream are flushed.
 *
 * Bounded: a reader that stops reading (a stuck pipe) would leave the writes pending for good, so
 * after `maxWaitMs` the process exits anyway, with what was flushed by then.
 */
export function exitWhenFlushed(code: number, maxWaitMs = 10_000): void {
  process.exitCode = code;
  let pending = 2;
  const done = (): void => {
    pending -= 1;
    if (pending === 0) process.exit(code);
  };
  setTimeout(() => process.exit(code), maxWaitMs).unref();
  process.stdout.write('', done);
  process.stderr.write('', done);
}
