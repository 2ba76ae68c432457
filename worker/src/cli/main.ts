/**
 * `medimg`: the pipeline's command line. `medimg --help` lists the subcommands (commands/index.ts);
 * `medimg <command> --help` shows a command's options. Usage errors say what was wrong and exit 64.
 */
import { cliVersion } from './build-info.ts';
import { CliError, type CliIo, commandHelp, EXIT, parseCommandArgs, UsageError } from './command.ts';
import { COMMANDS } from './commands/index.ts';

const PROGRAM = 'medimg';

function programHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length)) + 2;
  return [
    `Usage: ${PROGRAM} <command> [options]`,
    '',
    'The medimg pipeline on this machine: DICOM de-identification, normalization and the reference model.',
    '',
    'Commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}${c.summary}`),
    '',
    'Options:',
    "  -h, --help     show this help (or a command's, after its name)",
    '  -V, --version  show the version',
    '',
    `Run '${PROGRAM} <command> --help' for a command's options.`,
    '',
  ].join('\n');
}

const defaultIo: CliIo = {
  stdout: (t) => void process.stdout.write(t),
  stderr: (t) => void process.stderr.write(t),
  env: process.env,
};

export async function runCli(argv: readonly string[], io: CliIo = defaultIo): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined) {
    io.stderr(`${PROGRAM}: missing command\n\n${programHelp()}`);
    return EXIT.usage;
  }
  if (first === '--help' || first === '-h' || first === 'help') {
    const named = first === 'help' ? COMMANDS.find((c) => c.name === rest[0]) : undefined;
    io.stdout(named ? commandHelp(PROGRAM, named) : programHelp());
    return EXIT.ok;
  }
  if (first === '--version' || first === '-V') {
    io.stdout(`${PROGRAM} ${cliVersion()}\n`);
    return EXIT.ok;
  }
  const command = COMMANDS.find((c) => c.name === first);
  if (!command) {
    const what = first.startsWith('-') ? `unknown option '${first}'` : `unknown command '${first}'`;
    io.stderr(
      `${PROGRAM}: ${what}; commands: ${COMMANDS.map((c) => c.name).join(', ')}\nRun '${PROGRAM} --help' for usage.\n`,
    );
    return EXIT.usage;
  }
  try {
    const parsed = parseCommandArgs(command, rest);
    if (parsed === 'help') {
      io.stdout(commandHelp(PROGRAM, command));
      return EXIT.ok;
    }
    return await command.run(parsed, io);
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr(
        `${PROGRAM} ${command.name}: ${error.message}\nRun '${PROGRAM} ${command.name} --help' for usage.\n`,
      );
      return EXIT.usage;
    }
    if (error instanceof CliError) {
      io.stderr(`${PROGRAM} ${command.name}: ${error.message}\n`);
      return error.exitCode;
    }
    // Unexpected: a code and a class, never a message that may embed a value from a file.
    const code = (error as { code?: unknown }).code;
    io.stderr(
      `${PROGRAM} ${command.name}: failed (${typeof code === 'string' ? code : error instanceof Error ? error.name : 'error'})\n`,
    );
    return EXIT.failure;
  }
}
