import type { ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { HttpEndpoint, send } from '../observability/http-endpoint.js';

/** An extra GET endpoint on the probe port (e.g. /metrics). */
export type ProbeRoute = (res: ServerResponse) => Promise<void> | void;

export interface ProbeServerOptions {
  /** Why the process is not ready, or null when it is (/readyz). */
  readonly notReadyReason: () => string | null;
  readonly logger: Logger;
  readonly routes?: Readonly<Record<string, ProbeRoute>>;
}

/**
 * `/healthz` (the process answers: liveness) and `/readyz` (informers synced: readiness) for
 * the kubelet, as controller-runtime serves them. Liveness stays a ping on purpose: restarting
 * an operator that cannot reach the API server would not make the API server reachable.
 */
export class ProbeServer {
  private readonly endpoint: HttpEndpoint;

  constructor(private readonly options: ProbeServerOptions) {
    this.endpoint = new HttpEndpoint(
      (path, res) => this.handle(path, res),
      options.logger,
      'probe endpoint',
    );
  }

  /** Listens on `host:port` (port 0 picks a free one); resolves with the port bound. */
  listen(host: string, port: number): Promise<number> {
    return this.endpoint.listen(host, port);
  }

  close(): Promise<void> {
    return this.endpoint.close();
  }

  private async handle(path: string, res: ServerResponse): Promise<void> {
    if (path === '/healthz' || path === '/livez') {
      send(res, 200, 'ok\n');
      return;
    }
    if (path === '/readyz') {
      const reason = this.options.notReadyReason();
      send(res, reason === null ? 200 : 503, `${reason ?? 'ok'}\n`);
      return;
    }
    const route = this.options.routes?.[path];
    if (route) {
      await route(res);
      return;
    }
    send(res, 404, 'not found\n');
  }
}

/** `host:port`, `:port` or `port`; `off` disables the server. */
export function parseListenAddress(value: string): { host: string; port: number } | null | 'off' {
  if (value === 'off') return 'off';
  const m = /^(?:(\[[^\]]+\]|[^:]*):)?(\d{1,5})$/.exec(value);
  if (!m?.[2]) return null;
  const port = Number(m[2]);
  if (port > 65_535) return null;
  const host = (m[1] ?? '').replace(/^\[|\]$/g, '');
  return { host: host === '' ? '0.0.0.0' : host, port };
}
