import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/observability/logger.js';
import { parseListenAddress, ProbeServer } from '../../src/operator/probes.js';

describe('the probe server', () => {
  let server: ProbeServer | null = null;
  afterEach(async () => {
    await server?.close();
  });

  it('answers /healthz always and /readyz only once ready, with the reason when not', async () => {
    let reason: string | null = 'informers have not listed yet';
    server = new ProbeServer({ notReadyReason: () => reason, logger: silentLogger() });
    const port = await server.listen('127.0.0.1', 0);
    const get = async (path: string, method = 'GET') => {
      const res = await fetch(`http://127.0.0.1:${String(port)}${path}`, { method });
      return [res.status, await res.text()] as const;
    };
    expect(await get('/healthz')).toEqual([200, 'ok\n']);
    expect(await get('/readyz')).toEqual([503, 'informers have not listed yet\n']);
    reason = null;
    expect(await get('/readyz')).toEqual([200, 'ok\n']);
    reason = 'shutting down';
    expect(await get('/readyz?verbose')).toEqual([503, 'shutting down\n']);
    expect((await get('/nope'))[0]).toBe(404);
    expect((await get('/healthz', 'POST'))[0]).toBe(405);
  });
});

describe('--http-addr', () => {
  it('takes host:port, :port, a bare port, [ipv6]:port and off', () => {
    expect(parseListenAddress(':8080')).toEqual({ host: '0.0.0.0', port: 8080 });
    expect(parseListenAddress('127.0.0.1:9000')).toEqual({ host: '127.0.0.1', port: 9000 });
    expect(parseListenAddress('8081')).toEqual({ host: '0.0.0.0', port: 8081 });
    expect(parseListenAddress('[::1]:8080')).toEqual({ host: '::1', port: 8080 });
    expect(parseListenAddress('off')).toBe('off');
  });

  it('refuses what is not an address', () => {
    for (const bad of ['', 'http://x:80', ':99999', 'host:', ':port']) {
      expect(parseListenAddress(bad), bad).toBeNull();
    }
  });
});
