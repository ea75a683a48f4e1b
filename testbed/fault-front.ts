/**
 * `startFaultFront(upstream, pki)`: an HTTPS listener on 127.0.0.1 that stands in front of one of the bed's real
 * registries (the hub or the private registry are `docker-registry` processes, which cannot be told to misbehave) and
 * passes every request through, unless a rule says otherwise:
 *
 * - `status` rules answer the next `count` matching requests themselves, e.g. 429 `TOOMANYREQUESTS` with
 *   `Retry-After` and Docker Hub's `ratelimit-*` headers, as registry-1.docker.io does when the pull limit is reached;
 * - `redirect` rules answer `307` to another origin (a CDN, as Docker Hub and ACR do for content), e.g. a second front;
 * - `hang` rules never answer, like a registry that stalls.
 *
 * Each front keeps its own request log (headers included): the witness for what reached this host. A front that is
 * given `authorization` adds that header upstream itself (a CDN holds its own credentials; the client's must not
 * follow it there). Test-only code.
 */
import { createServer, request as httpsRequest, type Server } from 'node:https';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FrontRequest {
  method: string;
  /** Path and query as received. */
  url: string;
  /** Lower-case names. */
  headers: Record<string, string>;
  /** The answer's status (0 while in flight). */
  status: number;
  time: number;
}

export interface FrontRule {
  /** Which requests it applies to (default: all). */
  method?: string;
  path?: RegExp;
  /** A further condition on the request, e.g. that it carries credentials. */
  when?: (req: FrontRequest) => boolean;
  /** How many matching requests it answers (default: all while installed). */
  count?: number;
  /** Answer with this status and body... */
  status?: number;
  body?: unknown;
  headers?: Record<string, string>;
  /** ...or redirect (307) to this origin, same path and query... */
  redirectTo?: string;
  /** ...or never answer (the connection stays open until the front closes). */
  hang?: boolean;
}

export interface FaultFront {
  /** `127.0.0.1:PORT`: what a user writes as the registry host. */
  host: string;
  url: string;
  readonly log: FrontRequest[];
  /** Adds a rule (rules are tried in order; a rule whose count is used up is dropped). */
  add(rule: FrontRule): void;
  /** Removes every rule and clears the log. */
  reset(): void;
  close(): Promise<void>;
}

export interface FrontOptions {
  /** `https://127.0.0.1:PORT` of the registry behind this front. */
  upstream: string;
  tls: { cert: string; key: string; ca: string };
  /** An Authorization header value this front sends upstream itself (replacing the client's). */
  authorization?: (req: FrontRequest) => string | undefined;
}

export async function startFaultFront(options: FrontOptions): Promise<FaultFront> {
  const rules: (FrontRule & { left: number })[] = [];
  const log: FrontRequest[] = [];
  const upstream = new URL(options.upstream);

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const entry: FrontRequest = {
      method: req.method ?? 'GET',
      url: req.url ?? '/',
      headers: flatten(req.headers),
      status: 0,
      time: Date.now(),
    };
    log.push(entry);
    res.once('finish', () => (entry.status = res.statusCode));
    const path = entry.url.split('?')[0] ?? '/';
    const index = rules.findIndex(
      (r) =>
        (r.method === undefined || r.method === entry.method) &&
        (r.path === undefined || r.path.test(path)) &&
        (r.when === undefined || r.when(entry)),
    );
    const rule = index === -1 ? undefined : rules[index];
    if (rule) {
      if (--rule.left <= 0) rules.splice(index, 1);
      req.resume();
      if (rule.hang) return;
      if (rule.redirectTo !== undefined) {
        res.writeHead(307, { location: `${rule.redirectTo}${entry.url}`, 'content-length': '0' });
        res.end();
        return;
      }
      const body = rule.body === undefined ? '' : JSON.stringify(rule.body);
      res.writeHead(rule.status ?? 500, {
        'content-type': 'application/json',
        'content-length': String(Buffer.byteLength(body)),
        ...rule.headers,
      });
      res.end(entry.method === 'HEAD' ? undefined : body);
      return;
    }
    const headers: Record<string, string> = { ...entry.headers, host: upstream.host };
    const own = options.authorization?.(entry);
    if (own !== undefined) headers['authorization'] = own;
    const forward = httpsRequest(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: entry.method,
        path: entry.url,
        headers,
        ca: options.tls.ca,
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    forward.on('error', () => res.destroy());
    req.pipe(forward);
  };

  const server: Server = createServer({ cert: options.tls.cert, key: options.tls.key }, handle);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const host = `127.0.0.1:${port}`;
  return {
    host,
    url: `https://${host}`,
    log,
    add: (rule) => rules.push({ ...rule, left: rule.count ?? Number.POSITIVE_INFINITY }),
    reset: () => {
      rules.length = 0;
      log.length = 0;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function flatten(headers: IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) out[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}
