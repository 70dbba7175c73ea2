/**
 * The "what users see" table: our server with its defaults (info logging) against Apache, both
 * driven by wrk in the same run, with each side's CPU per handshake (whole process trees) and
 * the load generator's own CPU, per connection count.
 */
const fmt = (/** @type {number} */ n, digits = 0) =>
  Number.isFinite(n) ? n.toLocaleString('en-US', { maximumFractionDigits: digits }) : '–';

/**
 * @param {ReturnType<typeof import('./report.mjs').summarize>} rows
 * @param {{ ours: string, peer: string, scenario: string }} names
 */
export function wrkMarkdown(rows, names) {
  const of = (/** @type {string} */ server, /** @type {number} */ c) =>
    rows.find((r) => r.scenario === names.scenario && r.server === server && r.connections === c && !r.variant);
  const conns = [...new Set(rows.filter((r) => r.scenario === names.scenario).map((r) => r.connections))].sort(
    (a, b) => a - b,
  );
  const lines = [
    `| connections | ${names.ours} | ${names.peer} | ratio | p99 ours / peer | ` +
      'server CPU µs per handshake ours / peer | wrk CPU µs per request (ours / peer) | errors |',
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const c of conns) {
    const o = of(names.ours, c);
    const p = of(names.peer, c);
    if (!o || !p) continue;
    lines.push(
      `| ${c} | ${fmt(o.rps)}/s | ${fmt(p.rps)}/s | ${p.rps > 0 ? (o.rps / p.rps).toFixed(2) : '–'}× | ` +
        `${fmt(o.p99, 1)} / ${fmt(p.p99, 1)} ms | ` +
        `${fmt(o.serverCpuUsPerHandshake)} / ${fmt(p.serverCpuUsPerHandshake)} | ` +
        `${fmt(o.loadgenCpuUsPerRequest, 1)} / ${fmt(p.loadgenCpuUsPerRequest, 1)} | ${o.errors} / ${p.errors} |`,
    );
  }
  return lines.join('\n') + '\n';
}
