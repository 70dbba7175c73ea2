/**
 * One WebSocket handshake as a client makes it: a fresh connection to the server's `/ws`, one
 * binary token, then whatever the server answers (its final token, the "authenticated" text) or
 * the close it sends instead.
 */
import WebSocket from 'ws';

export interface WsExchange {
  /** Binary messages: the server's tokens (AP-REP). */
  binaries: Buffer[];
  /** The "authenticated" text message, when the handshake completed. */
  text: string | undefined;
  /** The server's close code when it closed without completing (undefined after a completion). */
  closeCode: number | undefined;
  /** That close's reason. */
  closeReason: string | undefined;
}

/** Sends one token on a fresh WebSocket; resolves with everything received, once the server answered or closed. */
export function wsExchange(port: number, token: Buffer, path = '/ws'): Promise<WsExchange> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`, { handshakeTimeout: 5000 });
    const binaries: Buffer[] = [];
    let text: string | undefined;
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new Error('no answer on the WebSocket within 10 s'));
    }, 10_000);
    ws.on('open', () => ws.send(token, { binary: true }));
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (isBinary) binaries.push(Buffer.from(data));
      else {
        text = data.toString('utf8');
        ws.close(1000);
      }
    });
    ws.on('close', (code: number, reason: Buffer) => {
      clearTimeout(timer);
      const closed = text === undefined;
      resolve({
        binaries,
        text,
        closeCode: closed ? code : undefined,
        closeReason: closed ? reason.toString('utf8') : undefined,
      });
    });
    ws.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}
