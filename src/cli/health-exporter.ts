import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../observability/logger.js';
import { HealthMetrics, type HealthOutcome } from './health-metrics.js';

/**
 * `dbmigrate health --serve`: /metrics runs a check per scrape and serves it as gauges;
 * /healthz answers from the same check. At most one check runs at a time: scrapes that
 * arrive while one runs share its result, so a slow database never piles up sessions.
 */
export class HealthExporter {
  private readonly metrics = new HealthMetrics();
  private inFlight: Promise<HealthOutcome> | null = null;
  private server: Server | null = null;

  constructor(
    private readonly check: () => Promise<HealthOutcome>,
    private readonly logger: Logger,
  ) {}

  /** The current check, or a new one when none runs. */
  refresh(): Promise<HealthOutcome> {
    this.inFlight ??= this.check().finally(() => {
      this.inFlight = null;
    });
    return this.inFlight;
  }

  /** Listens on host:port (0 picks a free port); resolves with the port bound. */
  async listen(host: string, port: number): Promise<number> {
    const server = createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0];
      void this.route(req.method ?? 'GET', path ?? '/', res).catch((err: unknown) => {
        this.logger.warn({ err, path }, 'health exporter request failed');
        if (!res.headersSent) send(res, 500, 'text/plain; charset=utf-8', 'internal error\n');
        else res.end();
      });
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
    await this.inFlight?.catch(() => undefined);
  }

  private async route(method: string, path: string, res: ServerResponse): Promise<void> {
    if (method !== 'GET' && method !== 'HEAD') {
      send(res, 405, 'text/plain; charset=utf-8', 'method not allowed\n');
      return;
    }
    if (path === '/metrics') {
      const outcome = await this.refresh();
      // One update at a time too: every concurrent scrape got the same outcome.
      this.metrics.update(outcome);
      send(res, 200, this.metrics.registry.contentType, await this.metrics.registry.metrics());
      return;
    }
    if (path === '/healthz') {
      const outcome = await this.refresh();
      const status = outcome.kind === 'checked' ? outcome.evaluation.status : 'unreachable';
      const healthy = status === 'ok' || status === 'warning';
      send(res, healthy ? 200 : 503, 'text/plain; charset=utf-8', `${status}\n`);
      return;
    }
    send(res, 404, 'text/plain; charset=utf-8', 'not found: try /metrics or /healthz\n');
  }
}

function send(res: ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { 'content-type': type });
  res.end(body);
}
