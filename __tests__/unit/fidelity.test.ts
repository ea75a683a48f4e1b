/**
 * Issue 10, engine level, with the fake clock (no real waiting): long throttling waited when it fits the deadline,
 * failures to connect not retried (a name that does not resolve) or retried once (refused), cloud metadata picked
 * from the array form.
 */
import { discoverCloud } from '../../src/engine/run/cloud.js';
import { CLOUDS } from '../../src/engine/config/clouds.js';
import { HttpClient } from '../../src/engine/net/http.js';
import { connectFailure } from '../../src/engine/net/reachability.js';
import { FakeClock, MemoryLogger, fakeTransport, respond } from './fakes.js';

const errno = (code: string): Error => Object.assign(new Error(`connect ${code}`), { code });

describe('throttling longer than the retry policy allows', () => {
  const throttledOnce = (): ReturnType<typeof fakeTransport> => {
    let calls = 0;
    return fakeTransport(() =>
      ++calls === 1
        ? respond(429, { error: { code: 'Throttled' } }, { 'retry-after': '150' })
        : respond(200, 'ok'),
    );
  };

  it('waits as asked when the wait ends before the deadline, and says so', async () => {
    const clock = new FakeClock();
    const logger = new MemoryLogger();
    const t = throttledOnce();
    const res = await new HttpClient(t, clock, logger).send(
      { method: 'GET', url: 'https://arm.test/x' },
      { service: 'Azure Resource Manager', waitUntil: clock.now() + 600_000 },
    );
    expect(res.status).toBe(200);
    expect(clock.sleeps).toEqual([150_000]);
    expect(logger.text()).toContain('info: Azure Resource Manager asked to wait 150 s');
  });

  it('gives the 429 back at once when the wait would end after the deadline', async () => {
    const clock = new FakeClock();
    const t = throttledOnce();
    const res = await new HttpClient(t, clock, new MemoryLogger()).send(
      { method: 'GET', url: 'https://arm.test/x' },
      { service: 'Azure Resource Manager', waitUntil: clock.now() + 60_000 },
    );
    expect(res.status).toBe(429);
    expect(clock.sleeps).toEqual([]);
    expect(t.requests).toHaveLength(1);
  });
});

describe('hosts that cannot be connected to fail fast', () => {
  it.each([
    ['ENOTFOUND', 1],
    ['EAI_AGAIN', 1],
    ['UND_ERR_CONNECT_TIMEOUT', 1],
    ['ECONNREFUSED', 2],
    ['ECONNRESET', 6],
  ])('%s: %d attempt(s)', async (code, attempts) => {
    const clock = new FakeClock();
    const t = fakeTransport(() => {
      throw errno(code);
    });
    await expect(
      new HttpClient(t, clock, new MemoryLogger()).send(
        { method: 'HEAD', url: 'https://r.test/v2/' },
        { service: 'r' },
      ),
    ).rejects.toThrow(code);
    expect(t.requests).toHaveLength(attempts);
  });

  it('finds the code behind causes and aggregated errors', () => {
    const aggregate = new AggregateError([errno('ECONNREFUSED'), errno('ECONNREFUSED')], 'connect failed');
    expect(connectFailure(new Error('wrapped', { cause: aggregate }))).toBe('refused');
    expect(connectFailure(errno('CERT_HAS_EXPIRED'))).toBeUndefined();
  });
});

describe('cloud metadata', () => {
  const custom = {
    ...CLOUDS.AzureCloud,
    armEndpoint: 'https://management.local.azurestack.external',
    armScope: 'https://management.local.azurestack.external/.default',
    disableInstanceDiscovery: false,
    discoverMetadata: true,
  };

  it('takes the entry whose resourceManager is this ARM from the array form', async () => {
    const t = fakeTransport(() =>
      respond(200, [
        {
          name: 'AzureCloud',
          resourceManager: 'https://management.azure.com/',
          authentication: {
            loginEndpoint: 'https://login.microsoftonline.com',
            audiences: ['https://management.core.windows.net/'],
          },
        },
        {
          name: 'Stack',
          resourceManager: 'https://management.local.azurestack.external/',
          authentication: {
            loginEndpoint: 'https://login.stack.example/',
            audiences: ['https://management.stack.example/abc'],
          },
        },
      ]),
    );
    const cloud = await discoverCloud(
      custom,
      new HttpClient(t, new FakeClock(), new MemoryLogger()),
      new MemoryLogger(),
    );
    expect(cloud.armScope).toBe('https://management.stack.example/abc/.default');
    expect(cloud.authorityHost).toBe('https://login.stack.example');
    expect(cloud.disableInstanceDiscovery).toBe(true);
    expect(t.requests.map((r) => r.url)).toEqual([
      'https://management.local.azurestack.external/metadata/endpoints?api-version=2022-09-01',
    ]);
  });

  it('keeps a given authority-host and says which input to check when the metadata has no audience', async () => {
    const given = { ...custom, authorityHost: 'https://login.given.example', authorityGiven: true };
    const t = fakeTransport(() =>
      respond(200, { authentication: { loginEndpoint: 'https://x.example/', audiences: ['aud'] } }),
    );
    const cloud = await discoverCloud(
      given,
      new HttpClient(t, new FakeClock(), new MemoryLogger()),
      new MemoryLogger(),
    );
    expect(cloud.authorityHost).toBe('https://login.given.example');
    expect(cloud.armScope).toBe('aud/.default');
    const empty = fakeTransport(() => respond(404, {}));
    await expect(
      discoverCloud(custom, new HttpClient(empty, new FakeClock(), new MemoryLogger()), new MemoryLogger()),
    ).rejects.toMatchObject({ hint: expect.stringContaining('resource-manager-endpoint') });
  });
});
