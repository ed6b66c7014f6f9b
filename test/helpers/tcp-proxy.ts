/**
 * A TCP proxy on loopback between one node and PostgreSQL, to cut the node off for real: `freeze` holds every byte
 * both ways with the connections left open (the path hangs: nothing is answered, nothing reset), `blackhole` drops
 * every byte and accepts new connections without forwarding them (a silent partition: no RST, no FIN), `reset`
 * destroys the connections with an RST, `resume` forwards again.
 */
import net from 'node:net';

export type ProxyMode = 'pass' | 'freeze' | 'blackhole';

export interface TcpProxy {
  port: number;
  mode(m: ProxyMode): void;
  reset(): void;
  close(): Promise<void>;
}

export async function startProxy(targetPort: number, host = '127.0.0.1'): Promise<TcpProxy> {
  let mode: ProxyMode = 'pass';
  const pairs = new Set<{ client: net.Socket; server: net.Socket; held: Array<[net.Socket, Buffer]> }>();
  const flush = () => {
    for (const p of pairs) {
      for (const [to, chunk] of p.held.splice(0)) if (!to.destroyed) to.write(chunk);
    }
  };
  const proxy = net.createServer((client) => {
    const server = net.connect(targetPort, host);
    const pair = { client, server, held: [] as Array<[net.Socket, Buffer]> };
    pairs.add(pair);
    const relay = (to: net.Socket) => (chunk: Buffer) => {
      if (mode === 'blackhole') return;
      if (mode === 'freeze') pair.held.push([to, chunk]);
      else to.write(chunk);
    };
    client.on('data', relay(server));
    server.on('data', relay(client));
    const end = () => {
      pairs.delete(pair);
      client.destroy();
      server.destroy();
    };
    client.on('error', end);
    server.on('error', end);
    client.on('close', end);
    server.on('close', end);
  });
  await new Promise<void>((resolve) => proxy.listen(0, host, () => resolve()));
  const handle: TcpProxy = {
    port: (proxy.address() as net.AddressInfo).port,
    mode(m) {
      mode = m;
      if (m === 'pass') flush();
      if (m === 'blackhole') for (const p of pairs) p.held.length = 0;
    },
    reset() {
      for (const p of pairs) {
        p.client.resetAndDestroy();
        p.server.resetAndDestroy();
      }
      pairs.clear();
    },
    async close() {
      handle.reset();
      await new Promise<void>((resolve) => proxy.close(() => resolve()));
    },
  };
  return handle;
}
