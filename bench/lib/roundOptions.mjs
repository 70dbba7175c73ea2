/**
 * The command line shared by the single-purpose wrk benchmarks (bench/socketThreads.mjs,
 * bench/sspiVsHttp.mjs): `--connections 16,64 --duration S --rounds N` plus each script's own
 * options, checked; a refused value exits 2 naming the script and the ranges.
 */
import { parseArgs } from 'node:util';

/**
 * @template {import('node:util').ParseArgsConfig['options']} O
 * @param {string} script the name in error messages
 * @param {O} own the script's other options (parseArgs form, with defaults)
 */
export function parseRoundOptions(script, own) {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        connections: { type: 'string', default: '16,64' },
        duration: { type: 'string', default: '5' },
        rounds: { type: 'string', default: '3' },
        ...own,
      },
    }));
  } catch (err) {
    process.stderr.write(`${script}: ${String(/** @type {Error} */ (err).message)}\n`);
    process.exit(2);
  }
  const connections = String(values.connections).split(',').map(Number);
  const durationS = Number(values.duration);
  const rounds = Number(values.rounds);
  if (
    connections.some((c) => !(Number.isInteger(c) && c >= 1 && c <= 1024)) ||
    !(durationS > 0 && durationS <= 60) ||
    !(Number.isInteger(rounds) && rounds >= 1 && rounds <= 20)
  ) {
    process.stderr.write(`${script}: bad --connections (1..1024 each), --duration (≤ 60 s) or --rounds (≤ 20)\n`);
    process.exit(2);
  }
  return { connections, durationS, rounds, values };
}
