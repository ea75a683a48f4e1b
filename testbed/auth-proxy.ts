/**
 * A corporate proxy for the Azure Pipelines proxy tests: an HTTP CONNECT proxy on 127.0.0.1 that wants Basic
 * credentials (`Proxy-Authorization`), as a self-hosted agent's proxy configured with --proxyusername/--proxypassword
 * does. A CONNECT without the right credentials gets 407. Every CONNECT is logged with its target and whether its
 * credentials were right; only loopback targets are tunnelled (tests never reach further).
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { tunnel } from './hostile.js';

export interface ProxyConnect {
  /** `host:port` as the client asked. */
  target: string;
  authorized: boolean;
}

export interface AuthProxy {
  /** `http://127.0.0.1:PORT` (no credentials). */
  url: string;
  readonly connects: ProxyConnect[];
  /** Distinct targets of authorized tunnels. */
  targets(): string[];
  close(): Promise<void>;
}

export async function startAuthProxy(credentials: {
  username: string;
  password: string;
}): Promise<AuthProxy> {
  const expected = `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}`;
  const connects: ProxyConnect[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((_req, res) => res.writeHead(405).end());
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  server.on('connect', (req: IncomingMessage, client: Socket, head: Buffer) => {
    const target = req.url ?? '';
    const authorized = req.headers['proxy-authorization'] === expected;
    connects.push({ target, authorized });
    client.on('error', () => undefined);
    const [host, port] = target.split(':');
    if (!authorized || host !== '127.0.0.1' || !Number(port)) {
      client.end(
        authorized
          ? 'HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n'
          : 'HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="corp"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n',
      );
      return;
    }
    tunnel(client, head, host, Number(port), sockets);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    connects,
    targets: () => [...new Set(connects.filter((c) => c.authorized).map((c) => c.target))].sort(),
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
