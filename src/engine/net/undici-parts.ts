/**
 * The parts of undici the transport uses (Agent, ProxyAgent, request), loaded from their own files. undici's index
 * also loads fetch, WebSocket, EventSource, the cache and the mock agents: about 1.1 of the 1.5 MB it adds to every
 * bundle, compiled before the first request and never used (issue 11: cold start). undici is pinned; the e2e suites
 * run these parts in the bundles (TLS, keep-alive, proxies, timeouts).
 */
import { channel } from 'node:diagnostics_channel';
import type { Agent as AgentType, Dispatcher as DispatcherType, ProxyAgent as ProxyAgentType } from 'undici';
import api from 'undici/lib/api/index.js';
import AgentImpl from 'undici/lib/dispatcher/agent.js';
import DispatcherImpl from 'undici/lib/dispatcher/dispatcher.js';
import ProxyAgentImpl from 'undici/lib/dispatcher/proxy-agent.js';

// What undici's index does when it loads: every dispatcher gets request(), connect() ... (ProxyAgent tunnels with
// connect()). The same functions, so loading the index as well (a test, a library user) changes nothing.
Object.assign(DispatcherImpl.prototype, api);

export const Agent = AgentImpl;
export type Agent = AgentType;
export const ProxyAgent = ProxyAgentImpl;
export type ProxyAgent = ProxyAgentType;

/** undici's request() on a given dispatcher, for a URL (what the index's request(url, { dispatcher }) does). */
export function request(
  url: URL,
  options: Omit<DispatcherType.RequestOptions, 'origin' | 'path'> & { dispatcher: DispatcherType },
): Promise<DispatcherType.ResponseData> {
  const { dispatcher, ...rest } = options;
  return dispatcher.request({ ...rest, origin: url.origin, path: `${url.pathname}${url.search}` });
}

let sent = false;
/** Connections undici has begun and not yet finished (TCP + TLS): their handshakes need the thread too. */
let connecting = 0;
const waiting: (() => void)[] = [];
const wakeWhenReady = (): void => {
  if (!sent || connecting > 0) return;
  for (const wake of waiting.splice(0)) wake();
};
channel('undici:client:beforeConnect').subscribe(() => connecting++);
for (const name of ['undici:client:connected', 'undici:client:connectError'])
  channel(name).subscribe(() => {
    connecting = Math.max(0, connecting - 1);
    wakeWhenReady();
  });
const sendHeaders = channel('undici:client:sendHeaders');
const onSend = (): void => {
  sent = true;
  sendHeaders.unsubscribe(onSend);
  wakeWhenReady();
};
sendHeaders.subscribe(onSend);

/**
 * Resolves once undici has written a request's headers in this process and no connection it began is still in its
 * handshake (the run's first requests are on the wire and their answers are a round trip away), or after
 * `fallbackMs` when that does not happen. Work that would hold the thread (loading a big library) waits for it
 * instead of delaying the first TLS handshakes (issue 11).
 */
export function requestOnTheWire(fallbackMs = 50): Promise<void> {
  if (sent && connecting === 0) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, fallbackMs);
    waiting.push(() => {
      clearTimeout(timer);
      // Other requests whose handshakes finished in the same turn are written first.
      setImmediate(resolve);
    });
  });
}
