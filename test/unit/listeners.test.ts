/** The daemon's ports by their keys: the start-up check and the keyed error of a listen that fails, on real sockets. */
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { checkListeners, ListenError, listenersOf, listening } from '../../src/ops/listeners.js';

const servers: net.Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

async function holdPort(): Promise<number> {
  const server = net.createServer();
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return (server.address() as net.AddressInfo).port;
}

describe('listeners', () => {
  it('lists every port the config opens; metrics and web at port 0 are off', () => {
    const config = parseConfig({
      smtp: { port: 2525, tls: { key: '/k', cert: '/c', implicit_port: 4650 } },
      simulator: { enabled: true, port: 2775 },
      metrics: { port: 0 },
      web: { port: 8025 },
    });
    expect(listenersOf(config).map((l) => `${l.key}=${l.host}:${l.port}`)).toEqual([
      'smtp.port=127.0.0.1:2525',
      'smtp.tls.implicit_port=127.0.0.1:4650',
      'simulator.port=127.0.0.1:2775',
      'web.port=127.0.0.1:8025',
    ]);
  });

  it('checkListeners names the key of a port in use, and leaves free ports free', async () => {
    const busy = await holdPort();
    const config = parseConfig({ smtp: { port: 0 }, metrics: { port: 0 }, web: { port: busy } });
    const err = await checkListeners(config).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ListenError);
    expect((err as ListenError).message).toBe(
      `web.port: cannot listen on 127.0.0.1:${busy}: the port is in use by another program (EADDRINUSE)`,
    );
    await expect(
      checkListeners(parseConfig({ smtp: { port: 0 }, metrics: { port: 0 }, web: { port: 0 } })),
    ).resolves.toBeUndefined();
  });

  it('a listen that fails after the check is named by the key whose port the error carries', async () => {
    const busy = await holdPort();
    const keys = [
      { key: 'smtp.port', host: '127.0.0.1', port: 0 },
      { key: 'smtp.tls.implicit_port', host: '127.0.0.1', port: busy },
    ];
    const late = net.createServer();
    const err = await listening(
      keys,
      () =>
        new Promise<void>((resolve, reject) => {
          late.once('error', reject);
          late.listen(busy, '127.0.0.1', resolve);
        }),
    ).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(
      /^smtp\.tls\.implicit_port: cannot listen on 127\.0\.0\.1:\d+: .*EADDRINUSE/,
    );
    // Anything but a listen error passes unchanged.
    const other = new Error('boom');
    await expect(listening(keys, () => Promise.reject(other))).rejects.toBe(other);
  });
});
