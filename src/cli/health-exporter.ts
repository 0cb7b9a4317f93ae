import type { ServerResponse } from 'node:http';
import { HttpEndpoint, send } from '../observability/http-endpoint.js';
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
  private readonly endpoint: HttpEndpoint;

  constructor(
    private readonly check: () => Promise<HealthOutcome>,
    logger: Logger,
  ) {
    this.endpoint = new HttpEndpoint(
      (path, res) => this.route(path, res),
      logger,
      'health exporter',
    );
  }

  /** The current check, or a new one when none runs. */
  refresh(): Promise<HealthOutcome> {
    this.inFlight ??= this.check().finally(() => {
      this.inFlight = null;
    });
    return this.inFlight;
  }

  /** Listens on host:port (0 picks a free port); resolves with the port bound. */
  listen(host: string, port: number): Promise<number> {
    return this.endpoint.listen(host, port);
  }

  async close(): Promise<void> {
    await this.endpoint.close();
    await this.inFlight?.catch(() => undefined);
  }

  private async route(path: string, res: ServerResponse): Promise<void> {
    if (path === '/metrics') {
      const outcome = await this.refresh();
      // One update at a time too: every concurrent scrape got the same outcome.
      this.metrics.update(outcome);
      send(res, 200, await this.metrics.registry.metrics(), this.metrics.registry.contentType);
      return;
    }
    if (path === '/healthz') {
      const outcome = await this.refresh();
      const status = outcome.kind === 'checked' ? outcome.evaluation.status : 'unreachable';
      const healthy = status === 'ok' || status === 'warning';
      send(res, healthy ? 200 : 503, `${status}\n`);
      return;
    }
    send(res, 404, 'not found: try /metrics or /healthz\n');
  }
}
