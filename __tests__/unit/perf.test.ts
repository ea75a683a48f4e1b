/**
 * Issue 11: the watch cadence (a steady short interval, Retry-After only on a data-plane 429, ARM's poll as the
 * fallback) and the parallel start (what needs nothing else goes out at once), against a fake world on a fake clock.
 */
import { parseConfig, runImports, type HttpRequest, type HttpResponse } from '../../src/engine/index.js';
import { WATCH_INTERVAL_MS } from '../../src/engine/run/watch.js';
import type { AccessToken, GetTokenOptions, TokenCredential } from '@azure/core-auth';
import { FakeClock, MemoryLogger, fakeTransport, respond } from './fakes.js';

const SUB = '11111111-1111-1111-1111-111111111111';
const TENANT = '22222222-2222-2222-2222-222222222222';
const CLIENT = '33333333-3333-3333-3333-333333333333';
const ACR_ID = `/subscriptions/${SUB}/resourceGroups/rg-prod/providers/Microsoft.ContainerRegistry/registries/prodacr`;
const LOGIN = 'prodacr-abc123.azurecr.io';
const DIGEST = 'sha256:' + 'a'.repeat(64);
const MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

interface World {
  clock: FakeClock;
  /** How long each import's copy takes (its tags appear then). */
  copyMs: number;
  /** `repo:tag` -> when it appears in the target. */
  appears: Map<string, number>;
  /** Times of the target HEADs for a tag, after the import was accepted. */
  looks: { at: number; ref: string; status: number }[];
  polls: number[];
  /** The data plane answers 429 (Retry-After: retryAfter s) to HEADs in [from, until). */
  throttle?: { from: number; until: number; retryAfter: number };
  /** Requests in the order they were sent, as `service method path`. */
  order: string[];
  /** Answers held back until released (a slow service). */
  gates: Map<string, Promise<void>>;
}

function world(clock: FakeClock, overrides: Partial<World> = {}): World {
  return {
    clock,
    copyMs: 5_000,
    appears: new Map(),
    looks: [],
    polls: [],
    order: [],
    gates: new Map(),
    ...overrides,
  };
}

function handler(w: World) {
  return async (req: HttpRequest): Promise<HttpResponse> => {
    const url = new URL(req.url);
    const now = w.clock.now();
    w.order.push(`${url.host} ${req.method} ${url.pathname}`);
    const gate = w.gates.get(`${url.host} ${req.method} ${url.pathname}`);
    if (gate) await gate;
    if (url.host === 'management.azure.com') {
      if (req.method === 'GET' && url.pathname === ACR_ID) {
        return respond(200, {
          id: ACR_ID,
          name: 'prodacr',
          location: 'westeurope',
          sku: { name: 'Premium' },
          properties: { loginServer: LOGIN },
        });
      }
      if (req.method === 'POST' && url.pathname.endsWith('/importImage')) {
        const body = JSON.parse(req.body!) as { targetTags: string[] };
        for (const t of body.targetTags) w.appears.set(t, now + w.copyMs);
        return respond(202, '', {
          location: `https://management.azure.com/operationResults/${body.targetTags[0]}?api-version=x`,
          'retry-after': '10',
        });
      }
      if (req.method === 'GET' && url.pathname.startsWith('/operationResults/')) {
        w.polls.push(now);
        const tag = decodeURIComponent(url.pathname.slice('/operationResults/'.length));
        // ARM reports done 3 s after the copy (the copy-first latency model).
        return now >= (w.appears.get(tag) ?? Infinity) + 3_000
          ? respond(200)
          : respond(202, '', { 'retry-after': '10' });
      }
    }
    if (url.host === LOGIN) {
      if (url.pathname === '/oauth2/exchange') return respond(200, { refresh_token: 'acr-refresh' });
      if (url.pathname === '/oauth2/token') return respond(200, { access_token: 'acr-access' });
      const m = /^\/v2\/(.+)\/manifests\/(.+)$/.exec(url.pathname);
      if (m) {
        const ref = `${m[1]}:${m[2]}`;
        const t = w.throttle;
        const throttled = t && now >= t.from && now < t.until;
        const at = w.appears.get(ref);
        const status = throttled ? 429 : at !== undefined && now >= at ? 200 : 404;
        if (at !== undefined) w.looks.push({ at: now, ref, status });
        if (status === 429)
          return respond(
            429,
            { errors: [{ code: 'TOOMANYREQUESTS' }] },
            { 'retry-after': String(t!.retryAfter) },
          );
        if (status === 404) return respond(404, { errors: [{ code: 'MANIFEST_UNKNOWN' }] });
        return respond(200, '', { 'docker-content-digest': DIGEST, 'content-type': MANIFEST });
      }
    }
    if (url.host === 'registry-1.docker.io') {
      if (req.headers?.['authorization'] !== 'Bearer hub-token') {
        return respond(
          401,
          { errors: [{ code: 'UNAUTHORIZED' }] },
          { 'www-authenticate': 'Bearer realm="https://auth.docker.io/token",service="registry.docker.io"' },
        );
      }
      return respond(200, '', { 'docker-content-digest': DIGEST, 'content-type': MANIFEST });
    }
    if (url.host === 'auth.docker.io') return respond(200, { token: 'hub-token' });
    throw new Error(`unexpected ${req.method} ${req.url}`);
  };
}

/** Records which scopes were asked for, in order, and what had been sent by then. */
class RecordingCredential implements TokenCredential {
  readonly asked: { scope: string; sentBefore: number }[] = [];
  constructor(private readonly w: World) {}
  async getToken(scopes: string | string[], _options?: GetTokenOptions): Promise<AccessToken> {
    const scope = Array.isArray(scopes) ? scopes[0]! : scopes;
    this.asked.push({ scope, sentBefore: this.w.order.length });
    return {
      token: scope.includes('management') ? 'arm-token' : 'acr-entra-token',
      expiresOnTimestamp: this.w.clock.now() + 3_600_000,
    };
  }
}

async function runIn(w: World, inputs: Record<string, string>) {
  const transport = fakeTransport(handler(w));
  const credential = new RecordingCredential(w);
  const config = parseConfig({
    registry: ACR_ID,
    'subscription-id': SUB,
    'tenant-id': TENANT,
    'client-id': CLIENT,
    ...inputs,
  });
  const result = await runImports(config, {
    logger: new MemoryLogger(),
    mask: () => undefined,
    credential,
    transport,
    clock: w.clock,
    authHost: { idToken: undefined, azureCliAvailable: false, managedIdentityPossible: false },
  });
  return { result, credential };
}

describe('issue 11: the watch cadence', () => {
  it.each([5_000, 31_000])(
    'ends within one interval of the copy finishing however long the import runs (%i ms), ARM polled at Retry-After only',
    async (copyMs) => {
      const clock = new FakeClock();
      const w = world(clock, { copyMs });
      const started = clock.now();
      const { result } = await runIn(w, { source: 'docker.io/library/hello:1', 'target-tags': 'app:1' });
      expect(result.images[0]).toMatchObject({ status: 'imported', sourceDigest: DIGEST });
      const copied = w.appears.get('app:1')!;
      // The step (this image) ended no later than one interval after the tag appeared.
      expect(clock.now() - copied).toBeLessThanOrEqual(WATCH_INTERVAL_MS);
      expect(clock.now()).toBeGreaterThanOrEqual(copied);
      // A steady interval: no gap between two looks is longer than the interval.
      const gaps = w.looks.slice(1).map((l, i) => l.at - w.looks[i]!.at);
      expect(Math.max(...gaps)).toBeLessThanOrEqual(WATCH_INTERVAL_MS);
      // ARM's operation was polled no faster than its Retry-After (10 s), as the fallback.
      const polls = w.polls.map((p) => p - started);
      expect(polls.length).toBe(Math.floor(copyMs / 10_000));
      polls.slice(1).forEach((p, i) => expect(p - polls[i]!).toBeGreaterThanOrEqual(10_000));
    },
  );

  it('backs off only while the data plane answers 429, for exactly its Retry-After, then looks every interval again', async () => {
    const clock = new FakeClock();
    const start = clock.now();
    const w = world(clock, {
      copyMs: 8_000,
      throttle: { from: start + 1_000, until: start + 1_500, retryAfter: 3 },
    });
    const { result } = await runIn(w, { source: 'docker.io/library/hello:1', 'target-tags': 'app:1' });
    expect(result.images[0]!.status).toBe('imported');
    const throttled = w.looks.filter((l) => l.status === 429);
    expect(throttled.length).toBeGreaterThanOrEqual(1);
    // No look between a 429 and its Retry-After.
    for (const t of throttled) {
      const next = w.looks.find((l) => l.at > t.at)!;
      expect(next.at - t.at).toBeGreaterThanOrEqual(3_000);
    }
    // Once the throttle is over, the cadence is the steady interval again, up to the end.
    const after = w.looks.filter((l) => l.at >= start + 4_500);
    const gaps = after.slice(1).map((l, i) => l.at - after[i]!.at);
    expect(gaps.length).toBeGreaterThan(5);
    expect(Math.max(...gaps)).toBeLessThanOrEqual(WATCH_INTERVAL_MS);
    expect(clock.now() - w.appears.get('app:1')!).toBeLessThanOrEqual(WATCH_INTERVAL_MS);
  });
});

describe('issue 11: the parallel start', () => {
  it.each([
    ['registry as a resource ID', {}],
    ['registry name + resource-group', { registry: 'prodacr', 'resource-group': 'rg-prod' }],
  ])(
    'asks for the ARM and the registry-audience tokens at once, reads the source beside the ARM lookup, and lists no registries (%s)',
    async (_case, target: Record<string, string>) => {
      const clock = new FakeClock();
      const w = world(clock, { copyMs: 300 });
      // The ARM lookup of the target is slow: held until the source has been read.
      let release!: () => void;
      w.gates.set(`management.azure.com GET ${ACR_ID}`, new Promise<void>((r) => (release = r)));
      const sourceRead = new Promise<void>((resolve) => {
        const check = setInterval(() => {
          if (w.order.some((o) => o.startsWith('registry-1.docker.io HEAD') && o.includes('/manifests/1'))) {
            clearInterval(check);
            resolve();
          }
        }, 1);
      });
      const done = runIn(w, { source: 'docker.io/library/hello:1', 'target-tags': 'app:1', ...target });
      // The source is read while the ARM lookup of the target has not answered.
      await sourceRead;
      expect(w.order.filter((o) => o.endsWith('/importImage'))).toEqual([]);
      release();
      const { result, credential } = await done;
      expect(result.images[0]!.status).toBe('imported');
      const arm = credential.asked.findIndex((a) => a.scope.includes('management'));
      const acr = credential.asked.findIndex((a) => a.scope.includes('containerregistry'));
      expect(arm).toBeGreaterThanOrEqual(0);
      expect(acr).toBeGreaterThanOrEqual(0);
      const lookupSent = w.order.indexOf(`management.azure.com GET ${ACR_ID}`);
      // The registry-audience token was asked for before anything was answered by ARM (it needs only the sign-in).
      expect(credential.asked[acr]!.sentBefore).toBeLessThanOrEqual(lookupSent + 1);
      // No registry list: registry is a resource ID.
      expect(w.order.filter((o) => o.endsWith('/registries'))).toEqual([]);
      // The POST came after the source was read and the target's tag was read, never before.
      const post = w.order.findIndex((o) => o.endsWith('/importImage'));
      const head = w.order.findIndex((o) => o.startsWith(`${LOGIN} HEAD /v2/app/manifests/1`));
      expect(head).toBeGreaterThanOrEqual(0);
      expect(post).toBeGreaterThan(head);
    },
  );
});
