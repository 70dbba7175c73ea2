/** One HTTP GET on a fresh connection to 127.0.0.1, bounded at 10 s: status, headers and body. */
import http from 'node:http';
import https from 'node:https';

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

/** An answer with every `WWW-Authenticate` challenge, in order (`headers` joins repeated ones). */
export interface ChallengeAnswer {
  status: number;
  challenges: string[];
  body: string;
}

/** GET `url` (http: or https:, trusting `ca`) on a fresh connection, bounded at 10 s. */
export function getChallenges(url: string, authorization?: string, ca?: Buffer): Promise<ChallengeAnswer> {
  const headers = authorization === undefined ? {} : { authorization };
  return new Promise((resolve, reject) => {
    const done = (res: http.IncomingMessage): void => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => {
        const challenges = res.rawHeaders.filter(
          (_, i) => i % 2 === 1 && res.rawHeaders[i - 1]?.toLowerCase() === 'www-authenticate',
        );
        resolve({ status: res.statusCode ?? 0, challenges, body });
      });
      res.on('error', reject);
    };
    const options = { headers, agent: false as const, timeout: 10_000 };
    const req = url.startsWith('https:') ? https.get(url, { ...options, ca }, done) : http.get(url, options, done);
    req.on('timeout', () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
  });
}
