/**
 * Small fakes of the engine's ports: a clock whose sleeps take no time, a logger that records, and a transport
 * answered by a function (tests describe the remote side in a few lines).
 */
import type { AccessToken, TokenCredential } from '@azure/identity';
import type { Clock, HttpRequest, HttpResponse, Logger, Transport } from '../../src/engine/index.js';

export class FakeClock implements Clock {
  time = 1_700_000_000_000;
  readonly sleeps: number[] = [];
  now(): number {
    return this.time;
  }
  async sleep(ms: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) throw signal.reason;
    this.sleeps.push(ms);
    this.time += ms;
    // Time limits that a sleep carried the clock past fire now, as they would have meanwhile.
    for (const t of this.timers.filter((t) => t.at <= this.time)) {
      this.timers.splice(this.timers.indexOf(t), 1);
      t.fire();
    }
    await Promise.resolve();
    if (signal?.aborted) throw signal.reason;
  }
  /** Moves the time on without anyone sleeping, firing the time limits that fall due. */
  advance(ms: number): void {
    this.time += ms;
    for (const t of this.timers.filter((t) => t.at <= this.time)) {
      this.timers.splice(this.timers.indexOf(t), 1);
      t.fire();
    }
  }
  private readonly timers: { at: number; fire: () => void }[] = [];
  timer(ms: number, fire: () => void): () => void {
    const entry = { at: this.time + ms, fire };
    this.timers.push(entry);
    return () => {
      const i = this.timers.indexOf(entry);
      if (i !== -1) this.timers.splice(i, 1);
    };
  }
}

export class MemoryLogger implements Logger {
  readonly lines: string[] = [];
  debug(m: string): void {
    this.lines.push(`debug: ${m}`);
  }
  info(m: string): void {
    this.lines.push(`info: ${m}`);
  }
  warning(m: string): void {
    this.lines.push(`warning: ${m}`);
  }
  group<T>(name: string, fn: () => Promise<T>): Promise<T> {
    this.lines.push(`group: ${name}`);
    return fn();
  }
  text(): string {
    return this.lines.join('\n');
  }
}

export function respond(status: number, body?: unknown, headers: Record<string, string> = {}): HttpResponse {
  const text = body === undefined ? '' : typeof body === 'string' ? body : JSON.stringify(body);
  return { status, headers, body: Buffer.from(text) };
}

export type Handler = (req: HttpRequest) => HttpResponse | Promise<HttpResponse>;

/** A transport that records every request and answers with `handler`. */
export function fakeTransport(handler: Handler): Transport & { requests: HttpRequest[] } {
  const requests: HttpRequest[] = [];
  const transport = (async (req: HttpRequest) => {
    requests.push(req);
    return handler(req);
  }) as Transport & { requests: HttpRequest[] };
  transport.requests = requests;
  return transport;
}

export class StaticCredential implements TokenCredential {
  calls = 0;
  constructor(private readonly token = 'arm-token') {}
  async getToken(): Promise<AccessToken> {
    this.calls++;
    return { token: this.token, expiresOnTimestamp: Date.now() + 3_600_000 };
  }
}
