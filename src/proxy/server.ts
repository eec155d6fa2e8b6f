import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { coded } from '../errors.js';
import type { CoreMetrics } from '../metrics.js';
import type { CoreSettings } from '../settings/types.generated.js';
import { Pipeline, type PipelineDependencies } from './pipeline.js';
import { sendRaw } from './render.js';

/**
 * The proxy listener: Node's HTTP server with its timeouts, every request and upgrade handed
 * to the one {@link Pipeline}, parser errors answered here, and a drain for shutdown.
 */
export class ProxyServer {
  readonly server: http.Server;
  private readonly pipeline: Pipeline;

  constructor(private readonly deps: PipelineDependencies) {
    const s: CoreSettings = deps.settings;
    this.pipeline = new Pipeline(deps);
    this.server = http.createServer({
      // Node only enforces headersTimeout when it checks connections: check often enough
      // that a slowloris client is cut close to HEADER_TIMEOUT, not 30 s later.
      connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(s.HEADER_TIMEOUT / 4))),
      headersTimeout: s.HEADER_TIMEOUT,
      requestTimeout: s.REQUEST_TIMEOUT,
      keepAliveTimeout: s.KEEPALIVE_TIMEOUT,
      requireHostHeader: true,
    });
    this.server.on('request', (req, res) => this.pipeline.http(req, res));
    // Without this listener Node sends `100 Continue` before anyone looked at the request;
    // the pipeline sends it once the request passed the edge checks and the ban gate.
    this.server.on('checkContinue', (req, res) => this.pipeline.http(req, res, true));
    this.server.on('upgrade', (req, socket, head) => this.pipeline.upgrade(req, socket, head));
    // A reverse proxy tunnels nothing: CONNECT is answered 405 (Node would close the connection unanswered).
    this.server.on('connect', (req, socket, head) => this.pipeline.upgrade(req, socket, head));
    this.server.on('clientError', (error: NodeJS.ErrnoException, socket) => this.handleClientError(error, socket, deps.metrics, deps.log));
  }

  /** Binds the listener; resolves with the bound address. */
  listen(port: number, address: string): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, address, () => {
        this.server.off('error', reject);
        resolve(this.server.address() as AddressInfo);
      });
    });
  }

  /** Requests being handled right now. */
  get active(): number {
    return this.pipeline.active;
  }

  /**
   * Stops accepting, lets in-flight requests finish (answers carry `Connection: close`),
   * and after `timeoutMs` cuts what is left. Resolves true when everything finished in time.
   * `gentle` (a reload, while other workers serve): idle keep-alive connections are not
   * closed under a client that may be sending on them; they end at their keep-alive
   * timeout, which clients know from the `Keep-Alive` header, or with their next answer.
   */
  async drain(timeoutMs: number, gentle = false): Promise<boolean> {
    this.pipeline.draining = true;
    const closed = new Promise<void>((resolve) => {
      // http.Server#close also closes idle connections; net.Server#close only stops accepting.
      if (gentle) net.Server.prototype.close.call(this.server, () => resolve());
      else this.server.close(() => resolve());
    });
    if (!gentle) this.server.closeIdleConnections();
    let timer: NodeJS.Timeout | undefined;
    const inTime = await Promise.race([
      (gentle ? closed : this.pipeline.whenIdle()).then(() => true),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs))),
    ]);
    clearTimeout(timer);
    this.server.closeAllConnections();
    // Upgraded sockets left the server's bookkeeping: without this, close() never returns.
    this.pipeline.close();
    await closed;
    return inTime;
  }

  /** What Node's parser refused (or timed out) never reaches the pipeline: answered here and closed. */
  private handleClientError(error: NodeJS.ErrnoException, socket: Duplex, metrics: CoreMetrics, log: Logger): void {
    if (error.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    const refusal =
      error.code === 'HPE_HEADER_OVERFLOW'
        ? ({ status: 431, code: 'PAL_HEADERS_TOO_LARGE' } as const)
        : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
          ? ({ status: 408, code: 'PAL_REQUEST_TIMEOUT' } as const)
          : ({ status: 400, code: 'PAL_BAD_REQUEST' } as const);
    metrics.countRequest(refusal.status, 'error', 'bad_request', 0);
    log.info(coded(refusal.code, { status: refusal.status, parser: error.code }), 'malformed request refused');
    sendRaw(socket, refusal.status);
  }
}
