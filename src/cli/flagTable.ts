/**
 * The machinery of the `serve` flag table (the rows are in serveFlags.ts): one row per flag
 * gives its name, type, placeholder, default text, help text and how its value maps onto
 * NegotiateServer's public options. The parser's spec and the --help text are both generated
 * from the rows, so they cannot disagree.
 */
import { parseArgs } from 'node:util';
import type { LogLevel } from '../logger.js';
import type { CredentialsOptions, LimitsOptions, NegotiateServerOptions, TcpOptions } from '../options.js';

/** A command-line mistake: the message, then the command's usage, exit 2. */
export class UsageError extends Error {}

/** What the rows write into: the public options (nested sections made up front) and the CLI's own settings. */
export interface ServeInvocation {
  options: NegotiateServerOptions & { credentials: CredentialsOptions; tcp: TcpOptions; limits: LimitsOptions };
  logLevel: LogLevel;
}

interface RowCommon {
  /** The long flag, without `--`. */
  name: string;
  short?: string;
  /** One sentence or a few; wrapped by the help formatter. */
  help: string;
  /** What applies when the flag is absent, as shown in --help: `(default: TEXT)`. */
  default?: string;
  /** A front-end listener flag: naming any of them turns off the others' defaults. */
  listener?: boolean;
}

export interface StringFlag extends RowCommon {
  type: 'string';
  /** The value's name in --help and in docs/configuration.md's heading (`--max-token BYTES`). */
  placeholder: string;
  /** May be given more than once: apply runs once per value, in argv order. */
  repeatable?: boolean;
  apply(into: ServeInvocation, value: string): void;
}

export interface BooleanFlag extends RowCommon {
  type: 'boolean';
  apply(into: ServeInvocation): void;
}

export type FlagRow = StringFlag | BooleanFlag;

export interface FlagSection {
  title: string;
  rows: readonly FlagRow[];
}

/** `--name PLACEHOLDER` (with `-s, ` in front for a short form). */
export function flagLabel(row: FlagRow): string {
  const long = `--${row.name}${row.type === 'string' ? ` ${row.placeholder}` : ''}`;
  return row.short === undefined ? long : `-${row.short}, ${long}`;
}

/**
 * Parses `args` against the table's rows (node's parseArgs, strict): returns the flags given,
 * string values and `true` for booleans, or throws UsageError (unknown flag, missing value).
 */
export function parseFlags(sections: readonly FlagSection[], args: string[]): Map<FlagRow, string | string[] | true> {
  const rows = sections.flatMap((s) => s.rows);
  const spec: Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }> = {};
  for (const r of rows) {
    spec[r.name] = {
      type: r.type,
      ...(r.short === undefined ? {} : { short: r.short }),
      ...(r.type === 'string' && r.repeatable === true ? { multiple: true } : {}),
    };
  }
  let values: Record<string, string | boolean | (string | boolean)[] | undefined>;
  try {
    values = parseArgs({ args, strict: true, allowPositionals: false, options: spec }).values;
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const given = new Map<FlagRow, string | string[] | true>();
  for (const r of rows) {
    const v = values[r.name];
    if (r.type === 'string' && typeof v === 'string') given.set(r, v);
    if (r.type === 'string' && Array.isArray(v))
      given.set(
        r,
        v.filter((x): x is string => typeof x === 'string'),
      );
    if (r.type === 'boolean' && v === true) given.set(r, true);
  }
  return given;
}

/** Applies each given flag in table order (not argv order: a row may rely on an earlier section's). */
export function applyFlags(
  sections: readonly FlagSection[],
  given: Map<FlagRow, string | string[] | true>,
  into: ServeInvocation,
): void {
  for (const row of sections.flatMap((s) => s.rows)) {
    const value = given.get(row);
    if (value === undefined) continue;
    if (row.type === 'string' && typeof value === 'string') row.apply(into, value);
    if (row.type === 'string' && Array.isArray(value)) for (const v of value) row.apply(into, v);
    if (row.type === 'boolean') row.apply(into);
  }
}

const WIDTH = 100;
const LABEL_COLUMN = 29;

/** The sections as --help prints them: a title line, then each flag with its wrapped help. */
export function formatFlagHelp(sections: readonly FlagSection[]): string {
  const out: string[] = [];
  for (const section of sections) {
    out.push(`${section.title}:`);
    for (const row of section.rows) {
      const label = `  ${flagLabel(row)}`;
      const text = row.default === undefined ? row.help : `${row.help.replace(/\.$/, '')} (default: ${row.default})`;
      const lines = wrap(text, WIDTH - LABEL_COLUMN);
      if (label.length < LABEL_COLUMN - 1) {
        out.push(label.padEnd(LABEL_COLUMN) + (lines.shift() ?? ''));
      } else {
        out.push(label);
      }
      for (const l of lines) out.push(' '.repeat(LABEL_COLUMN) + l);
    }
    out.push('');
  }
  return out.join('\n');
}

function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter((w) => w !== '')) {
    if (line !== '' && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line === '' ? word : `${line} ${word}`;
    }
  }
  if (line !== '') lines.push(line);
  return lines;
}
