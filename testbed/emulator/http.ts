/**
 * The emulator's HTTP plumbing: one HTTPS listener per service on 127.0.0.1, a small request context with the body
 * read up front, the request log (every request to every service but the Control API), the network fault switches
 * (throttle, one-off 5xx, dropped connection) and reply helpers.
 */
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { LoggedRequest } from '../types.js';
import type { ControlState, FaultService } from './control.js';

export interface Ctx {
  req: IncomingMessage;
  res: ServerResponse;
  method: string;
  /** Path and query as received. */
  rawUrl: string;
  url: URL;
  /** Decoded path without the query. */
  path: string;
  query: URLSearchParams;
  /** Lower-case names; repeated headers joined with ", ". */
  headers: Record<string, string>;
  body: Buffer;
  /** The log entry of this request (undefined for the Control API). */
  entry: LoggedRequest | undefined;
}

export type Handler = (ctx: Ctx) => Promise<void>;

export interface ListenerOptions {
  port: number;
  tls: { cert: string; key: string };
  /** The service name this request is logged under; undefined = not logged (Control API). */
  service: (req: IncomingMessage) => string | undefined;
  state: ControlState;
  handler: Handler;
}

/** Bodies above this size are not kept in the request log (only their length). */
const MAX_LOGGED_BODY = 256 * 1024;

/** Starts an HTTPS listener on 127.0.0.1:port; resolves once it listens. */
export function listen(options: ListenerOptions): Promise<Server> {
  const server = createServer({ cert: options.tls.cert, key: options.tls.key }, (req, res) => {
    void dispatch(options, req, res);
  });
  server.keepAliveTimeout = 5_000;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, '127.0.0.1', () => {
      server.removeListener('error', reject);
      resolve(server);
    });
  });
}

async function dispatch(options: ListenerOptions, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const started = Date.now();
  const service = options.service(req);
  let body: Buffer;
  try {
    body = await readBody(req);
  } catch {
    req.socket.destroy();
    return;
  }
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) headers[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  }
  const rawUrl = req.url ?? '/';
  const url = new URL(rawUrl, `https://${headers['host'] ?? '127.0.0.1'}`);
  let entry: LoggedRequest | undefined;
  if (service !== undefined) {
    entry = {
      service,
      method: req.method ?? 'GET',
      url: rawUrl,
      headers,
      body: loggedBody(body, headers['content-type']),
      status: 0,
      time: started,
    };
    options.state.record(entry);
    const e = entry;
    res.once('finish', () => {
      e.status = res.statusCode;
    });
  }
  let path: string;
  try {
    path = decodeURIComponent(url.pathname);
  } catch {
    path = url.pathname;
  }
  const ctx: Ctx = {
    req,
    res,
    method: (req.method ?? 'GET').toUpperCase(),
    rawUrl,
    url,
    path,
    query: url.searchParams,
    headers,
    body,
    entry,
  };
  try {
    await options.handler(ctx);
    if (!res.headersSent && !res.destroyed) sendJson(ctx, 500, { error: 'the emulator sent no answer' });
  } catch (error) {
    process.stderr.write(
      `emulator: ${req.method} ${rawUrl} failed: ${(error as Error).stack ?? String(error)}\n`,
    );
    if (!res.headersSent && !res.destroyed) {
      sendJson(ctx, 500, {
        error: { code: 'InternalServerError', message: `emulator bug: ${(error as Error).message}` },
      });
    } else if (!res.writableEnded) {
      res.destroy();
    }
  }
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function loggedBody(body: Buffer, contentType: string | undefined): string {
  if (body.length === 0) return '';
  const textual =
    !contentType ||
    /json|text|x-www-form-urlencoded|xml/i.test(contentType) ||
    // Manifests are JSON under their own media types.
    /vnd\.(oci|docker)\.[^;]*(manifest|index)/i.test(contentType);
  if (!textual) return `[${body.length} bytes ${contentType}]`;
  if (body.length > MAX_LOGGED_BODY)
    return `${body.subarray(0, MAX_LOGGED_BODY).toString('utf8')}[... ${body.length} bytes]`;
  return body.toString('utf8');
}

// ---------------------------------------------------------------------------------------------------------------
// Replies

export function sendJson(
  ctx: Ctx,
  status: number,
  value: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(value);
  send(ctx, status, text, { 'content-type': 'application/json; charset=utf-8', ...headers });
}

export function send(
  ctx: Ctx,
  status: number,
  body: string | Buffer = '',
  headers: Record<string, string> = {},
): void {
  if (ctx.res.headersSent || ctx.res.destroyed) return;
  const buffer = typeof body === 'string' ? Buffer.from(body) : body;
  // The request ids of the answer (ARM's), so a test can match them with what the client logged.
  const ids: Record<string, string> = {};
  for (const name of ['x-ms-request-id', 'x-ms-correlation-request-id', 'x-ms-client-request-id']) {
    const value = headers[name];
    if (value !== undefined) ids[name] = value;
  }
  if (ctx.entry && Object.keys(ids).length) ctx.entry.responseIds = ids;
  ctx.res.writeHead(status, { ...headers, 'content-length': String(buffer.length) });
  ctx.res.end(ctx.method === 'HEAD' ? undefined : buffer);
}

/** Closes the connection without an answer (a dropped connection as a client sees it). */
export function drop(ctx: Ctx): void {
  const socket: Socket = ctx.req.socket;
  socket.destroy();
}

// ---------------------------------------------------------------------------------------------------------------
// Request parsing helpers

export function form(ctx: Ctx): URLSearchParams {
  return new URLSearchParams(ctx.body.toString('utf8'));
}

export function bearer(ctx: Ctx): string | undefined {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(ctx.headers['authorization'] ?? '');
  return m?.[1];
}

export function basic(ctx: Ctx): { username: string; password: string } | undefined {
  const m = /^Basic\s+(\S+)\s*$/i.exec(ctx.headers['authorization'] ?? '');
  if (!m?.[1]) return undefined;
  const text = Buffer.from(m[1], 'base64').toString('utf8');
  const colon = text.indexOf(':');
  if (colon < 0) return undefined;
  return { username: text.slice(0, colon), password: text.slice(colon + 1) };
}

// ---------------------------------------------------------------------------------------------------------------
// Network faults

/** `Retry-After` for a throttle answer: seconds, or an HTTP date at least that far ahead. */
export function retryAfterHeader(value: number | 'http-date' | undefined, defaultSeconds = 1): string {
  if (value === 'http-date') return new Date(Date.now() + (defaultSeconds + 1) * 1000).toUTCString();
  return String(Math.round(value ?? defaultSeconds));
}

export interface FaultReplies {
  throttled: (retryAfter: string) => { body: unknown; headers?: Record<string, string> };
  serverError: (status: number) => unknown;
}

/**
 * Applies an armed dropped-connection, throttle or 5xx fault for `service` (in that order); true when the request
 * was answered (or dropped) by the fault.
 */
export function applyNetworkFaults(
  ctx: Ctx,
  state: ControlState,
  services: { drop?: FaultService; throttle?: FaultService; serverError?: FaultService },
  replies: FaultReplies,
): boolean {
  if (services.drop && state.take('dropConnections', services.drop)) {
    drop(ctx);
    return true;
  }
  const throttle = services.throttle ? state.take('throttle', services.throttle) : undefined;
  if (throttle) {
    const retryAfter = retryAfterHeader(throttle.retryAfter);
    const reply = replies.throttled(retryAfter);
    sendJson(ctx, 429, reply.body, { 'retry-after': retryAfter, ...reply.headers });
    return true;
  }
  const serverError = services.serverError ? state.take('serverError', services.serverError) : undefined;
  if (serverError) {
    sendJson(ctx, serverError.status, replies.serverError(serverError.status));
    return true;
  }
  return false;
}
