/**
 * One HTTP load phase run inside a farm's client namespace (bench/farm.mjs starts it with
 * `ip netns exec`): fresh tokens from the C generator (tools/tokens.mjs, made before the clock
 * starts), then autocannon through runHttpLoad. Prints one JSON LoadResult on stdout.
 *
 *   node bench/lib/farmLoad.mjs ENV_FILE URL CONNECTIONS DURATION_S TOKENS LABEL
 */
import { generateTokens } from '../../tools/tokens.mjs';
import { runHttpLoad } from './httpLoad.mjs';

const [envFile, url, connections, durationS, count, label] = process.argv.slice(2);
if (!envFile || !url || !label) {
  process.stderr.write('usage: farmLoad.mjs ENV_FILE URL CONNECTIONS DURATION_S TOKENS LABEL\n');
  process.exit(2);
}
const tokens = await generateTokens({ env: envFile, service: 'HTTP@localhost', count: Number(count) });
const result = await runHttpLoad({
  url,
  tokens,
  connections: Number(connections),
  durationS: Number(durationS),
  serverName: 'negotiate-server',
  scenario: label,
});
process.stdout.write(`${JSON.stringify(result)}\n`);
