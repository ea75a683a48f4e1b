import { DEFAULT_RETRY, HttpClient, parseRetryAfter } from '../../src/engine/net/http.js';
import { RemoteError } from '../../src/engine/errors.js';
import { FakeClock, MemoryLogger, fakeTransport, respond } from './fakes.js';

describe('parseRetryAfter', () => {
  const now = Date.parse('2026-11-23T10:00:00Z');
  it.each([
    ['10', 10_000],
    ['0', 0],
    ['1.5', 1_500],
    ['Mon, 23 Nov 2026 10:00:07 GMT', 7_000],
    ['Mon, 23 Nov 2026 09:00:00 GMT', 0],
  ])('reads %j as %d ms', (value, ms) => {
    expect(parseRetryAfter(value, now)).toBe(ms);
  });
  it.each([undefined, '', 'soon'])('ignores %j', (value) => {
    expect(parseRetryAfter(value, now)).toBeUndefined();
  });
});

describe('HttpClient retries', () => {
  it('retries 429 no sooner than Retry-After and returns the success', async () => {
    const clock = new FakeClock();
    let calls = 0;
    const t = fakeTransport(() =>
      ++calls === 1 ? respond(429, {}, { 'retry-after': '3' }) : respond(200, 'ok'),
    );
    const res = await new HttpClient(t, clock, new MemoryLogger()).send(
      { method: 'GET', url: 'https://a.test/x' },
      { service: 'A' },
    );
    expect(res.status).toBe(200);
    expect(calls).toBe(2);
    expect(clock.sleeps[0]).toBeGreaterThanOrEqual(3_000);
  });

  it('honours an HTTP-date Retry-After', async () => {
    const clock = new FakeClock();
    const when = new Date(clock.now() + 4_000).toUTCString();
    let calls = 0;
    const t = fakeTransport(() => (++calls === 1 ? respond(503, {}, { 'retry-after': when }) : respond(200)));
    await new HttpClient(t, clock, new MemoryLogger()).send(
      { method: 'GET', url: 'https://a.test/x' },
      { service: 'A' },
    );
    expect(clock.sleeps[0]).toBeGreaterThanOrEqual(3_000);
  });

  it('retries dropped connections with growing backoff, then names the service', async () => {
    const clock = new FakeClock();
    const t = fakeTransport(() => {
      throw Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
    });
    const client = new HttpClient(t, clock, new MemoryLogger());
    const err = await client
      .send({ method: 'GET', url: 'https://a.test/x?sig=secret' }, { service: 'Azure Resource Manager' })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RemoteError);
    expect((err as Error).message).toContain('Could not reach Azure Resource Manager (https://a.test/x)');
    expect((err as Error).message).not.toContain('secret');
    expect(t.requests).toHaveLength(6);
    expect(clock.sleeps.length).toBe(5);
    expect(clock.sleeps[4]!).toBeGreaterThan(clock.sleeps[0]!);
  });

  it('does not retry a 400', async () => {
    const t = fakeTransport(() => respond(400, { error: { code: 'InvalidParameters' } }));
    const res = await new HttpClient(t, new FakeClock(), new MemoryLogger()).send(
      { method: 'POST', url: 'https://a.test/x' },
      { service: 'A' },
    );
    expect(res.status).toBe(400);
    expect(t.requests).toHaveLength(1);
  });

  it('follows a redirect to another host without the Authorization header', async () => {
    const t = fakeTransport((req) =>
      req.url.startsWith('https://reg.test')
        ? respond(307, '', { location: 'https://blob.test/data' })
        : respond(200, 'x'),
    );
    await new HttpClient(t, new FakeClock(), new MemoryLogger()).send(
      { method: 'GET', url: 'https://reg.test/v2/a/blobs/b', headers: { authorization: 'Bearer t' } },
      { service: 'R' },
    );
    expect(t.requests[1]!.url).toBe('https://blob.test/data');
    expect(t.requests[1]!.headers?.['authorization']).toBeUndefined();
  });
});

describe('HttpClient retry bounds', () => {
  it('waits exactly what Retry-After says, even 0, and stops after maxAttempts', async () => {
    const clock = new FakeClock();
    const t = fakeTransport(() => respond(429, {}, { 'retry-after': '0' }));
    const res = await new HttpClient(t, clock, new MemoryLogger()).send(
      { method: 'GET', url: 'https://a.test/x' },
      { service: 'A' },
    );
    expect(res.status).toBe(429);
    expect(t.requests).toHaveLength(DEFAULT_RETRY.maxAttempts);
    expect(clock.sleeps).toEqual(new Array(DEFAULT_RETRY.maxAttempts - 1).fill(0));
  });

  it('honours a Retry-After above the backoff cap instead of retrying early', async () => {
    const clock = new FakeClock();
    let calls = 0;
    const t = fakeTransport(() => (++calls === 1 ? respond(503, {}, { 'retry-after': '45' }) : respond(200)));
    await new HttpClient(t, clock, new MemoryLogger()).send(
      { method: 'GET', url: 'https://a.test/x' },
      { service: 'A' },
    );
    expect(clock.sleeps).toEqual([45_000]);
  });

  it('returns at once when Retry-After is longer than it may wait in all', async () => {
    const clock = new FakeClock();
    const logger = new MemoryLogger();
    const t = fakeTransport(() => respond(429, {}, { 'retry-after': '3600' }));
    const res = await new HttpClient(t, clock, logger).send(
      { method: 'GET', url: 'https://a.test/x' },
      { service: 'A' },
    );
    expect(res.status).toBe(429);
    expect(t.requests).toHaveLength(1);
    expect(clock.sleeps).toEqual([]);
    expect(logger.lines.join('\n')).toContain('not retrying: a wait of 3600 s would exceed 120 s');
  });

  it('does not retry on a transport that was closed', async () => {
    const clock = new FakeClock();
    const t = fakeTransport(() => {
      throw Object.assign(new Error('The client is destroyed'), { code: 'UND_ERR_DESTROYED' });
    });
    const err = await new HttpClient(t, clock, new MemoryLogger())
      .send({ method: 'GET', url: 'https://a.test/x' }, { service: 'A' })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RemoteError);
    expect(t.requests).toHaveLength(1);
  });
});
