/**
 * HTTP for every remote call of the engine: the production transport (undici; the Transport port is in ports.ts,
 * fakes stand in for it in unit tests) and a client on top that retries what is worth retrying, honours Retry-After, follows redirects without carrying
 * credentials to another host, and never logs headers or bodies that may hold secrets.
 */
import { createSecureContext } from 'node:tls';
import type { Dispatcher } from 'undici';
import { ImportError, RemoteError } from '../errors.js';
import type { Clock, HttpRequest, HttpResponse, Logger, Transport } from '../ports.js';

export type { HttpRequest, HttpResponse, Transport } from '../ports.js';
import { describeProxy, NO_PROXY_SETTINGS, proxyFor, type ProxySettings } from './proxy.js';
import { connectFailure } from './reachability.js';
import { Agent, ProxyAgent, request as undiciRequest } from './undici-parts.js';

/** No answer the engine needs is anywhere near this large (manifests have their own, smaller cap). */
export const DEFAULT_MAX_RESPONSE_BYTES = 16 * 1024 * 1024;

/** Every request of a run must be answered completely (headers and body) within this time, at most. */
export const REQUEST_DEADLINE_MS = 30_000;

/**
 * A transport failure the client must tell apart from a dropped connection: the answer was too large, its body did
 * not arrive completely (cut off, or too slow), or the proxy refused the connection.
 */
export class TransportFailure extends Error {
  constructor(
    readonly kind: 'too-large' | 'body' | 'proxy-refused' | 'proxy' | 'too-slow' | 'no-answer',
    message: string,
    readonly detail: {
      status?: number;
      received?: number;
      expected?: number | undefined;
      limit?: number;
      /** The proxy, without credentials. */
      proxy?: string;
      /** What to do when the proxy asks for credentials (ProxySettings.authenticationHint). */
      authenticationHint?: string;
      cause?: unknown;
    } = {},
  ) {
    super(message, { cause: detail.cause });
    this.name = 'TransportFailure';
  }
}

export interface TransportOptions {
  userAgent: string;
  /** Inactivity limit while waiting for headers or between body chunks (the client adds a total deadline). */
  requestTimeoutMs?: number;
  /** Proxies, read once by the host (proxySettingsFromEnv); default: none. Ignored when `dispatcher` is given. */
  proxy?: ProxySettings;
  dispatcher?: Dispatcher;
}

/**
 * The production transport: undici with keep-alive pools per origin, one proxy decision per request (`proxyFor`, the
 * same for every service), bodies read up to their size limit, and extra CAs from NODE_EXTRA_CA_CERTS (Node applies
 * those to every TLS connection).
 */
export function createUndiciTransport(options: TransportOptions): {
  transport: Transport;
  close: () => Promise<void>;
} {
  const timeout = options.requestTimeoutMs ?? REQUEST_DEADLINE_MS;
  // One TLS context for every connection (the default trust store, with NODE_EXTRA_CA_CERTS): without it each
  // connection builds its own, about 0.4 ms of CPU each on a 2-core runner, for a batch's dozens (issue 11).
  const tls = { secureContext: createSecureContext() };
  const agentOptions = {
    keepAliveTimeout: 10_000,
    headersTimeout: timeout,
    bodyTimeout: timeout,
    // TCP + TLS within 5 s, or the host counts as unreachable from here (reachability.ts).
    connect: { timeout: CONNECT_TIMEOUT_MS, ...tls },
  };
  const direct = options.dispatcher ?? new Agent(agentOptions);
  const proxies = new Map<string, ProxyAgent>();
  const settings = options.dispatcher ? NO_PROXY_SETTINGS : (options.proxy ?? NO_PROXY_SETTINGS);
  const dispatcherFor = (url: URL): { dispatcher: Dispatcher; proxy: string | undefined } => {
    const proxy = proxyFor(settings, url);
    if (!proxy) return { dispatcher: direct, proxy: undefined };
    let agent = proxies.get(proxy.href);
    if (!agent) {
      agent = new ProxyAgent({ ...agentOptions, uri: proxy.href, requestTls: tls, proxyTls: tls });
      proxies.set(proxy.href, agent);
    }
    return { dispatcher: agent, proxy: describeProxy(proxy) };
  };
  const transport: Transport = async (req, signal) => {
    const target = new URL(req.url);
    const { dispatcher, proxy } = dispatcherFor(target);
    let res: Dispatcher.ResponseData;
    try {
      res = await undiciRequest(target, {
        method: req.method,
        headers: { 'user-agent': options.userAgent, ...req.headers },
        body: req.body ?? null,
        dispatcher,
        signal: signal ?? null,
      });
    } catch (err) {
      throw proxy && !signal?.aborted ? proxyFailure(err, proxy, target, settings.authenticationHint) : err;
    }
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(res.headers)) {
      if (value !== undefined) headers[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
    }
    if (req.method === 'HEAD') {
      await res.body.dump();
      return { status: res.statusCode, headers, body: Buffer.alloc(0) };
    }
    const body = await readBody(res, req.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES);
    return { status: res.statusCode, headers, body };
  };
  const all = (): Dispatcher[] => [...(options.dispatcher ? [] : [direct]), ...proxies.values()];
  return {
    transport,
    close: async () => {
      // Whatever is still in flight belongs to work the run gave up on (a stalled endpoint): do not wait for it.
      const closing = Promise.all(all().map((d) => d.close().catch(() => undefined)));
      const graceful = await Promise.race([
        closing.then(() => true),
        new Promise<false>((resolve) => setTimeout(() => resolve(false), 1_000).unref()),
      ]);
      if (!graceful) await Promise.all(all().map((d) => d.destroy().catch(() => undefined)));
    },
  };
}

/** Reads a body up to `limit` bytes; a larger one, or one that stops arriving, fails as a TransportFailure. */
async function readBody(res: Dispatcher.ResponseData, limit: number): Promise<Buffer> {
  const declared = Number(res.headers['content-length']);
  const expected = Number.isFinite(declared) && declared >= 0 ? declared : undefined;
  const tooLarge = (received: number): TransportFailure =>
    new TransportFailure('too-large', `the answer is larger than ${formatBytes(limit)}`, {
      status: res.statusCode,
      received,
      expected,
      limit,
    });
  if (expected !== undefined && expected > limit) {
    res.body.destroy();
    throw tooLarge(0);
  }
  const chunks: Buffer[] = [];
  let received = 0;
  try {
    for await (const chunk of res.body) {
      const buffer = chunk as Buffer;
      received += buffer.length;
      if (received > limit) {
        res.body.destroy();
        throw tooLarge(received);
      }
      chunks.push(buffer);
    }
  } catch (err) {
    if (err instanceof TransportFailure) throw err;
    throw new TransportFailure('body', `the answer stopped after ${received} bytes: ${errorText(err)}`, {
      status: res.statusCode,
      received,
      expected,
      cause: err,
    });
  }
  return Buffer.concat(chunks);
}

const PROXY_STATUS_TEXT: Record<number, string> = {
  403: 'Forbidden',
  407: 'Proxy Authentication Required',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
};

/** A failure on a proxied request, told as what the proxy did. */
function proxyFailure(
  err: unknown,
  proxy: string,
  target: URL,
  authenticationHint?: string,
): TransportFailure {
  const status = /Proxy response \((\d+)\)/.exec(errorText(err))?.[1];
  if (status) {
    const code = Number(status);
    return new TransportFailure(
      'proxy-refused',
      `the proxy ${proxy} refused to connect to ${target.host} (HTTP ${code}${PROXY_STATUS_TEXT[code] ? ` ${PROXY_STATUS_TEXT[code]}` : ''})`,
      { status: code, proxy, cause: err, ...(authenticationHint ? { authenticationHint } : {}) },
    );
  }
  return new TransportFailure('proxy', `through the proxy ${proxy}: ${errorText(err)}`, {
    proxy,
    cause: err,
  });
}

export function formatBytes(n: number): string {
  if (n >= 1024 * 1024 && n % (1024 * 1024) === 0) return `${n / (1024 * 1024)} MiB`;
  if (n >= 1024 && n % 1024 === 0) return `${n / 1024} KiB`;
  return `${n} bytes`;
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
  /**
   * Follow redirects for GET/HEAD (default true): never from https to http; Authorization is dropped when the origin
   * (scheme, host, port) changes.
   */
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

/** Whether a request failed because the client was closed (the run is over): nothing to retry. */
export function isClosedClient(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    if (CLOSED_CODES.has(String((e as { code?: unknown }).code))) return true;
  }
  return false;
}

/** Transport failures no retry can cure. */
const FINAL_FAILURES = new Set<TransportFailure['kind']>(['too-large', 'too-slow', 'proxy-refused']);

interface InFlight {
  service: string;
  url: string;
  since: number;
}

export interface HttpClientOptions {
  /** Each attempt must be answered completely within this time (default REQUEST_DEADLINE_MS). */
  requestDeadlineMs?: number;
}

export class HttpClient {
  private readonly inFlight = new Set<InFlight>();
  /** Per service, its last attempt when that failed without an answer (cleared by the next answer). */
  private readonly failing = new Map<string, { url: string; why: string }>();
  private readonly requestDeadlineMs: number;

  constructor(
    private readonly transport: Transport,
    private readonly clock: Clock,
    private readonly logger: Logger,
    options: HttpClientOptions = {},
  ) {
    this.requestDeadlineMs = options.requestDeadlineMs ?? REQUEST_DEADLINE_MS;
  }

  /** The time on the run's clock (a Retry-After date is read against it). */
  now(): number {
    return this.clock.now();
  }

  /** The requests still waiting for an answer, oldest first per service: what a timeout message names. */
  waitingFor(): string | undefined {
    const now = this.clock.now();
    const oldest = new Map<string, InFlight>();
    for (const entry of this.inFlight) {
      const seen = oldest.get(entry.service);
      if (!seen || entry.since < seen.since) oldest.set(entry.service, entry);
    }
    const waiting = [...oldest.values()]
      .sort((a, b) => a.since - b.since)
      .map((e) => `${e.service} (${describeUrl(e.url)}, no answer for ${formatSeconds(now - e.since)})`);
    for (const [service, f] of this.failing) {
      if (!oldest.has(service)) waiting.push(`${service} (${describeUrl(f.url)}: ${f.why})`);
    }
    return waiting.length ? waiting.slice(0, 3).join('; ') : undefined;
  }

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
      // Every attempt has a deadline for its whole answer: a stalled or dribbling service cannot hold a run.
      const limit = new AbortController();
      const cancelDeadline = this.clock.timer(this.requestDeadlineMs, () =>
        limit.abort(new DOMException('The request deadline passed.', 'TimeoutError')),
      );
      const deadline = limit.signal;
      const signal = options.signal ? AbortSignal.any([options.signal, deadline]) : deadline;
      const entry: InFlight = { service: options.service, url: req.url, since: this.clock.now() };
      this.inFlight.add(entry);
      try {
        response = await settleBy(this.sendFollowingRedirects(req, options, signal), signal, this.clock);
      } catch (err) {
        if (options.signal?.aborted) throw err;
        // A refused redirect: nothing a retry can change.
        if (err instanceof ImportError) throw err;
        failure = deadline.aborted ? this.deadlineFailure(err) : err;
      } finally {
        cancelDeadline();
        this.inFlight.delete(entry);
      }
      if (response) this.failing.delete(options.service);
      else if (failure !== undefined)
        this.failing.set(options.service, { url: req.url, why: failureText(failure) });
      const retryable =
        (failure !== undefined &&
          !CLOSED_CODES.has(String((failure as { code?: unknown }).code)) &&
          !(failure instanceof TransportFailure && FINAL_FAILURES.has(failure.kind))) ||
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

  /** What an attempt cut off by its deadline was: an answer that never came, or one that came too slowly. */
  private deadlineFailure(err: unknown): TransportFailure {
    const limit = formatSeconds(this.requestDeadlineMs);
    if (err instanceof TransportFailure && err.kind === 'body') {
      const { received = 0, expected } = err.detail;
      return new TransportFailure(
        'too-slow',
        `its answer did not arrive within ${limit} (${received}${expected !== undefined ? ` of ${expected}` : ''} bytes received)`,
        { ...err.detail, cause: err },
      );
    }
    return new TransportFailure('no-answer', `no answer within ${limit}`, { cause: err });
  }

  private async sendFollowingRedirects(
    req: HttpRequest,
    options: SendOptions,
    signal: AbortSignal,
  ): Promise<HttpResponse> {
    let current = req;
    for (let hop = 0; ; hop++) {
      const res = await this.transport(current, signal);
      const redirect =
        (options.followRedirects ?? true) &&
        (current.method === 'GET' || current.method === 'HEAD') &&
        [301, 302, 303, 307, 308].includes(res.status) &&
        res.headers['location'];
      if (!redirect || hop >= 5) return res;
      const from = new URL(current.url);
      const next = new URL(res.headers['location']!, current.url);
      if ((from.protocol === 'https:' && next.protocol !== 'https:') || !/^https?:$/.test(next.protocol)) {
        throw new RemoteError({
          service: options.service,
          status: res.status,
          code: 'InsecureRedirect',
          message: `${options.service} redirected ${current.method} ${describeUrl(current.url)} to ${describeUrl(next.toString())}; refusing to follow a redirect from https to ${next.protocol === 'http:' ? 'plain http' : next.protocol}.`,
          hint: 'The service (or a proxy in between) tried to move the request off TLS, where credentials could be read and content changed: fix its configuration, or use another registry.',
        });
      }
      const headers = { ...current.headers };
      if (next.origin !== from.origin) {
        // Credentials belong to the origin (scheme, host, port) they were issued for, never to where it redirects.
        for (const name of Object.keys(headers))
          if (name.toLowerCase() === 'authorization') delete headers[name];
      }
      current = { ...current, url: next.toString(), headers };
    }
  }
}

/**
 * Ends the wait for `work` when `signal` aborts, even if the transport does not (undici keeps a request whose TLS
 * handshake stalls until its own connect timeout). A transport that reacts to the abort within a moment settles first,
 * so what it knew (a body cut off after some bytes) is kept.
 */
function settleBy<T>(work: Promise<T>, signal: AbortSignal, clock: Clock): Promise<T> {
  work.catch(() => undefined);
  return new Promise<T>((resolve, reject) => {
    let cancel: (() => void) | undefined;
    const onAbort = (): void => {
      cancel = clock.timer(100, () => reject(signal.reason as Error));
    };
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (value) => {
        cancel?.();
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (err: unknown) => {
        cancel?.();
        signal.removeEventListener('abort', onAbort);
        reject(err as Error);
      },
    );
  });
}

function unreachable(req: HttpRequest, options: SendOptions, failure: unknown): RemoteError {
  const where = `${req.method} ${describeUrl(req.url)}`;
  if (failure instanceof TransportFailure) {
    const base = { service: options.service, cause: failure };
    switch (failure.kind) {
      case 'too-large':
        return new RemoteError({
          ...base,
          code: 'ResponseTooLarge',
          message: `${options.service} sent an answer larger than ${formatBytes(failure.detail.limit ?? 0)} to ${where}; refusing to read it.`,
        });
      case 'too-slow':
        return new RemoteError({
          ...base,
          code: 'TooSlow',
          message: `${options.service} is too slow: ${failure.message} for ${where}.`,
          hint: 'The service (or a proxy in between) sends its answer far too slowly: check its status and the network path, then re-run.',
        });
      case 'no-answer':
        return new RemoteError({
          ...base,
          code: 'NoAnswer',
          message: `${options.service} did not answer (${where}): ${failure.message}.`,
          hint: 'Check that the service is up and the runner can reach it (proxy settings HTTPS_PROXY/NO_PROXY, firewall, DNS).',
          retryable: true,
        });
      case 'proxy-refused':
        return new RemoteError({
          ...base,
          code: 'ProxyRefused',
          message: `Could not reach ${options.service} (${describeUrl(req.url)}): ${failure.message}.`,
          hint:
            failure.detail.status === 407
              ? (failure.detail.authenticationHint ??
                `The proxy asks for credentials: put them in the proxy URL (http://user:password@host:port in HTTPS_PROXY), or add ${new URL(req.url).hostname} to NO_PROXY if it should be reached directly.`)
              : `The proxy does not let the runner through to ${new URL(req.url).host}: have it allowed there, or add ${new URL(req.url).hostname} to NO_PROXY if it should be reached directly.`,
        });
      case 'proxy':
        return new RemoteError({
          ...base,
          code: 'ProxyFailed',
          message: `Could not reach ${options.service} (${describeUrl(req.url)}) ${failure.message}.`,
          hint: `The proxy ${failure.detail.proxy ?? ''} closed the connection or did not answer: check HTTPS_PROXY, or add ${new URL(req.url).hostname} to NO_PROXY if it should be reached directly.`,
          retryable: true,
        });
      default:
        break;
    }
  }
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

function failureText(failure: unknown): string {
  return failure instanceof TransportFailure ? failure.message : errorText(failure);
}

function formatSeconds(ms: number): string {
  return ms < 10_000 && ms % 1000 !== 0 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms / 1000)} s`;
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
