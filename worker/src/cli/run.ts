/** The executable entry (bin/medimg.js loads the bundle of this file): runs the CLI and exits with its code. */
import { runCli } from './main.ts';

runCli(process.argv.slice(2)).then(
  (code) => process.exit(code),
  () => process.exit(1),
);
