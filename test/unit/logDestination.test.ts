/**
 * The CLI's log destination (src/logDestination.ts) on real descriptors: a file, and FIFOs whose
 * reader is slow (blocking and non-blocking writer ends) or gone. Lines arrive whole and in
 * order, the tail without waiting for a full block, everything buffered on flushSync and on exit;
 * a reader that cannot keep up costs dropped lines (counted, then reported by one warn line),
 * never unbounded memory; a reader that is gone costs nothing but the lines.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, constants, mkdtempSync, openSync, readFileSync, readSync, rmSync, writeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  createStderrLogDestination,
  FLUSH_SYNC_MAX_WAIT_MS,
  LOG_BLOCK_BYTES,
  LOG_BUFFER_MAX_BYTES,
  LOG_FLUSH_MS,
} from '../../src/logDestination.js';
import { waitUntil } from '../support/waitUntil.js';

const DIST_SRC = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'src');

/** A JSON line of about `size` characters carrying its sequence number. */
function line(seq: number, size = 200): string {
  const head = `{"level":"info","seq":${seq},"pad":"`;
  return `${head}${'x'.repeat(Math.max(0, size - head.length - 4))}"}\n`;
}

function seqs(text: string): number[] {
  return text
    .split('\n')
    .filter((l) => l.includes('"seq"'))
    .map((l) => (JSON.parse(l) as { seq: number }).seq);
}

function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'negotiate-logdest-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('lines reach a file whole and in order across blocks; the tail within the flush period', async (t) => {
  const file = path.join(tempDir(t), 'log');
  const fd = openSync(file, 'w');
  t.after(() => closeSync(fd));
  const d = createStderrLogDestination(fd);
  // Three blocks and a tail that is smaller than a block.
  const n = Math.ceil((3 * LOG_BLOCK_BYTES) / 200) + 7;
  for (let i = 0; i < n; i++) d.stream.write(line(i));
  await waitUntil(() => seqs(readFileSync(file, 'utf8')).length === n, `${n} lines in the file`, 20 * LOG_FLUSH_MS);
  assert.deepEqual(
    seqs(readFileSync(file, 'utf8')),
    Array.from({ length: n }, (_, i) => i),
  );
  assert.equal(d.dropped, 0);
});

test('flushSync writes every buffered line before it returns', (t) => {
  const file = path.join(tempDir(t), 'log');
  const fd = openSync(file, 'w');
  t.after(() => closeSync(fd));
  const d = createStderrLogDestination(fd);
  for (let i = 0; i < 5; i++) d.stream.write(line(i));
  assert.equal(readFileSync(file, 'utf8'), '', 'under a block, nothing is written at once');
  d.flushSync();
  assert.deepEqual(seqs(readFileSync(file, 'utf8')), [0, 1, 2, 3, 4]);
});

test('buffered lines are written when the process exits without flushing', (t) => {
  const file = path.join(tempDir(t), 'log');
  const moduleUrl = pathToFileURL(path.join(DIST_SRC, 'logDestination.js')).href;
  const script =
    `import { openSync } from 'node:fs';` +
    `import { createStderrLogDestination } from ${JSON.stringify(moduleUrl)};` +
    `const d = createStderrLogDestination(openSync(${JSON.stringify(file)}, 'w'));` +
    `for (let i = 0; i < 1000; i++) d.stream.write('{"seq":' + i + '}\\n');` +
    `process.exit(0);`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(
    seqs(readFileSync(file, 'utf8')),
    Array.from({ length: 1000 }, (_, i) => i),
  );
});

for (const writerMode of ['blocking', 'non-blocking'] as const) {
  const name = `a slow reader (${writerMode} writer): memory stays bounded, drops are counted and reported`;
  test(name, async (t) => {
    const fifo = path.join(tempDir(t), 'fifo');
    execFileSync('mkfifo', [fifo]);
    // The reader end first, non-blocking, so opening the writer end does not wait.
    const reader = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
    const writer = openSync(fifo, constants.O_WRONLY | (writerMode === 'non-blocking' ? constants.O_NONBLOCK : 0));
    let received = '';
    const drain = (): boolean => {
      const buf = Buffer.alloc(1 << 16);
      for (;;) {
        try {
          const n = readSync(reader, buf, 0, buf.length, null);
          if (n === 0) return true;
          received += buf.toString('utf8', 0, n);
        } catch {
          return false; // EAGAIN: empty for now
        }
      }
    };
    t.after(async () => {
      // Let a write blocked in the thread pool finish before the descriptors go.
      const until = Date.now() + 5000;
      while (Date.now() < until) {
        drain();
        await new Promise((r) => setTimeout(r, 20));
        if (!drain()) break;
      }
      closeSync(writer);
      closeSync(reader);
    });
    const d = createStderrLogDestination(writer);
    // Nobody reads: the pipe fills (64 KiB), then the buffer; twice the bound is offered.
    const total = Math.ceil((2 * LOG_BUFFER_MAX_BYTES) / 200);
    for (let i = 0; i < total; i++) {
      d.stream.write(line(i));
      if (i % 2000 === 0) await new Promise((r) => setImmediate(r));
    }
    const dropped = d.dropped;
    assert.ok(dropped > 0, 'lines beyond the bound are dropped');
    assert.ok(
      (total - dropped) * 200 <= LOG_BUFFER_MAX_BYTES + 2 * LOG_BLOCK_BYTES + (1 << 16),
      `kept ${total - dropped} lines: no more than the bound plus what the pipe holds`,
    );
    // The reader catches up: every kept line arrives, in order, then one warn line with the count.
    const warned = (): boolean => received.includes('log lines dropped');
    await waitUntil(
      () => {
        drain();
        return warned();
      },
      () => `the drop report (received ${received.length} characters)`,
      20_000,
    );
    const kept = total - dropped;
    assert.deepEqual(
      seqs(received),
      Array.from({ length: kept }, (_, i) => i),
    );
    const report = received
      .split('\n')
      .filter((l) => l.includes('log lines dropped'))
      .map((l) => JSON.parse(l) as { level: string; dropped: number });
    assert.deepEqual(
      report.map((r) => [r.level, r.dropped]),
      [['warn', dropped]],
    );
  });
}

test('a reader that is gone: lines are counted as dropped, nothing throws', async (t) => {
  const fifo = path.join(tempDir(t), 'fifo');
  execFileSync('mkfifo', [fifo]);
  const reader = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
  const writer = openSync(fifo, constants.O_WRONLY);
  t.after(() => closeSync(writer));
  closeSync(reader); // EPIPE from now on (node ignores SIGPIPE)
  const d = createStderrLogDestination(writer);
  const n = Math.ceil(LOG_BLOCK_BYTES / 200) + 1; // a block: the write starts at once
  for (let i = 0; i < n; i++) d.stream.write(line(i));
  await waitUntil(
    () => {
      d.stream.write(line(n));
      return d.dropped > 0;
    },
    'lines dropped after EPIPE',
    5000,
    LOG_FLUSH_MS,
  );
  d.flushSync(); // does not throw, does not loop
});

test('flushSync gives up on a full non-blocking stderr whose reader never reads', (t) => {
  const fifo = path.join(tempDir(t), 'fifo');
  execFileSync('mkfifo', [fifo]);
  const reader = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
  const writer = openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK);
  t.after(() => {
    closeSync(writer);
    closeSync(reader);
  });
  const d = createStderrLogDestination(writer);
  // More than the pipe holds (64 KiB) and less than a block: nothing is written before flushSync.
  for (let i = 0; i < Math.floor((LOG_BLOCK_BYTES - 1) / 200); i++) d.stream.write(line(i));
  const fill = Buffer.alloc(1 << 16, 0x2e);
  for (;;) {
    try {
      writeSync(writer, fill);
    } catch {
      break; // EAGAIN: the pipe is full
    }
  }
  const started = Date.now();
  d.flushSync();
  const waited = Date.now() - started;
  assert.ok(waited >= FLUSH_SYNC_MAX_WAIT_MS - 50, `it waited for the reader first (${waited} ms)`);
  assert.ok(waited < FLUSH_SYNC_MAX_WAIT_MS + 2000, `then gave up (${waited} ms)`);
  d.flushSync(); // stderr counts as gone now: returns at once
  assert.ok(Date.now() - started - waited < 500, 'a second flushSync returns at once');
});
