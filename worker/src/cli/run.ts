/** The executable entry (bin/medimg.js loads the bundle of this file): runs the CLI and exits with its code. */

import { exitWhenFlushed } from '@medimg/common/exit.ts';
import { runCli } from './main.ts';

// Exits once the output is flushed: process.exit alone cuts a large output read through a pipe.
runCli(process.argv.slice(2)).then(exitWhenFlushed, () => exitWhenFlushed(1));
