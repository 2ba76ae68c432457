/**
 * The CLI's small framework: each subcommand is one module exporting a `Command` (its name, a
 * one-line summary, its options with their help text, and `run`). `commands/index.ts` lists them;
 * adding a subcommand is one module and one line there, adding an option is one entry in its table.
 *
 * Exit codes (sysexits): 0 ran, 64 usage error, 66 an input is missing or unreadable, 73 the output
 * cannot be created, 78 configuration error, 1 anything else. Every error is one line on stderr.
 */
import { parseArgs } from 'node:util';

export const EXIT = {
  ok: 0,
  failure: 1,
  usage: 64,
  noInput: 66,
  cantCreate: 73,
  config: 78,
} as const;

/** What a command may write and read besides its arguments (tests pass their own). */
export interface CliIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly env: Readonly<Record<string, string | undefined>>;
}

export interface OptionSpec {
  readonly type: 'string' | 'boolean';
  /** The placeholder shown in help, e.g. `<dir>`; string options only. */
  readonly value?: string;
  readonly short?: string;
  readonly description: string;
  readonly required?: boolean;
  readonly multiple?: boolean;
  /** A closed set of values, checked before `run`. */
  readonly choices?: readonly string[];
  readonly default?: string | boolean;
}

export type OptionTable = Readonly<Record<string, OptionSpec>>;

type ValueOf<S extends OptionSpec> = S['type'] extends 'boolean'
  ? boolean
  : S['multiple'] extends true
    ? string[]
    : string;

export type ParsedOptions<T extends OptionTable> = {
  readonly [K in keyof T]: T[K]['required'] extends true
    ? ValueOf<T[K]>
    : T[K]['default'] extends string | boolean
      ? ValueOf<T[K]>
      : ValueOf<T[K]> | undefined;
};

export interface Command<T extends OptionTable = OptionTable> {
  readonly name: string;
  /** One line, shown in `medimg --help`. */
  readonly summary: string;
  /** The positional arguments as shown in the usage line, e.g. `<file-or-folder>...`. */
  readonly positionals?: { readonly usage: string; readonly min: number; readonly max?: number };
  /** Paragraphs after the option list. */
  readonly details?: string;
  readonly options: T;
  run(args: { options: ParsedOptions<T>; positionals: readonly string[] }, io: CliIo): Promise<number>;
}

/**
 * Defines a command: its options are typed from its table inside `run`; the result goes into the
 * COMMANDS list as a plain Command (parseCommandArgs gives `run` exactly what its table declares).
 */
export const defineCommand = <T extends OptionTable>(command: Command<T>): Command =>
  command as unknown as Command;

/** A problem with how the command was called: one line, then `see medimg <cmd> --help`, exit 64. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** A problem the user can fix (a missing input, an --out that is a file): one line, its own exit code. */
export class CliError extends Error {
  override readonly name = 'CliError';
  constructor(
    message: string,
    readonly exitCode: number = EXIT.failure,
  ) {
    super(message);
  }
}

const HELP_OPTION: OptionSpec = { type: 'boolean', short: 'h', description: 'show this help and exit' };

/** The full help of a command: usage line, summary, options, details. */
export function commandHelp(program: string, command: Command): string {
  const required = Object.entries(command.options)
    .filter(([, o]) => o.required)
    .map(([name, o]) => `--${name} ${o.value ?? '<value>'}`);
  const usage = [program, command.name, command.positionals?.usage, ...required, '[options]']
    .filter(Boolean)
    .join(' ');
  const rows = Object.entries({ ...command.options, help: HELP_OPTION }).map(([name, o]) => {
    const flag = `${o.short ? `-${o.short}, ` : '    '}--${name}${o.type === 'string' ? ` ${o.value ?? '<value>'}` : ''}`;
    const extra = [
      o.choices ? `one of: ${o.choices.join(', ')}` : '',
      o.default !== undefined && o.type === 'string' ? `default: ${o.default}` : '',
      o.required ? 'required' : '',
      o.multiple ? 'may be repeated' : '',
    ].filter(Boolean);
    return { flag, text: `${o.description}${extra.length ? ` (${extra.join('; ')})` : ''}` };
  });
  const width = Math.max(...rows.map((r) => r.flag.length)) + 2;
  return [
    `Usage: ${usage}`,
    '',
    command.summary,
    '',
    'Options:',
    ...rows.map((r) => `  ${r.flag.padEnd(width)}${r.text}`),
    ...(command.details ? ['', command.details.trim()] : []),
    '',
  ].join('\n');
}

/**
 * Parses a command's arguments against its table. Returns 'help' when --help/-h is among them;
 * throws UsageError for an unknown option, a missing value or required option, a value outside
 * its choices, or a wrong number of positionals.
 */
export function parseCommandArgs<T extends OptionTable>(
  command: Command<T>,
  argv: readonly string[],
): 'help' | { options: ParsedOptions<T>; positionals: string[] } {
  if (argv.includes('--help') || argv.includes('-h')) return 'help';
  const config = Object.fromEntries(
    Object.entries(command.options).map(([name, o]) => [
      name,
      {
        type: o.type,
        ...(o.short ? { short: o.short } : {}),
        ...(o.multiple ? { multiple: true } : {}),
        ...(o.default !== undefined ? { default: o.default } : {}),
      },
    ]),
  );
  let parsed: { values: Record<string, unknown>; positionals: string[] };
  try {
    parsed = parseArgs({ args: [...argv], options: config as never, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError(usageMessage(error));
  }
  const p = command.positionals;
  const n = parsed.positionals.length;
  if (!p && n > 0) throw new UsageError(`unexpected argument '${parsed.positionals[0]}'`);
  if (p && n < p.min) throw new UsageError(`missing ${p.usage}`);
  if (p?.max !== undefined && n > p.max)
    throw new UsageError(`too many arguments (at most ${p.max}): '${parsed.positionals[p.max]}'`);
  for (const [name, o] of Object.entries(command.options)) {
    const v = parsed.values[name];
    if (o.required && (v === undefined || v === '')) throw new UsageError(`--${name} is required`);
    if (o.choices && v !== undefined) {
      for (const each of Array.isArray(v) ? v : [v]) {
        if (!o.choices.includes(String(each)))
          throw new UsageError(`--${name} must be one of ${o.choices.join(', ')}, not '${String(each)}'`);
      }
    }
  }
  return { options: parsed.values as ParsedOptions<T>, positionals: parsed.positionals };
}

/** node:util parseArgs' errors, as one plain sentence (its own messages suggest `--` tricks). */
function usageMessage(error: unknown): string {
  const e = error as { code?: string; message?: string };
  const option = /'([^']+)'/
    .exec(e.message ?? '')?.[1]
    ?.replace(/^-\w, /, '')
    .replace(/ <value>$/, '');
  switch (e.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return `unknown option '${option ?? '?'}'`;
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      return /does not take an argument/.test(e.message ?? '')
        ? `option '${option ?? '?'}' takes no value`
        : `option '${option ?? '?'}' needs a value`;
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
      return `unexpected argument '${option ?? '?'}'`;
    default:
      return e.message ?? 'invalid arguments';
  }
}
