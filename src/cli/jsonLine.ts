/** One JSON object per line on stdout: what users' scripts read from the CLI. */
export function out(obj: unknown): void {
  process.stdout.write(JSON.stringify(obj) + '\n');
}
