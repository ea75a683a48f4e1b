/**
 * Hostile servers for the network-security suite (issue 13), all on 127.0.0.1 with the bed's PKI. Test-only code.
 *
 * - `startHostileFront(options)`: one port that speaks TLS **and** plain HTTP (the first byte tells which), so
 *   `https://127.0.0.1:P` and `http://127.0.0.1:P` are the same host as a URL's `host` compares them, as
 *   `https://registry.example` and `http://registry.example` are. By default it passes every request to `upstream` (a
 *   registry, the emulator's ARM) and gives the answer back, with the upstream's origin in `Location` headers and
 *   `nextLink` bodies replaced by its own (what a reverse proxy does), so the action can be pointed at it. Tests add
 *   `handlers` that play the attacker: answer themselves (redirect to plain HTTP, a lying digest, a 1 GiB manifest, a
 *   dribbled body, a rewritten `Location`), or never answer. Each request is logged with its scheme and headers: the
 *   witness of what reached this host, and how.
 * - `startHostileProxy(mode)`: an HTTP proxy (CONNECT tunnels) that passes, answers 403 or 407, or drops the
 *   connection; it logs every CONNECT target.
 */
import { createServer as createHttpServer, request as httpRequest } from 'node:http';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse, Server as HttpServer } from 'node:http';
import { createServer as createHttpsServer, request as httpsRequest } from 'node:https';
import { Duplex } from 'node:stream';
import {
  connect,
  createServer as createNetServer,
  type AddressInfo,
  type Server,
  type Socket,
} from 'node:net';

export interface HostileRequest {
  scheme: 'http' | 'https';
  method: string;
  /** Path and query as received. */
  url: string;
  /** Lower-case names. */
  headers: Record<string, string>;
  status: number;
  time: number;
}

/** Answers a request itself (returns true), or leaves it to the next handler and finally the upstream. */
export type HostileHandler = (req: HostileRequest, res: ServerResponse, raw: IncomingMessage) => boolean;

/** Changes the upstream's answer (headers, body) before the front sends it on. */
export type HostileRewrite = (
  req: HostileRequest,
  answer: { status: number; headers: Record<string, string | string[] | undefined>; body: Buffer },
) => void;

export interface HostileFront {
  /** `127.0.0.1:PORT` */
  host: string;
  /** `https://127.0.0.1:PORT` */
  url: string;
  /** `http://127.0.0.1:PORT`: the same host, without TLS. */
  plainUrl: string;
  readonly log: HostileRequest[];
  handle(handler: HostileHandler): void;
  rewrite(rewrite: HostileRewrite): void;
  reset(): void;
  close(): Promise<void>;
}

export interface HostileFrontOptions {
  /** `https://...` or `http://...` origin behind the front; none: every request must be handled (else 502). */
  upstream?: string;
  /**
   * The Authorization this front sends upstream instead of the client's (a gateway with its own credentials: the
   * emulator's ARM accepts only tokens for its own audience). The log keeps what the client sent.
   */
  authorization?: () => Promise<string>;
  tls: { cert: string; key: string; ca: string };
}

export async function startHostileFront(options: HostileFrontOptions): Promise<HostileFront> {
  const log: HostileRequest[] = [];
  const handlers: HostileHandler[] = [];
  const rewrites: HostileRewrite[] = [];
  const upstream = options.upstream ? new URL(options.upstream) : undefined;
  let origin = '';

  const onRequest =
    (scheme: 'http' | 'https') =>
    (req: IncomingMessage, res: ServerResponse): void => {
      const entry: HostileRequest = {
        scheme,
        method: req.method ?? 'GET',
        url: req.url ?? '/',
        headers: flatten(req.headers),
        status: 0,
        time: Date.now(),
      };
      log.push(entry);
      res.once('finish', () => (entry.status = res.statusCode));
      for (const handler of handlers) if (handler(entry, res, req)) return;
      if (!upstream) {
        res.writeHead(502).end();
        return;
      }
      void forwardUpstream(upstream, entry, req, res);
    };

  const forwardUpstream = async (
    upstream: URL,
    entry: HostileRequest,
    req: IncomingMessage,
    res: ServerResponse,
  ): Promise<void> => {
    const headers: Record<string, string> = {
      ...entry.headers,
      host: upstream.host,
      'accept-encoding': 'identity',
    };
    if (options.authorization && headers['authorization']) {
      headers['authorization'] = await options.authorization().catch(() => headers['authorization']!);
    }
    {
      const send = upstream.protocol === 'https:' ? httpsRequest : httpRequest;
      const forward = send(
        {
          host: upstream.hostname,
          port: upstream.port,
          method: entry.method,
          path: entry.url,
          headers,
          ca: options.tls.ca,
        },
        (answer) => {
          const chunks: Buffer[] = [];
          answer.on('data', (c: Buffer) => chunks.push(c));
          answer.on('end', () => {
            // Answers name the upstream's origin (Location, nextLink): a reverse proxy names its own instead.
            const headers = { ...answer.headers };
            for (const name of ['location', 'azure-asyncoperation']) {
              const value = headers[name];
              if (typeof value === 'string') headers[name] = value.split(upstream.origin).join(origin);
            }
            let body = Buffer.concat(chunks);
            if (/json/.test(String(headers['content-type'] ?? ''))) {
              body = Buffer.from(body.toString('utf8').split(upstream.origin).join(origin));
            }
            const out = { status: answer.statusCode ?? 502, headers, body };
            for (const rewrite of rewrites) rewrite(entry, out);
            delete out.headers['transfer-encoding'];
            if (entry.method !== 'HEAD') out.headers['content-length'] = String(out.body.length);
            res.writeHead(out.status, out.headers);
            res.end(entry.method === 'HEAD' ? undefined : out.body);
          });
        },
      );
      forward.on('error', () => res.destroy());
      req.pipe(forward);
    }
  };

  const https = createHttpsServer({ cert: options.tls.cert, key: options.tls.key }, onRequest('https'));
  const http = createHttpServer(onRequest('http'));
  const sockets = new Set<Socket>();
  // One port for both: a TLS ClientHello starts with 0x16.
  const server: Server = createNetServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.once('data', (first: Buffer) => {
      socket.pause();
      if (first[0] === 0x16) {
        // TLS reads the socket's handle directly, past any unshifted bytes: give it a stream that replays them.
        https.emit('connection', replay(socket, first));
      } else {
        socket.unshift(first);
        http.emit('connection', socket);
        socket.resume();
      }
    });
    socket.on('error', () => undefined);
  });
  await listen(server);
  const { port } = server.address() as AddressInfo;
  const host = `127.0.0.1:${port}`;
  origin = `https://${host}`;
  return {
    host,
    url: origin,
    plainUrl: `http://${host}`,
    log,
    handle: (handler) => handlers.push(handler),
    rewrite: (rewrite) => rewrites.push(rewrite),
    reset: () => {
      handlers.length = 0;
      rewrites.length = 0;
      log.length = 0;
    },
    close: () => closeAll(server, sockets, [https, http]),
  };
}

export type ProxyMode = 'pass' | 403 | 407 | 'drop';

export interface HostileProxy {
  /** `http://127.0.0.1:PORT` */
  url: string;
  /** `127.0.0.1:PORT` (no scheme, as some users write HTTPS_PROXY). */
  host: string;
  mode: ProxyMode;
  /** CONNECT targets (`host:port`) in the order they came, whatever the answer. */
  readonly connects: string[];
  close(): Promise<void>;
}

export async function startHostileProxy(mode: ProxyMode): Promise<HostileProxy> {
  const connects: string[] = [];
  const sockets = new Set<Socket>();
  const server: HttpServer = createHttpServer((_req, res) => res.writeHead(405).end());
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  const proxy: HostileProxy = { url: '', host: '', mode, connects, close: async () => undefined };
  server.on('connect', (req: IncomingMessage, client: Socket, head: Buffer) => {
    connects.push(req.url ?? '');
    client.on('error', () => undefined);
    if (proxy.mode === 'drop') {
      client.destroy();
      return;
    }
    if (proxy.mode === 403 || proxy.mode === 407) {
      const text = proxy.mode === 403 ? 'Forbidden' : 'Proxy Authentication Required';
      client.end(
        `HTTP/1.1 ${proxy.mode} ${text}\r\n` +
          (proxy.mode === 407 ? 'Proxy-Authenticate: Basic realm="corp"\r\n' : '') +
          'Content-Length: 0\r\nConnection: close\r\n\r\n',
      );
      return;
    }
    const [host, port] = (req.url ?? '').split(':');
    tunnel(client, head, host ?? '127.0.0.1', Number(port), sockets);
  });
  await listen(server);
  const { port } = server.address() as AddressInfo;
  proxy.host = `127.0.0.1:${port}`;
  proxy.url = `http://${proxy.host}`;
  proxy.close = () => closeAll(server, sockets, []);
  return proxy;
}

/** Answers a CONNECT with 200 and pipes `client` to `host:port` (`head`: bytes the client sent after its request). */
export function tunnel(client: Socket, head: Buffer, host: string, port: number, sockets: Set<Socket>): void {
  const upstream = connect(port, host, () => {
    client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
    if (head.length) upstream.write(head);
    upstream.pipe(client);
    client.pipe(upstream);
  });
  upstream.on('error', () => client.destroy());
  sockets.add(upstream);
  upstream.once('close', () => sockets.delete(upstream));
}

/** A duplex over `socket` that first yields `first` (already read from it), then whatever the socket brings. */
function replay(socket: Socket, first: Buffer): Duplex {
  const duplex = new Duplex({
    read: () => {
      socket.resume();
    },
    write: (chunk: Buffer, _encoding, callback) => {
      socket.write(chunk, callback);
    },
    final: (callback) => {
      socket.end();
      callback();
    },
    destroy: (err, callback) => {
      socket.destroy(err ?? undefined);
      callback(err);
    },
  });
  duplex.push(first);
  socket.on('data', (chunk: Buffer) => {
    if (!duplex.push(chunk)) socket.pause();
  });
  socket.on('end', () => duplex.push(null));
  socket.on('close', () => duplex.destroy());
  return duplex;
}

function listen(server: Server | HttpServer): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
}

function closeAll(server: Server | HttpServer, sockets: Set<Socket>, inner: HttpServer[]): Promise<void> {
  for (const s of sockets) s.destroy();
  for (const s of inner) s.close();
  return new Promise<void>((resolve) => server.close(() => resolve()));
}

function flatten(headers: IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) out[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}
