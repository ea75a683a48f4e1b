/**
 * HTTP for every remote call of the engine: a small transport port (undici in production, fakes in unit tests)
 * and a client on top that retries what is worth retrying, honours Retry-After, follows redirects without carrying
 * credentials to another host, and never logs headers or bodies that may hold secrets.
 */
import { EnvHttpProxyAgent, request as undiciRequest, type Dispatcher } from 'undici';
import { RemoteError } from './errors.js';
import type { Clock, Logger } from './ports.js';
import { connectFailure } from './reachability.js';

export interface HttpRequest {
  method: 'GET' | 'HEAD' | 'POST' | 'PUT' | 'DELETE';
  url: string;
  headers?: Record<string, string>;
  body?: string;
}

export interface HttpResponse {
  status: number;
  /** Lower-case header names; repeated headers joined with ", ". */
  headers: Record<string, string>;
  body: Buffer;
}

/** Sends one request, no retries, no redirects. Throws only for transport failures (reset, refused, timeout). */
export type Transport = (req: HttpRequest, signal?: AbortSignal) => Promise<HttpResponse>;

export interface TransportOptions {
  userAgent: string;
  /** Per-request time limit for headers and body. */
  requestTimeoutMs?: number;
  dispatcher?: Dispatcher;
}

/**
 * The production transport: undici with keep-alive pools per origin, HTTP(S)_PROXY / NO_PROXY honoured through its
 * env proxy agent, and extra CAs from NODE_EXTRA_CA_CERTS (Node applies those to every TLS connection).
 */
export function createUndiciTransport(options: TransportOptions): {
  transport: Transport;
  close: () => Promise<void>;
} {
  const timeout = options.requestTimeoutMs ?? 60_000;
  const dispatcher =
    options.dispatcher ??
    new EnvHttpProxyAgent({
      keepAliveTimeout: 10_000,
      headersTimeout: timeout,
      bodyTimeout: timeout,
      // TCP + TLS within 5 s, or the host counts as unreachable from here (reachability.ts).
      connect: { timeout: CONNECT_TIMEOUT_MS },
    });
  const transport: Transport = async (req, signal) => {
    const res = await undiciRequest(req.url, {
      method: req.method,
      headers: { 'user-agent': options.userAgent, ...req.headers },
      body: req.body ?? null,
      dispatcher,
      signal: signal ?? null,
    });
    const body = req.method === 'HEAD' ? Buffer.alloc(0) : Buffer.from(await res.body.arrayBuffer());
    if (req.method === 'HEAD') await res.body.dump();
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(res.headers)) {
      if (value !== undefined) headers[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
    }
    return { status: res.statusCode, headers, body };
  };
  return {
    transport,
    close: async () => {
      if (!options.dispatcher) await dispatcher.close().catch(() => undefined);
    },
  };
}

/** Time allowed to open a connection (TCP and TLS). */
export const CONNECT_TIMEOUT_MS = 5_000;

export interface RetryPolicy {
  /** Attempts in all, the first included. */
  maxAttempts: number;
  /** Give up retrying once this much time has passed since the first attempt (a longer Retry-After is not waited). */
  maxElapsedMs: number;
  /** Backoff without Retry-After: base * 2^(retry-1), jittered to half..full, at most maxDelayMs. */
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = {
  maxAttempts: 6,
  maxElapsedMs: 120_000,
  baseDelayMs: 500,
  maxDelayMs: 30_000,
};

const RETRYABLE_STATUS = new Set([408, 429, 500, 502, 503, 504]);
/** Transport failures no retry can cure: the client itself was closed (the run is over). */
const CLOSED_CODES = new Set(['UND_ERR_CLOSED', 'UND_ERR_DESTROYED']);

export interface SendOptions {
  /** Names the service in errors and logs: 'Azure Resource Manager', 'registry 127.0.0.1:5000', ... */
  service: string;
  retry?: RetryPolicy | false;
  signal?: AbortSignal;
  /** Follow redirects for GET/HEAD (default true). Authorization is dropped when the host changes. */
  followRedirects?: boolean;
  /**
   * A Retry-After longer than the policy's maxElapsedMs is still waited (and said in the log) when it ends before this
   * time (epoch ms): the caller's own deadline, e.g. the image's timeout.
   */
  waitUntil?: number;
}

/** Retry-After as milliseconds: delta-seconds or an HTTP date. Undefined when absent or unreadable. */
export function parseRetryAfter(value: string | undefined, now: number): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}

export class HttpClient {
  constructor(
    private readonly transport: Transport,
    private readonly clock: Clock,
    private readonly logger: Logger,
  ) {}

  /**
   * Sends a request, retrying transport failures, 408, 429 and 5xx with jittered exponential backoff that honours
   * Retry-After, within the policy's bounds. Returns the final response whatever its status (callers decide what an
   * error status means); throws RemoteError when the service could not be reached at all.
   */
  async send(req: HttpRequest, options: SendOptions): Promise<HttpResponse> {
    const policy =
      options.retry === false ? { ...DEFAULT_RETRY, maxAttempts: 1 } : (options.retry ?? DEFAULT_RETRY);
    const started = this.clock.now();
    for (let attempt = 1; ; attempt++) {
      let response: HttpResponse | undefined;
      let failure: unknown;
      try {
        response = await this.sendFollowingRedirects(req, options);
      } catch (err) {
        if (options.signal?.aborted) throw err;
        failure = err;
      }
      const retryable =
        (failure !== undefined && !CLOSED_CODES.has(String((failure as { code?: unknown }).code))) ||
        (response !== undefined && RETRYABLE_STATUS.has(response.status));
      const elapsed = this.clock.now() - started;
      // A host that cannot be connected to fails fast: a name that does not resolve and a connection attempt that
      // timed out are not retried, a refused connection once (reachability.ts).
      const connect = failure !== undefined ? connectFailure(failure) : undefined;
      const attempts =
        connect === 'dns' || connect === 'timeout'
          ? 1
          : connect
            ? Math.min(2, policy.maxAttempts)
            : policy.maxAttempts;
      if (!retryable || attempt >= attempts) {
        if (response) return response;
        throw unreachable(req, options, failure);
      }
      // The service's Retry-After is an instruction: wait exactly that long (never less, so the retry is not refused
      // again; never capped, which would mean retrying early). Without one, jittered exponential backoff.
      const backoff = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
      const jittered = backoff / 2 + Math.random() * (backoff / 2);
      const retryAfter = parseRetryAfter(response?.headers['retry-after'], this.clock.now());
      const delay = retryAfter ?? jittered;
      const fits = options.waitUntil !== undefined && this.clock.now() + delay <= options.waitUntil;
      if (elapsed + delay > policy.maxElapsedMs && fits) {
        this.logger.info(
          `${options.service} asked to wait ${Math.round(delay / 1000)} s (HTTP ${response?.status ?? '-'}, Retry-After); waiting, since that ends within the timeout.`,
        );
      } else if (elapsed + delay > policy.maxElapsedMs) {
        // Waiting longer than the policy allows: give the answer back now rather than sit out the wait.
        this.logger.debug(
          `${options.service}: ${req.method} ${describeUrl(req.url)} got ${response ? `HTTP ${response.status}` : errorText(failure)}; not retrying: a wait of ${Math.round(delay / 1000)} s would exceed ${Math.round(policy.maxElapsedMs / 1000)} s`,
        );
        if (response) return response;
        throw unreachable(req, options, failure);
      }
      const why = response ? `HTTP ${response.status}` : errorText(failure);
      this.logger.debug(
        `${options.service}: ${req.method} ${describeUrl(req.url)} got ${why}; retry ${attempt}/${policy.maxAttempts - 1} in ${Math.round(delay)} ms`,
      );
      await this.clock.sleep(delay, options.signal);
    }
  }

  private async sendFollowingRedirects(req: HttpRequest, options: SendOptions): Promise<HttpResponse> {
    let current = req;
    for (let hop = 0; ; hop++) {
      const res = await this.transport(current, options.signal);
      const redirect =
        (options.followRedirects ?? true) &&
        (current.method === 'GET' || current.method === 'HEAD') &&
        [301, 302, 303, 307, 308].includes(res.status) &&
        res.headers['location'];
      if (!redirect || hop >= 5) return res;
      const next = new URL(res.headers['location']!, current.url);
      const headers = { ...current.headers };
      if (next.host !== new URL(current.url).host) {
        // Credentials belong to the host they were issued for, never to where it redirects.
        for (const name of Object.keys(headers))
          if (name.toLowerCase() === 'authorization') delete headers[name];
      }
      current = { ...current, url: next.toString(), headers };
    }
  }
}

function unreachable(req: HttpRequest, options: SendOptions, failure: unknown): RemoteError {
  return new RemoteError({
    service: options.service,
    message: `Could not reach ${options.service} (${describeUrl(req.url)}): ${errorText(failure)}`,
    hint: 'Check that the runner can reach this host (proxy settings HTTPS_PROXY/NO_PROXY, firewall, DNS).',
    retryable: true,
    cause: failure,
  });
}

/** A URL without its query string: queries may carry tokens (SAS, signed redirects). */
export function describeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.origin}${u.pathname}`;
  } catch {
    return '<invalid url>';
  }
}

function errorText(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return typeof code === 'string' ? `${err.message} (${code})` : err.message;
  }
  return String(err);
}

/** Parses a JSON body, or undefined when it is not JSON. */
export function jsonBody(res: HttpResponse): unknown {
  if (res.body.length === 0) return undefined;
  try {
    return JSON.parse(res.body.toString('utf8'));
  } catch {
    return undefined;
  }
}
