import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';

/** What a GET or HEAD on one of our endpoints does; an unknown path gets a 404 from the caller. */
export type HttpHandler = (path: string, res: ServerResponse) => Promise<void>;

/** A plain-text answer. */
export function send(
  res: ServerResponse,
  status: number,
  body: string,
  type = 'text/plain; charset=utf-8',
): void {
  res.writeHead(status, { 'content-type': type });
  res.end(body);
}

/**
 * The small HTTP server behind the operator's probes and the health exporter: GET and HEAD
 * only, the path without its query, a handler that throws answers 500 (logged) instead of
 * hanging the scrape, and a close that does not wait for keep-alive connections.
 */
export class HttpEndpoint {
  private server: Server | null = null;

  constructor(
    private readonly handler: HttpHandler,
    private readonly logger: Logger,
    private readonly what: string,
  ) {}

  /** Listens on `host:port` (port 0 picks a free one); resolves with the port bound. */
  async listen(host: string, port: number): Promise<number> {
    const server = createServer((req, res) => {
      void this.handle(req, res);
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    return (server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) =>
      server.close(() => {
        resolve();
      }),
    );
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      send(res, 405, 'method not allowed\n');
      return;
    }
    try {
      await this.handler(path, res);
    } catch (err) {
      this.logger.warn({ err, path }, `${this.what} request failed`);
      if (!res.headersSent) send(res, 500, 'internal error\n');
      else res.end();
    }
  }
}
