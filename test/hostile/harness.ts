/**
 * What every hostile-input case checks around the bad client: the failure the server reports
 * ('handshakeFailed', or the log line of a post-handshake error), that the process-wide context
 * table drains back to its baseline, and that a real client of the same front end still
 * authenticates right after.
 */
import assert from 'node:assert/strict';
import * as path from 'node:path';

import type { Logger } from '../../src/logger.js';
import type { NegotiateServer } from '../../src/server.js';
import type { ThrowawayRealm } from '../../src/realm/index.js';
import { FIXTURES } from '../support/initiator.js';
import { requireTool } from '../support/realm.js';
import { PYTHON, jsonLines, runClient, SSPI_CLIENT } from '../support/server.js';
import { waitUntil } from '../support/waitUntil.js';

/** The fields every front end's 'handshakeFailed' event has. */
export interface FailureEvent {
  code: string;
  message: string;
  frontend?: string;
}

/** The fields every front end's 'session' event has (a Session, or an HttpIdentity). */
export interface SessionEvent {
  principal: string;
  mech: string;
  frontend?: string;
  via?: string;
}

/** One structured log call. */
export interface LogRecord {
  level: 'debug' | 'info' | 'warn' | 'error';
  msg: string;
  fields: Record<string, unknown>;
}

/** A logger that keeps every record, so tests can see errors that raise no event. */
export function recordingLogger(): { logger: Logger; records: LogRecord[] } {
  const records: LogRecord[] = [];
  const at =
    (level: LogRecord['level']) =>
    (msg: string, fields: Record<string, unknown> = {}): void => {
      records.push({ level, msg, fields });
    };
  return { logger: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') }, records };
}

export type ContextStats = ReturnType<NegotiateServer['pool']['stats']>;

/**
 * Records a server's events for the whole test file. Tests run one at a time, so the events
 * after a mark are the current case's.
 */
export class ServerWatch {
  readonly server: NegotiateServer;
  readonly failures: FailureEvent[] = [];
  readonly sessions: SessionEvent[] = [];
  readonly logs: LogRecord[];

  constructor(server: NegotiateServer, logs: LogRecord[] = []) {
    this.server = server;
    this.logs = logs;
    server.on('handshakeFailed', (f: FailureEvent) => this.failures.push(f));
    server.on('session', (s: SessionEvent) => this.sessions.push(s));
  }

  stats(): ContextStats {
    return this.server.pool.stats();
  }

  /** Positions to slice the event lists from. */
  mark(): { failures: number; sessions: number; logs: number } {
    return { failures: this.failures.length, sessions: this.sessions.length, logs: this.logs.length };
  }

  /** Waits for the first failure after `m` and returns it. */
  async failureSince(m: { failures: number }, timeoutMs = 10_000): Promise<FailureEvent> {
    await waitUntil(() => this.failures.length > m.failures, "a 'handshakeFailed' event", timeoutMs);
    return this.failures[m.failures] as FailureEvent;
  }

  /** Waits for the first 'connection ended with an error' log after `m`: post-handshake errors raise no event. */
  async postHandshakeErrorSince(m: { logs: number }, timeoutMs = 10_000): Promise<Record<string, unknown>> {
    const find = (): LogRecord | undefined => this.logs.slice(m.logs).find((r) => r.msg === 'connection ended with an error');
    await waitUntil(() => find() !== undefined, "a 'connection ended with an error' log record", timeoutMs);
    return (find() as LogRecord).fields;
  }

  /** The context table is empty: no handshake, no session, nothing checked out by a worker. */
  async drained(timeoutMs = 5000): Promise<ContextStats> {
    await waitUntil(
      () => {
        const s = this.stats();
        return s.live === 0 && s.handshaking === 0 && s.established === 0 && s.inUse === 0;
      },
      () => `an empty context table, have ${JSON.stringify(this.stats())}`,
      timeoutMs,
    );
    const s = this.stats();
    // Every context ever made left the table exactly once: failed, released or swept.
    assert.equal(s.created, s.failed + s.released + s.expired, `context counters add up: ${JSON.stringify(s)}`);
    return s;
  }
}

const HTTP_CLIENT = path.join(FIXTURES, 'http_client.py');
const LEGIT_TIMEOUT_MS = 20_000;

/** The legitimate client a case runs after the hostile one, per front end. */
export type LegitFrontend = 'sspi' | 'gss-sample' | 'http';

export interface Ports {
  sspiPort: number;
  gssSamplePort: number;
  httpPort: number;
}

/**
 * Runs one real Kerberos client against the front end and checks both sides: the client's own
 * verdict (mutual authentication, decrypted greeting or verified MIC) and the server's 'session'
 * event for alice. Then waits for the context table to drain.
 */
export async function legitHandshake(watch: ServerWatch, realm: ThrowawayRealm, ports: Ports, frontend: LegitFrontend): Promise<void> {
  const m = watch.mark();
  if (frontend === 'sspi') {
    const r = await runClient(PYTHON, [SSPI_CLIENT, '--port', String(ports.sspiPort), '--timeout', '10', '--mech', 'spnego'], realm, LEGIT_TIMEOUT_MS);
    const line = jsonLines(r.stdout)[0];
    assert.equal(r.code, 0, `sspi_client.py failed: ${r.stdout} ${r.stderr}`);
    assert.equal(line?.['ok'], true, JSON.stringify(line));
    assert.equal(line?.['mutual'], true, 'the client verified the AP-REP');
    assert.equal(line?.['greeting'], 'This is your server speaking');
  } else if (frontend === 'gss-sample') {
    const gssClient = requireTool('gss-client', 'krb5-gss-samples');
    const r = await runClient(gssClient, ['-port', String(ports.gssSamplePort), 'localhost', 'host@localhost', 'still here'], realm, LEGIT_TIMEOUT_MS, { LC_ALL: 'C' });
    assert.equal(r.code, 0, `gss-client failed:\n${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /Signature verified\./);
  } else {
    const r = await runClient(PYTHON, [HTTP_CLIENT, `http://localhost:${ports.httpPort}/whoami`], realm, LEGIT_TIMEOUT_MS);
    assert.equal(r.code, 0, `http_client.py failed: ${r.stdout} ${r.stderr}`);
    const line = jsonLines(r.stdout)[0];
    assert.equal(line?.['status'], 200, JSON.stringify(line));
    assert.equal(line?.['mutual'], true, 'the client verified the final token');
  }
  await waitUntil(() => watch.sessions.length > m.sessions, `a 'session' event from the ${frontend} front end`, 5000);
  const s = watch.sessions[m.sessions] as SessionEvent;
  assert.equal(s.principal, realm.userPrincipal);
  assert.equal(s.mech, 'krb5');
  assert.deepEqual(watch.failures.slice(m.failures), [], 'the legitimate client caused no failure');
  await watch.drained();
}
