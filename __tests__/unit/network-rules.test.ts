/**
 * Issue 13's network rules at the unit level (the end-to-end proofs are in e2e/hostile-network.test.ts): the proxy
 * decision (undici's NO_PROXY rules), redirects and origins, and the digest checks of the registry client.
 */
import { createHash } from 'node:crypto';
import { InputError, RemoteError } from '../../src/engine/errors.js';
import { HttpClient } from '../../src/engine/net/http.js';
import { proxyFor, proxySettingsFromEnv } from '../../src/engine/net/proxy.js';
import { isDigest, RegistryClient, type RegistryAuthorizer } from '../../src/engine/clients/registry.js';
import { FakeClock, MemoryLogger, fakeTransport, respond } from './fakes.js';

describe('proxy decision', () => {
  const proxied = (env: Record<string, string>, url: string): string | undefined =>
    proxyFor(proxySettingsFromEnv(env), new URL(url))?.href;

  it.each<[string, Record<string, string>, string, string | undefined]>([
    ['no proxy set', {}, 'https://a.test/', undefined],
    ['HTTPS_PROXY', { HTTPS_PROXY: 'http://p.test:3128' }, 'https://a.test/', 'http://p.test:3128/'],
    ['no scheme means http://', { HTTPS_PROXY: 'p.test:3128' }, 'https://a.test/', 'http://p.test:3128/'],
    [
      'lower case first',
      { https_proxy: 'http://l.test:1', HTTPS_PROXY: 'http://u.test:2' },
      'https://a.test/',
      'http://l.test:1/',
    ],
    ['HTTP_PROXY serves https too', { HTTP_PROXY: 'http://p.test:1' }, 'https://a.test/', 'http://p.test:1/'],
    ['NO_PROXY=*', { HTTPS_PROXY: 'http://p.test:1', NO_PROXY: '*' }, 'https://login.test/', undefined],
    ['NO_PROXY host', { HTTPS_PROXY: 'http://p.test:1', NO_PROXY: 'a.test' }, 'https://a.test/', undefined],
    [
      'NO_PROXY host matches subdomains',
      { HTTPS_PROXY: 'http://p.test:1', NO_PROXY: 'a.test' },
      'https://x.a.test/',
      undefined,
    ],
    [
      'NO_PROXY .domain matches the domain',
      { HTTPS_PROXY: 'http://p.test:1', NO_PROXY: '.a.test' },
      'https://a.test/',
      undefined,
    ],
    [
      'NO_PROXY *.domain: subdomains only',
      { HTTPS_PROXY: 'http://p.test:1', NO_PROXY: '*.a.test' },
      'https://a.test/',
      'http://p.test:1/',
    ],
    [
      'NO_PROXY with a port',
      { HTTPS_PROXY: 'http://p.test:1', NO_PROXY: 'a.test:8443' },
      'https://a.test/',
      'http://p.test:1/',
    ],
    [
      'NO_PROXY with the port',
      { HTTPS_PROXY: 'http://p.test:1', NO_PROXY: 'a.test:443' },
      'https://a.test/',
      undefined,
    ],
    [
      'NO_PROXY spaces and IPs',
      { HTTPS_PROXY: 'http://p.test:1', NO_PROXY: 'x.test 127.0.0.1' },
      'https://127.0.0.1:5000/',
      undefined,
    ],
    [
      'no_proxy before NO_PROXY',
      { HTTPS_PROXY: 'http://p.test:1', no_proxy: 'b.test', NO_PROXY: 'a.test' },
      'https://a.test/',
      'http://p.test:1/',
    ],
  ])('%s', (_what, env, url, expected) => {
    expect(proxied(env, url)).toBe(expected);
  });

  it('a value that is no proxy URL is an input error naming the variable, credentials hidden', () => {
    let error: unknown;
    try {
      proxySettingsFromEnv({ HTTPS_PROXY: 'socks5://user:pw@p.test:1' });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(InputError);
    const message = (error as InputError).message;
    expect(message).toContain('HTTPS_PROXY (environment variable): is not a proxy URL');
    expect(message).not.toContain('pw');
  });
});

describe('redirects', () => {
  const client = (location: string): { http: HttpClient; urls: string[]; auth: (string | undefined)[] } => {
    const urls: string[] = [];
    const auth: (string | undefined)[] = [];
    const t = fakeTransport((req) => {
      urls.push(req.url);
      auth.push(req.headers?.['authorization']);
      return urls.length === 1 ? respond(307, '', { location }) : respond(200, 'ok');
    });
    return { http: new HttpClient(t, new FakeClock(), new MemoryLogger()), urls, auth };
  };
  const send = (http: HttpClient): Promise<unknown> =>
    http.send(
      { method: 'GET', url: 'https://r.test/v2/x', headers: { authorization: 'Basic c2VjcmV0' } },
      { service: 'registry r.test' },
    );

  it('never follows https -> http, even on the same host', async () => {
    const { http, urls } = client('http://r.test/v2/x');
    await expect(send(http)).rejects.toThrow(
      'registry r.test redirected GET https://r.test/v2/x to http://r.test/v2/x; refusing to follow a redirect from https to plain http.',
    );
    expect(urls).toEqual(['https://r.test/v2/x']);
  });

  it.each([
    ['another host', 'https://blob.test/x'],
    ['another port', 'https://r.test:444/x'],
  ])('drops Authorization on a redirect to %s', async (_what, location) => {
    const { http, auth } = client(location);
    await send(http);
    expect(auth).toEqual(['Basic c2VjcmV0', undefined]);
  });

  it('keeps Authorization within the origin', async () => {
    const { http, auth } = client('/v2/y');
    await send(http);
    expect(auth).toEqual(['Basic c2VjcmV0', 'Basic c2VjcmV0']);
  });
});

describe('registry digests', () => {
  const anonymous: RegistryAuthorizer = { preemptive: false, authorize: () => Promise.resolve(undefined) };
  const bytes = Buffer.from('{"schemaVersion":2}');
  const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
  const registry = (headers: Record<string, string>): RegistryClient =>
    new RegistryClient(
      new HttpClient(
        fakeTransport((req) =>
          respond(200, req.method === 'HEAD' ? '' : bytes.toString(), {
            'content-type': 'application/vnd.oci.image.manifest.v1+json',
            ...headers,
          }),
        ),
        new FakeClock(),
        new MemoryLogger(),
      ),
      'r.test',
      anonymous,
    );

  it.each([
    ['sha256:' + 'a'.repeat(64), true],
    ['sha512:' + 'b'.repeat(128), true],
    ['sha256:' + 'A'.repeat(64), false],
    ['sha256:abc', false],
    ['../../_catalog', false],
    ['md5:' + 'a'.repeat(32), false],
  ])('isDigest(%j) is %s', (value, ok) => {
    expect(isDigest(value)).toBe(ok);
  });

  it('takes a header that hashes the bytes read', async () => {
    expect((await registry({ 'docker-content-digest': digest }).getManifest('x/y', 'v1'))?.digest).toBe(
      digest,
    );
  });

  it.each([
    ['a malformed header', '../../_catalog', 'a malformed Docker-Content-Digest'],
    ['a header for other bytes', `sha256:${'0'.repeat(64)}`, 'for a manifest whose content hashes to'],
  ])('refuses %s, naming the registry', async (_what, header, words) => {
    const read = registry({ 'docker-content-digest': header }).getManifest('x/y', 'v1');
    await expect(read).rejects.toThrow(RemoteError);
    await expect(read).rejects.toThrow(`r.test answered `);
    await expect(read).rejects.toThrow(words);
  });

  it('refuses a HEAD digest that is not the one asked for', async () => {
    const other = `sha256:${'1'.repeat(64)}`;
    await expect(registry({ 'docker-content-digest': other }).headManifest('x/y', digest)).rejects.toThrow(
      'for the manifest asked for by digest',
    );
  });

  it('never builds a URL from a reference that is neither a tag nor a digest', async () => {
    await expect(registry({}).headManifest('x/y', '../../_catalog')).rejects.toThrow('not a tag or a digest');
  });
});
