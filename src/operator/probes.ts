import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';

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
  private server: Server | null = null;

  constructor(private readonly options: ProbeServerOptions) {}

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
    } catch (err) {
      this.options.logger.warn({ err, path }, 'probe endpoint failed');
      if (!res.headersSent) send(res, 500, 'internal error\n');
      else res.end();
    }
  }
}

function send(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' });
  res.end(body);
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
