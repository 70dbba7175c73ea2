/**
 * The report of a `npm run bench` run (bench/run.mjs): the summary rows, the variants beside their
 * baselines, the hand-off micro-benchmark when its group ran, written as JSON, Markdown and an SVG
 * chart to the results directory, the Markdown also to stdout.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { markdown, summarize, svgChart, variantsMarkdown } from './report.mjs';
import { wrkMarkdown } from './wrkReport.mjs';
import { runHandoffMicro } from './handoffMicro.mjs';
import { GROUPS } from './variants.mjs';

/**
 * @param {any} o the run: runs, comparisons, skipped, unavailable, selected, quick, rounds,
 *   durationS, variantDurationS, outDir, startedAt, log, ours (our defaults' server name) and
 *   apache (its peer's) for the wrk table.
 */
export async function writeRunReport(o) {
  const { runs, comparisons, skipped, unavailable, selected, quick, rounds, durationS, variantDurationS } = o;
  const { outDir, startedAt, log } = o;
  const OURS_DEFAULTS = o.ours;
  const APACHE = o.apache;

  const rows = summarize(runs);
  // A variant whose every phase failed has no row: say so.
  for (const c of comparisons) {
    if (
      !rows.some(
        (r) =>
          r.scenario === c.row.scenario &&
          r.server === c.row.server &&
          r.variant === c.row.variant &&
          r.connections === c.row.connections,
      ) &&
      !skipped.some((s) => s.group === c.group && s.what === c.what)
    ) {
      skipped.push({
        group: c.group,
        what: `${c.what} (c=${c.row.connections})`,
        reason: 'no successful phase (see the progress lines)',
      });
    }
  }
  // After the load phases, on a machine no server loads any more.
  const handoffMicro = selected.has('handoff')
    ? (log('handoff micro-benchmark (bench/handoff.mjs)'),
      runHandoffMicro({ seconds: quick ? 2 : 3, repeats: quick ? 3 : 5 }))
    : undefined;
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  await mkdir(outDir, { recursive: true });
  const machine = {
    cpus: os.cpus().length,
    model: os.cpus()[0]?.model,
    memGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    kernel: os.release(),
    loadavg: os.loadavg().map((l) => Math.round(l * 100) / 100),
  };
  const wallS = Math.round((Date.now() - startedAt) / 1000);
  const variantsSection = selected.size
    ? `\n## Variants\n\n${vdesc(selected)}Each variant next to its baseline from the same run (medians of ` +
      `rounds; variant phases ${variantDurationS} s, main phases ${durationS} s). The A/A line of the main table ` +
      `is the noise floor.\n\n${variantsMarkdown(rows, comparisons, skipped)}`
    : '';
  const unavailableLine = Object.keys(unavailable).length ? `Unavailable: ${JSON.stringify(unavailable)}\n` : '';
  const md =
    `# negotiate-server benchmark ${stamp}\n\n${quick ? 'Quick run. ' : ''}${rounds} round(s) of ` +
    `${durationS} s per phase; medians. Wall time ${wallS} s.\nMachine: ` +
    `${JSON.stringify(machine)}\n${unavailableLine}\n` +
    `${markdown(rows, { ours: 'negotiate-server', peers: [] })}` +
    `\n## What users see: wrk, our defaults (info logs) vs Apache\n\n` +
    `${wrkMarkdown(rows, { ours: OURS_DEFAULTS, peer: APACHE, scenario: 'http-wrk' })}${variantsSection}` +
    (handoffMicro ? `\n## Hand-off micro-benchmark\n\n${handoffMicro.md ?? `failed: ${handoffMicro.error}`}\n` : '');
  await writeFile(
    path.join(outDir, `${stamp}.json`),
    JSON.stringify(
      {
        stamp,
        quick,
        rounds,
        durationS,
        variantDurationS,
        variants: [...selected],
        wallS,
        machine,
        unavailable,
        skipped,
        comparisons,
        runs,
        summary: rows,
        handoffMicro: handoffMicro?.data,
      },
      null,
      2,
    ),
  );
  await writeFile(path.join(outDir, `${stamp}.md`), md);
  await writeFile(
    path.join(outDir, `${stamp}.svg`),
    svgChart(rows.filter((r) => r.scenario !== 'accept-loop' && !r.variant && r.scenario !== 'tcp-sspi live')),
  );
  process.stdout.write(md);
  log(`results in ${path.join(outDir, stamp)}.{json,md,svg}`);
}

/** The selected groups, one line each, for the report. */
function vdesc(/** @type {Set<string>} */ selected) {
  return [...selected].map((g) => `- ${g}: ${GROUPS[/** @type {keyof typeof GROUPS} */ (g)]}\n`).join('') + '\n';
}
