/**
 * `--local-name rules:FILE`: local names from a rules file of the server's own, for operators
 * who cannot (or would rather not) edit krb5.conf's `auth_to_local`. One rule a line:
 *
 *     PATTERN -> NAME
 *
 * PATTERN is a principal where `*` stands for one or more characters other than `@` and `/`
 * (`*@EXAMPLE.COM`: one-component principals of that realm), or a regular expression between
 * slashes (`/^(.+)@(CORP|EMEA)\.EXAMPLE$/`) that must match the whole principal. NAME is the
 * local name, with `$1`..`$9` for what the stars (or the expression's groups) matched and `$$`
 * for a `$`. The first rule that matches decides; a principal no rule matches has no local name.
 * `#` starts a comment line. Read once, at start; a line that is not a rule refuses the start
 * with its line number (ConfigError ERR_CONFIG).
 */
import { readFile, stat } from 'node:fs/promises';
import { ConfigError } from '../errors.js';

/** Larger rules files are refused: a file this size is a mistake, not a rule set. */
export const MAX_RULES_FILE_BYTES = 64 * 1024;
/** Longest local name a rule may give; longer results give none. */
export const MAX_LOCAL_NAME_LENGTH = 256;

/** One parsed rule. */
export interface LocalNameRule {
  /** 1-based line in the file, for logs and errors. */
  line: number;
  /** Matches the whole principal; its groups are `$1`..`$9`. */
  pattern: RegExp;
  /** The NAME as written. */
  replacement: string;
}

/** What the rules give a principal: a name, or why none. */
export type RuleMapping = { name: string; line: number } | { name: undefined; reason: string };

/** A parsed rules file. */
export class LocalNameRules {
  readonly file: string;
  readonly rules: readonly LocalNameRule[];

  constructor(file: string, rules: readonly LocalNameRule[]) {
    this.file = file;
    this.rules = rules;
  }

  /** Reads and parses `file`; ConfigError (ERR_CONFIG) naming the file and line when it is not a rules file. */
  static async read(file: string): Promise<LocalNameRules> {
    let text: string;
    try {
      const st = await stat(file);
      if (!st.isFile()) throw new ConfigError('ERR_CONFIG', `local name rules ${file}: not a file`);
      if (st.size > MAX_RULES_FILE_BYTES)
        throw new ConfigError(
          'ERR_CONFIG',
          `local name rules ${file}: ${st.size} bytes, over the ${MAX_RULES_FILE_BYTES}-byte limit`,
        );
      text = await readFile(file, 'utf8');
    } catch (err) {
      if (err instanceof ConfigError) throw err;
      throw new ConfigError('ERR_CONFIG', `local name rules ${file} cannot be read: ${String(err)}`, { cause: err });
    }
    return parseLocalNameRules(text, file);
  }

  /** The local name of `principal` under the first rule that matches it. */
  map(principal: string): RuleMapping {
    for (const rule of this.rules) {
      const m = rule.pattern.exec(principal);
      if (m === null) continue;
      const name = substitute(rule.replacement, m);
      if (name.length === 0 || name.length > MAX_LOCAL_NAME_LENGTH || /[/\0\s]/.test(name))
        return { name: undefined, reason: `the rule on line ${rule.line} of ${this.file} gave an unusable name` };
      return { name, line: rule.line };
    }
    return { name: undefined, reason: `no rule of ${this.file} matches` };
  }
}

/** Parses the text of a rules file; `file` names it in errors. */
export function parseLocalNameRules(text: string, file: string): LocalNameRules {
  if (Buffer.byteLength(text) > MAX_RULES_FILE_BYTES)
    throw new ConfigError('ERR_CONFIG', `local name rules ${file}: over the ${MAX_RULES_FILE_BYTES}-byte limit`);
  const rules: LocalNameRule[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] ?? '').replace(/\r$/, '').trim();
    if (line === '' || line.startsWith('#')) continue;
    rules.push(parseRule(line, i + 1, file));
  }
  return new LocalNameRules(file, rules);
}

function parseRule(text: string, line: number, file: string): LocalNameRule {
  const fail = (why: string): ConfigError =>
    new ConfigError('ERR_CONFIG', `local name rules ${file}, line ${line}: ${why}`);
  const parts = text.split(/\s+/);
  if (parts.length !== 3 || parts[1] !== '->')
    throw fail(`expected "PATTERN -> NAME" (no spaces inside either), got ${JSON.stringify(text)}`);
  const [source = '', , replacement = ''] = parts;
  const { pattern, groups } = source.startsWith('/') ? regexPattern(source, fail) : globPattern(source, fail);
  checkReplacement(replacement, groups, fail);
  return { line, pattern, replacement };
}

function regexPattern(source: string, fail: (why: string) => ConfigError): { pattern: RegExp; groups: number } {
  if (source.length < 3 || !source.endsWith('/'))
    throw fail(`a regular expression is written /EXPRESSION/, not ${JSON.stringify(source)}`);
  const body = source.slice(1, -1);
  let pattern: RegExp;
  try {
    // Anchored: a rule names whole principals, never a part of one.
    pattern = new RegExp(`^(?:${body})$`, 'u');
  } catch (err) {
    throw fail(`not a regular expression: ${err instanceof Error ? err.message : String(err)}`);
  }
  // The number of capturing groups: an alternative that matches the empty string shows them all.
  const groups = (new RegExp(`${body}|`, 'u').exec('')?.length ?? 1) - 1;
  return { pattern, groups };
}

function globPattern(source: string, fail: (why: string) => ConfigError): { pattern: RegExp; groups: number } {
  const stars = source.split('*').length - 1;
  if (stars > 9) throw fail('at most 9 `*` in a pattern ($1..$9)');
  if (source.includes('**')) throw fail('`**` matches nothing more than `*`: write one');
  const body = source
    .split('*')
    .map((s) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&'))
    .join('([^@/]+)');
  return { pattern: new RegExp(`^${body}$`, 'u'), groups: stars };
}

function checkReplacement(replacement: string, groups: number, fail: (why: string) => ConfigError): void {
  if (replacement.includes('/')) throw fail('a local name cannot hold a `/`');
  for (const m of replacement.matchAll(/\$(.?)/g)) {
    const ref = m[1] ?? '';
    if (ref === '$') continue;
    if (!/^[1-9]$/.test(ref)) throw fail('`$` must be followed by a digit 1-9, or written `$$`');
    if (Number(ref) > groups) throw fail(`$${ref} refers to a group the pattern does not have (it has ${groups})`);
  }
}

/** NAME with `$N` replaced by group N of `m` and `$$` by `$`. */
function substitute(replacement: string, m: RegExpExecArray): string {
  return replacement.replace(/\$([1-9$])/g, (_all, ref: string) => (ref === '$' ? '$' : (m[Number(ref)] ?? '')));
}
