/**
 * The subcommands of `medimg`, in the order `medimg --help` lists them. A new subcommand is one
 * module under commands/ (a `defineCommand` with its options and help) and one line here.
 */
import type { Command } from '../command.ts';
import { processCommand } from './process.ts';
import { reidentifyCommand } from './reidentify.ts';

export const COMMANDS: readonly Command[] = [processCommand, reidentifyCommand];
