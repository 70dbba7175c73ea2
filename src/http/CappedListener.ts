/**
 * The HTTP listen socket of a uWS app, under a connection cap: ConnectionGate counts the
 * connections on the port and, at the cap, this closes the listen socket (new clients are
 * refused at once) and listens again on the same address below it.
 */
import type { TemplatedApp, us_listen_socket, us_socket } from 'uwebsockets';
import { LISTEN_EXCLUSIVE_PORT } from '../acceptors/uws.js';
import type { Logger } from '../logger.js';
import type { UwsModule } from '../acceptors/uws.js';
import { ConnectionGate } from './ConnectionGate.js';

export interface CappedListenerOptions {
  app: TemplatedApp;
  uws: UwsModule;
  maxConnections: number;
  logger: Logger;
}

export class CappedListener {
  readonly #o: CappedListenerOptions;
  #socket: us_listen_socket | undefined;
  #gate: ConnectionGate | undefined;
  #bound: { host: string; port: number } | undefined;
  #closed = false;

  constructor(options: CappedListenerOptions) {
    this.#o = options;
  }

  /** Listens (port 0 picks a free port); resolves with the bound port, or undefined when uWS cannot bind. */
  async listen(host: string, port: number): Promise<number | undefined> {
    const socket = await this.#listenOnce(host, port);
    if (socket === undefined) return undefined;
    // With port 0 the kernel chose; ask the socket.
    const bound = this.#o.uws.us_socket_local_port(socket as unknown as us_socket);
    this.#bound = { host, port: bound };
    this.#gate = new ConnectionGate({ port: bound, cap: this.#o.maxConnections, pause: () => this.#pause(), resume: () => this.#resume() });
    return bound;
  }

  /** Connections on the port at the last count (WebSockets included). */
  get connections(): number {
    return this.#gate?.connections ?? 0;
  }

  /** True while new connections are refused at the cap. */
  get atCap(): boolean {
    return this.#gate?.paused ?? false;
  }

  /** Stops listening for good (connections already open are the app's to close). */
  close(): void {
    this.#closed = true;
    this.#gate?.stop();
    if (this.#socket !== undefined) this.#o.uws.us_listen_socket_close(this.#socket);
    this.#socket = undefined;
  }

  #listenOnce(host: string, port: number): Promise<us_listen_socket | undefined> {
    return new Promise((resolve) => {
      // Exclusive: a second server on a taken port fails instead of sharing it.
      this.#o.app.listen(host, port, LISTEN_EXCLUSIVE_PORT, (socket) => {
        this.#socket = socket === false ? undefined : socket;
        resolve(this.#socket);
      });
    });
  }

  #pause(): void {
    if (this.#socket === undefined) return;
    this.#o.uws.us_listen_socket_close(this.#socket);
    this.#socket = undefined;
    this.#o.logger.warn('connection cap reached: new HTTP connections are refused until some close', {
      frontend: 'http',
      maxConnections: this.#o.maxConnections,
      connections: this.connections,
    });
  }

  async #resume(): Promise<boolean> {
    const at = this.#bound;
    if (at === undefined || this.#closed) return false;
    if ((await this.#listenOnce(at.host, at.port)) === undefined) {
      this.#o.logger.error('cannot listen again after the connection cap', { frontend: 'http', host: at.host, port: at.port });
      return false;
    }
    // close() may have run while uWS was binding.
    if (this.#closed) {
      this.close();
      return false;
    }
    this.#o.logger.info('accepting HTTP connections again', { frontend: 'http', connections: this.connections });
    return true;
  }
}
