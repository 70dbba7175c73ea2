/**
 * `npm run bench`'s command line (bench/run.mjs): the run's length and the variant groups it
 * runs (bench/lib/variants.mjs), checked.
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { GROUPS } from './variants.mjs';

/**
 * @param {string[]} argv the arguments after the script
 * @param {string} resultsDir where results go without --out
 * @returns {{ quick: boolean, rounds: number, durationS: number, variantDurationS: number, outDir: string,
 *   selected: Set<string> } | string} the options, or why they are refused
 */
export function parseRunOptions(argv, resultsDir) {
  // A bare `--variants` (no value) means all of them.
  argv = [...argv];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--variants' && (i + 1 === argv.length || String(argv[i + 1]).startsWith('--')))
      argv.splice(i + 1, 0, 'all');
  }
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        quick: { type: 'boolean' },
        rounds: { type: 'string' },
        duration: { type: 'string' },
        out: { type: 'string' },
        variants: { type: 'string' },
        'variant-duration': { type: 'string' },
      },
    }));
  } catch (err) {
    return String(/** @type {Error} */ (err).message);
  }
  const quick = values.quick === true;
  const rounds = Number(values.rounds ?? (quick ? 1 : 3));
  const durationS = Number(values.duration ?? (quick ? 3 : 5));
  /** Variant phases are shorter than the main ones, so the full run stays near 10 minutes. */
  const variantDurationS = Number(values['variant-duration'] ?? (quick ? 2 : 3));
  const outDir = path.resolve(values.out ?? resultsDir);
  const variantsArg = values.variants ?? (quick ? 'none' : 'all');
  const selected = new Set(
    variantsArg === 'all'
      ? Object.keys(GROUPS)
      : variantsArg === 'none' || variantsArg === 'off'
        ? []
        : variantsArg.split(',').map((g) => g.trim()),
  );
  for (const g of selected) {
    if (!(g in GROUPS)) {
      return (
        `unknown variant group ${JSON.stringify(g)}; use all, none, or a comma list of: ` +
        `${Object.keys(GROUPS).join(', ')}`
      );
    }
  }
  for (const [flag, v] of /** @type {Array<[string, number]>} */ ([
    ['--rounds', rounds],
    ['--duration', durationS],
    ['--variant-duration', variantDurationS],
  ])) {
    if (!(v > 0 && v <= 120)) {
      return `${flag} must be a number in (0, 120]`;
    }
  }
  return { quick, rounds, durationS, variantDurationS, outDir, selected };
}
