/** One HTTP GET on a fresh connection to 127.0.0.1, bounded at 10 s: status, headers and body. */
import http from 'node:http';

export interface HttpAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export function httpGet(port: number, urlPath: string, headers: Record<string, string> = {}): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const req = http.get(
      {
        host: '127.0.0.1',
        port,
        path: urlPath,
        headers: { Connection: 'close', ...headers },
        agent: false,
        timeout: 10_000,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
  });
}

/** GET `urlPath` with `Authorization: Negotiate <token>`. */
export function negotiateGet(port: number, token: Uint8Array, urlPath = '/whoami'): Promise<HttpAnswer> {
  return httpGet(port, urlPath, { authorization: `Negotiate ${Buffer.from(token).toString('base64')}` });
}
