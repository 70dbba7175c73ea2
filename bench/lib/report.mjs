/**
 * Turns benchmark records into the three outputs: a JSON file, a Markdown table with ratios,
 * and an SVG chart of handshakes/s against connections per server.
 */

/** @param {number[]} xs */
export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const m = Math.floor(s.length / 2);
  if (s.length % 2) return /** @type {number} */ (s[m]);
  const lo = /** @type {number} */ (s[m - 1]);
  const hi = /** @type {number} */ (s[m]);
  return (lo + hi) / 2;
}

/**
 * The identity of a measured configuration: scenario, server, variant (e.g. `workers=1`; none for
 * the main phases) and connections.
 * @param {{ scenario: string, server: string, variant?: string, connections: number }} r
 */
export const rowKey = (r) => `${r.scenario}|${r.server}|${r.variant ?? ''}|${r.connections}`;

/**
 * Groups runs by (scenario, server, variant, connections) and takes medians of each figure.
 * @param {Array<Record<string, any>>} runs
 */
export function summarize(runs) {
  /** @type {Map<string, Array<Record<string, any>>>} */
  const groups = new Map();
  for (const r of runs) {
    const key = rowKey(/** @type {any} */ (r));
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key)?.push(r);
  }
  return [...groups.values()].map((g) => {
    const first = /** @type {Record<string, any>} */ (g[0]);
    return {
      scenario: first.scenario,
      server: first.server,
      variant: /** @type {string | undefined} */ (first.variant),
      group: /** @type {string | undefined} */ (first.group),
      connections: first.connections,
      repeats: g.length,
      rps: median(g.map((r) => r.rps)),
      rpsAll: g.map((r) => Math.round(r.rps)),
      p50: median(g.map((r) => r.latencyMs.p50)),
      p90: median(g.map((r) => r.latencyMs.p90)),
      p99: median(g.map((r) => r.latencyMs.p99)),
      max: median(g.map((r) => r.latencyMs.max)),
      errors: g.reduce((n, r) => n + r.errors, 0),
      serverCpuUsPerHandshake: median(g.map((r) => r.serverCpuUsPerHandshake)),
      serverRssMiB: median(g.map((r) => r.serverRssMiB)),
      loadgenCpuUsPerRequest: median(g.map((r) => r.loadgenCpuUsPerRequest)),
    };
  });
}

const fmt = (/** @type {number} */ n, digits = 0) =>
  Number.isFinite(n) ? n.toLocaleString('en-US', { maximumFractionDigits: digits }) : '–';

/**
 * @param {ReturnType<typeof summarize>} rows
 * @param {{ ours: string, peers: string[] }} names
 */
export function markdown(rows, names) {
  const lines = [
    '| scenario | server | conns | handshakes/s (median) | runs | p50 ms | p99 ms | server CPU µs/handshake | ' +
      'server RSS MiB | errors | vs ours |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  const oursBy = new Map(
    rows.filter((r) => r.server === names.ours && !r.variant).map((r) => [`${r.scenario}|${r.connections}`, r]),
  );
  const label = (/** @type {ReturnType<typeof summarize>[number]} */ r) =>
    `${r.server}${r.variant ? ` [${r.variant}]` : ''}`;
  for (const r of [...rows].sort(
    (a, b) => a.scenario.localeCompare(b.scenario) || a.connections - b.connections || label(a).localeCompare(label(b)),
  )) {
    const o = oursBy.get(`${r.scenario}|${r.connections}`);
    const ratio = o && o !== r && r.rps > 0 ? `ours ${(o.rps / r.rps).toFixed(2)}×` : '';
    lines.push(
      `| ${r.scenario} | ${label(r)} | ${r.connections} | ${fmt(r.rps)} | ${r.rpsAll.join(', ')} | ` +
        `${fmt(r.p50, 2)} | ${fmt(r.p99, 2)} | ${fmt(r.serverCpuUsPerHandshake)} | ${fmt(r.serverRssMiB)} | ` +
        `${r.errors} | ${ratio} |`,
    );
  }
  return lines.join('\n') + '\n';
}

/**
 * The variants table: each variant next to its baseline measured in the same run, with the
 * ratio variant : baseline (handshakes/s and server CPU per handshake), and the variants that
 * could not run with the reason.
 * @param {ReturnType<typeof summarize>} rows
 * @param {Array<{ group: string, what: string, row: { scenario: string, server: string, variant?: string, connections:
 *   number },
 *   baseline: { scenario: string, server: string, variant?: string, connections: number } }>} comparisons
 * @param {Array<{ group: string, what: string, reason: string }>} skipped
 */
export function variantsMarkdown(rows, comparisons, skipped) {
  const by = new Map(rows.map((r) => [rowKey(r), r]));
  const lines = [
    '| group | variant | scenario | conns | handshakes/s | runs | p99 ms | server CPU µs/handshake | errors | ' +
      'baseline | baseline handshakes/s | variant : baseline | CPU variant : baseline |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const c of comparisons) {
    const r = by.get(rowKey(c.row));
    const b = by.get(rowKey(c.baseline));
    if (!r) continue;
    const bvariant = c.baseline.variant ? ` [${c.baseline.variant}]` : '';
    const bscenario = c.baseline.scenario !== c.row.scenario ? ` (${c.baseline.scenario})` : '';
    const blabel = `${c.baseline.server}${bvariant}${bscenario}`;
    const ratio = b && b.rps > 0 ? `${(r.rps / b.rps).toFixed(2)}×` : '–';
    const cpuRatio =
      b && Number.isFinite(r.serverCpuUsPerHandshake) && b.serverCpuUsPerHandshake > 0
        ? `${(r.serverCpuUsPerHandshake / b.serverCpuUsPerHandshake).toFixed(2)}×`
        : '–';
    lines.push(
      `| ${c.group} | ${c.what} | ${r.scenario} | ${r.connections} | ${fmt(r.rps)} | ${r.rpsAll.join(', ')} | ` +
        `${fmt(r.p99, 2)} | ${fmt(r.serverCpuUsPerHandshake)} | ${r.errors} | ${blabel} | ${b ? fmt(b.rps) : '–'} ` +
        `| ${ratio} | ${cpuRatio} |`,
    );
  }
  for (const s of skipped)
    lines.push(
      `| ${s.group} | ${s.what} | skipped: ${s.reason.replace(/\|/g, '/').replace(/\s+/g, ' ').slice(0, 300)} | | ` +
        `| | | | | | | | |`,
    );
  return lines.join('\n') + '\n';
}

/**
 * An SVG line chart: x = connections (log scale), y = handshakes/s, one line per
 * scenario/server pair that has more than one connection level.
 * @param {ReturnType<typeof summarize>} rows
 */
export function svgChart(rows, title = 'Handshakes per second') {
  const W = 760;
  const H = 420;
  const pad = { l: 70, r: 220, t: 40, b: 50 };
  const series = new Map();
  for (const r of rows) {
    const k = `${r.server} (${r.scenario})`;
    if (!series.has(k)) series.set(k, []);
    series.get(k).push(r);
  }
  const all = rows.filter((r) => Number.isFinite(r.rps));
  const xs = [...new Set(all.map((r) => r.connections))].sort((a, b) => a - b);
  const maxY = Math.max(1, ...all.map((r) => r.rps)) * 1.1;
  const lx = (/** @type {number} */ c) => Math.log2(c);
  const minX = lx(xs[0] ?? 1);
  const maxX = Math.max(minX + 1, lx(xs.at(-1) ?? 2));
  const px = (/** @type {number} */ c) => pad.l + ((lx(c) - minX) / (maxX - minX)) * (W - pad.l - pad.r);
  const py = (/** @type {number} */ y) => H - pad.b - (y / maxY) * (H - pad.t - pad.b);
  const colors = ['#1b9e77', '#d95f02', '#7570b3', '#e7298a', '#66a61e', '#e6ab02', '#a6761d', '#666666'];
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2 - 100}" y="22" font-size="15">${title}</text>`,
    `<line x1="${pad.l}" y1="${H - pad.b}" x2="${W - pad.r}" y2="${H - pad.b}" stroke="black"/>`,
    `<line x1="${pad.l}" y1="${pad.t}" x2="${pad.l}" y2="${H - pad.b}" stroke="black"/>`,
    `<text x="${(W - pad.r) / 2}" y="${H - 12}">connections</text>`,
  ];
  for (const c of xs) out.push(`<text x="${px(c) - 6}" y="${H - pad.b + 18}">${c}</text>`);
  for (let i = 0; i <= 5; i++) {
    const y = (maxY / 5) * i;
    out.push(
      `<text x="8" y="${py(y) + 4}">${fmt(y)}</text>`,
      `<line x1="${pad.l}" y1="${py(y)}" x2="${W - pad.r}" y2="${py(y)}" stroke="#eee"/>`,
    );
  }
  let i = 0;
  for (const [name, pts] of series) {
    const color = colors[i % colors.length];
    const sorted = [...pts].sort((a, b) => a.connections - b.connections);
    out.push(
      `<polyline fill="none" stroke="${color}" stroke-width="2" ` +
        `points="${sorted.map((p) => `${px(p.connections)},${py(p.rps)}`).join(' ')}"/>`,
    );
    for (const p of sorted) out.push(`<circle cx="${px(p.connections)}" cy="${py(p.rps)}" r="3" fill="${color}"/>`);
    out.push(
      `<rect x="${W - pad.r + 12}" y="${pad.t + i * 18 - 9}" width="10" height="10" fill="${color}"/>`,
      `<text x="${W - pad.r + 28}" y="${pad.t + i * 18}">${name}</text>`,
    );
    i++;
  }
  out.push('</svg>');
  return out.join('\n') + '\n';
}
