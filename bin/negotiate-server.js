#!/usr/bin/env node
// Entry point of the `negotiate-server` command; the code lives in dist/src/cli.js (npm run build).
import { existsSync } from 'node:fs';

const cli = new URL('../dist/src/cli.js', import.meta.url);
if (!existsSync(cli)) {
  process.stderr.write('negotiate-server: not built yet; run: npm ci (or npm run build)\n');
  process.exit(1);
}
const { main } = await import(cli.href);
process.exitCode = await main(process.argv.slice(2));
