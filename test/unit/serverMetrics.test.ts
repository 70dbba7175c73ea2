/**
 * ServerMetrics' handshake counters: counted as plain numbers and read into prom-client at
 * scrape time, with the series, values and first-seen order prom-client's own counting gave.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ServerMetrics } from '../../src/metrics/ServerMetrics.js';
import type { StateSources } from '../../src/metrics/stateMetrics.js';

function metricsWithoutState(): ServerMetrics {
  // The state metrics read these only when the whole registry is rendered; this test reads single metrics.
  const sources = {} as StateSources;
  return new ServerMetrics({ sources });
}

async function series(m: ServerMetrics, name: string): Promise<string[]> {
  const text = await m.registry.getSingleMetricAsString(name);
  return text.split('\n').filter((l) => !l.startsWith('#'));
}

test('handshake counters: every series with its count, in first-seen order, stable across scrapes', async () => {
  const m = metricsWithoutState();
  m.recordFailure({ frontend: 'http', code: 'ERR_GSS_DEFECTIVE_TOKEN', latencyMs: 2 });
  m.recordSuccess({ frontend: 'http', mech: 'krb5', latencyMs: 1 });
  m.recordSuccess({ frontend: 'ws', mech: 'krb5', latencyMs: 1 });
  m.recordSuccess({ frontend: 'http', mech: 'krb5' });
  m.recordSuccess({ frontend: 'sspi', mech: 'unknown' });
  m.recordFailure({ frontend: 'http', code: 'ERR_GSS_REPLAY', latencyMs: 3 });
  const expected = [
    'negotiate_handshakes_total{frontend="http",mech="unknown",outcome="failure"} 2',
    'negotiate_handshakes_total{frontend="http",mech="krb5",outcome="success"} 2',
    'negotiate_handshakes_total{frontend="ws",mech="krb5",outcome="success"} 1',
    'negotiate_handshakes_total{frontend="sspi",mech="unknown",outcome="success"} 1',
  ];
  assert.deepEqual(await series(m, 'negotiate_handshakes_total'), expected);
  assert.deepEqual(await series(m, 'negotiate_handshakes_total'), expected, 'a second scrape counts nothing twice');
  assert.deepEqual(await series(m, 'negotiate_handshake_failures_total'), [
    'negotiate_handshake_failures_total{frontend="http",code="ERR_GSS_DEFECTIVE_TOKEN"} 1',
    'negotiate_handshake_failures_total{frontend="http",code="ERR_GSS_REPLAY"} 1',
  ]);
  assert.deepEqual(await series(m, 'negotiate_replay_rejections_total'), ['negotiate_replay_rejections_total 1']);
  const duration = await series(m, 'negotiate_handshake_duration_seconds');
  assert.ok(duration.includes('negotiate_handshake_duration_seconds_count{frontend="http",outcome="success"} 1'));
  assert.ok(duration.includes('negotiate_handshake_duration_seconds_count{frontend="http",outcome="failure"} 2'));
  m.recordSuccess({ frontend: 'ws', mech: 'krb5' });
  assert.ok(
    (await series(m, 'negotiate_handshakes_total')).includes(
      'negotiate_handshakes_total{frontend="ws",mech="krb5",outcome="success"} 2',
    ),
  );
});

test('no handshake yet: the counters have no series', async () => {
  const m = metricsWithoutState();
  assert.deepEqual(await series(m, 'negotiate_handshakes_total'), []);
});
