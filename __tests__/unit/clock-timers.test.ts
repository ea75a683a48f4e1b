/**
 * Every time limit of the engine runs on the Clock port: with a fake clock, a 10-minute image timeout, a 30-second
 * request deadline and the 60-second sign-in budget each fire the moment the test moves the clock on, with no real
 * waiting. The transport here never answers (it only gives up when its request is aborted), so nothing but the clock
 * can end these runs: a limit still on a real timer would hold the test until Jest's own timeout. The 100 ms the
 * client gives a transport that ignores an abort is on the clock too.
 */
import { describe, expect, it } from '@jest/globals';
import type { AccessToken, GetTokenOptions, TokenCredential } from '@azure/identity';
import { parseConfig, runImports, type HttpRequest, type Transport } from '../../src/engine/index.js';
import { HttpClient } from '../../src/engine/net/http.js';
import { SIGN_IN_BUDGET_MS, TokenProvider } from '../../src/engine/run/sign-in.js';
import { FakeClock, MemoryLogger, respond, StaticCredential } from './fakes.js';

const SUB = '11111111-1111-1111-1111-111111111111';
const TENANT = '22222222-2222-2222-2222-222222222222';
const CLIENT = '33333333-3333-3333-3333-333333333333';
const ACR_ID = `/subscriptions/${SUB}/resourceGroups/rg-prod/providers/Microsoft.ContainerRegistry/registries/prodacr`;
const LOGIN = 'prodacr.azurecr.io';

/** A request that never gets an answer: it ends only when its signal aborts. */
function never(signal: AbortSignal | undefined): Promise<never> {
  return new Promise((_, reject) => {
    signal?.addEventListener('abort', () => reject(signal.reason as Error), { once: true });
  });
}

/** Lets pending promise callbacks run (bounded). */
async function until(done: () => boolean): Promise<void> {
  for (let i = 0; i < 1000 && !done(); i++) await new Promise((r) => setImmediate(r));
  expect(done()).toBe(true);
}

describe('timers through the clock', () => {
  it('fires the per-image timeout with no real waiting: the image fails as a timeout, naming what did not answer', async () => {
    const clock = new FakeClock();
    const stalled: HttpRequest[] = [];
    // ARM and the target answer; the source registry never does.
    const transport: Transport = async (req, signal) => {
      const url = new URL(req.url);
      if (url.host === 'management.azure.com' && url.pathname.endsWith('/registries')) {
        return respond(200, {
          value: [
            { id: ACR_ID, name: 'prodacr', sku: { name: 'Premium' }, properties: { loginServer: LOGIN } },
          ],
        });
      }
      if (url.host === LOGIN && url.pathname === '/oauth2/exchange')
        return respond(200, { refresh_token: 'r' });
      if (url.host === LOGIN && url.pathname === '/oauth2/token') return respond(200, { access_token: 'a' });
      if (url.host === LOGIN) return respond(404, { errors: [{ code: 'MANIFEST_UNKNOWN' }] });
      stalled.push(req);
      return never(signal);
    };
    const config = parseConfig({
      registry: 'prodacr',
      'subscription-id': SUB,
      'tenant-id': TENANT,
      'client-id': CLIENT,
      source: 'registry.example.com/team/app:1.0',
      timeout: '10m',
    });
    const started = performance.now();
    const running = runImports(config, {
      logger: new MemoryLogger(),
      mask: () => undefined,
      credential: new StaticCredential(),
      transport,
      clock,
      authHost: { idToken: undefined, azureCliAvailable: false, managedIdentityPossible: false },
    });
    await until(() => stalled.length > 0);
    // The image's 10 minutes pass at once (its limit fires before the request's own 30 s deadline, set up later).
    clock.advance(10 * 60_000);
    const result = await running;
    const elapsed = performance.now() - started;

    const image = result.images[0]!;
    expect(result.ok).toBe(false);
    expect(image.status).toBe('failed');
    expect(image.kind).toBe('timeout');
    expect(image.error).toBe(
      'Importing registry.example.com/team/app:1.0 did not finish within 10m. ' +
        'No answer from registry registry.example.com (https://registry.example.com/v2/team/app/manifests/1.0, no answer for 600 s).',
    );
    expect(image.hint).toContain('That endpoint did not answer in time');
    // Ten minutes of the image's time took well under a second of real time.
    expect(elapsed).toBeLessThan(2_000);
  });

  it('ends a request that never answers at its deadline, on the clock', async () => {
    const clock = new FakeClock();
    let sent = 0;
    const http = new HttpClient(
      (_req, signal) => {
        sent++;
        return never(signal);
      },
      clock,
      new MemoryLogger(),
      { requestDeadlineMs: 30_000 },
    );
    const started = performance.now();
    const pending = http
      .send(
        { method: 'GET', url: 'https://slow.example/v2/' },
        { service: 'registry slow.example', retry: false },
      )
      .then(
        () => new Error('answered'),
        (err: unknown) => err as Error,
      );
    await until(() => sent === 1);
    clock.advance(29_999);
    await new Promise((r) => setImmediate(r));
    clock.advance(1);
    const err = await pending;
    expect(err).toBeInstanceOf(Error);
    expect(err.message).toContain('no answer within 30 s');
    expect(performance.now() - started).toBeLessThan(2_000);
  });

  it('gives a transport that ignores the abort 100 ms on the clock, then stops waiting for it', async () => {
    const clock = new FakeClock();
    let sent = 0;
    const http = new HttpClient(
      () => {
        sent++;
        return new Promise<never>(() => undefined);
      },
      clock,
      new MemoryLogger(),
      { requestDeadlineMs: 30_000 },
    );
    const started = performance.now();
    const pending = http
      .send(
        { method: 'GET', url: 'https://stuck.example/v2/' },
        { service: 'registry stuck.example', retry: false },
      )
      .then(
        () => new Error('answered'),
        (err: unknown) => err as Error,
      );
    await until(() => sent === 1);
    clock.advance(30_000);
    let settled = false;
    void pending.then(() => (settled = true));
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
    expect(settled).toBe(false);
    clock.advance(100);
    const err = await pending;
    expect(err.message).toContain('no answer within 30 s');
    expect(performance.now() - started).toBeLessThan(2_000);
  });

  it('ends a sign-in that never answers at its budget, on the clock', async () => {
    const clock = new FakeClock();
    let asked = 0;
    const credential: TokenCredential = {
      getToken: (_scopes: string | string[], options?: GetTokenOptions): Promise<AccessToken | null> => {
        asked++;
        return never(options?.abortSignal as AbortSignal | undefined);
      },
    };
    const tokens = new TokenProvider(
      Promise.resolve({ credential, mode: 'oidc', presented: () => undefined }),
      { tenantId: TENANT, clientId: CLIENT, audience: 'api://AzureADTokenExchange' },
      clock,
      () => undefined,
    );
    const started = performance.now();
    const pending = tokens.token('https://management.azure.com/.default').then(
      () => new Error('signed in'),
      (err: unknown) => err as Error,
    );
    await until(() => asked === 1);
    clock.advance(SIGN_IN_BUDGET_MS);
    const err = await pending;
    expect(err).toBeInstanceOf(Error);
    expect(err.message).toBe(
      `Signing in to Azure (oidc) for https://management.azure.com/.default did not finish within ${SIGN_IN_BUDGET_MS / 1000} s.`,
    );
    expect(performance.now() - started).toBeLessThan(2_000);
  });
});
