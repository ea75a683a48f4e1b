/**
 * How the registry client asks for tokens when a batch reads many repositories at once (issue 11): the first
 * challenge of a registry is met once, the tokens asked for in one turn come from one request, a token that covers
 * fewer repositories than asked for is answered per repository, and an image that gives up while it waits for the
 * first challenge stops waiting. The end-to-end proofs against the bed are in e2e/many-images.test.ts.
 */
import { HttpClient } from '../../src/engine/net/http.js';
import { RegistryClient, TokenServerAuthorizer } from '../../src/engine/clients/registry.js';
import type { HttpRequest } from '../../src/engine/ports.js';
import { FakeClock, MemoryLogger, fakeTransport, respond } from './fakes.js';

const DIGEST = `sha256:${'a'.repeat(64)}`;
const REALM = 'https://auth.r.test/token';

/** A registry at r.test whose token server grants `granted(scopes)` of what it is asked for. */
function registry(
  options: {
    granted?: (scopes: string[]) => string[];
    stallFirst?: Promise<void>;
    /** Serves every manifest without a challenge (as MCR does). */
    anonymous?: boolean;
    learnsChallenge?: boolean;
  } = {},
) {
  const granted = options.granted ?? ((scopes: string[]) => scopes);
  let first = true;
  const transport = fakeTransport(async (req: HttpRequest) => {
    const url = new URL(req.url);
    if (url.host === 'auth.r.test') {
      const scopes = url.searchParams.getAll('scope');
      return respond(200, { token: `t:${granted(scopes).join(',')}` });
    }
    const repository = url.pathname.replace(/^\/v2\/(.+)\/manifests\/[^/]+$/, '$1');
    const scope = `repository:${repository}:pull`;
    const challenge = {
      'www-authenticate': `Bearer realm="${REALM}",service="r.test",scope="${scope}"`,
    };
    if (first && options.stallFirst) {
      first = false;
      await options.stallFirst;
    }
    const token = req.headers?.['authorization']?.replace(/^Bearer t:/, '');
    if (!options.anonymous && (token === undefined || !token.split(',').includes(scope)))
      return respond(401, '', challenge);
    return respond(200, '', {
      'docker-content-digest': DIGEST,
      'content-type': 'application/vnd.oci.image.manifest.v1+json',
    });
  });
  const http = new HttpClient(transport, new FakeClock(), new MemoryLogger());
  const client = new RegistryClient(
    http,
    'r.test',
    new TokenServerAuthorizer(http, () => {}, undefined, 'r.test', options.learnsChallenge),
  );
  const sent = (): string[] =>
    transport.requests.map((r) => {
      const url = new URL(r.url);
      return url.host === 'auth.r.test'
        ? `token ${url.searchParams.getAll('scope').join(' ')}`
        : `${r.method} ${url.pathname} ${r.headers?.['authorization'] ? 'with token' : 'anonymous'}`;
    });
  return { client, sent };
}

const REPOS = ['team/a', 'team/b', 'team/c'];

describe('tokens for a batch from one registry', () => {
  it('meets the challenge once and gets one token for every repository read in that turn', async () => {
    const { client, sent } = registry();
    const found = await Promise.all(REPOS.map((r) => client.headManifest(r, 'v1')));
    expect(found.map((f) => f?.digest)).toEqual([DIGEST, DIGEST, DIGEST]);
    expect(sent()).toEqual([
      'HEAD /v2/team/a/manifests/v1 anonymous',
      'token repository:team/a:pull repository:team/b:pull repository:team/c:pull',
      'HEAD /v2/team/a/manifests/v1 with token',
      'HEAD /v2/team/b/manifests/v1 with token',
      'HEAD /v2/team/c/manifests/v1 with token',
    ]);
  });

  it('asks the learned realm first for a repository read later, without meeting the challenge again', async () => {
    const { client, sent } = registry();
    await client.headManifest('team/a', 'v1');
    await client.headManifest('team/b', 'v1');
    expect(sent().slice(3)).toEqual([
      'token repository:team/b:pull',
      'HEAD /v2/team/b/manifests/v1 with token',
    ]);
  });

  it('answers per repository what a shared token does not cover', async () => {
    const { client, sent } = registry({ granted: (scopes) => scopes.slice(0, 1) });
    const found = await Promise.all(REPOS.map((r) => client.headManifest(r, 'v1')));
    expect(found.map((f) => f?.digest)).toEqual([DIGEST, DIGEST, DIGEST]);
    const tokens = sent().filter((line) => line.startsWith('token'));
    expect(tokens).toEqual([
      'token repository:team/a:pull repository:team/b:pull repository:team/c:pull',
      'token repository:team/b:pull',
      'token repository:team/c:pull',
    ]);
  });

  it('lets an image that gives up stop waiting for the first challenge', async () => {
    let unstall!: () => void;
    const { client } = registry({ stallFirst: new Promise<void>((resolve) => (unstall = resolve)) });
    const probe = client.headManifest('team/a', 'v1');
    const controller = new AbortController();
    const waiting = client.headManifest('team/b', 'v1', controller.signal);
    controller.abort(new Error('the image timed out'));
    await expect(waiting).rejects.toThrow('the image timed out');
    unstall();
    expect((await probe)?.digest).toBe(DIGEST);
  });

  it('does not hold the first wave for a registry known to answer without a challenge', async () => {
    let unstall!: () => void;
    const { client, sent } = registry({
      anonymous: true,
      learnsChallenge: false,
      stallFirst: new Promise<void>((resolve) => (unstall = resolve)),
    });
    const first = client.headManifest('team/a', 'v1');
    // The other two are answered while the first still waits for its answer.
    const others = await Promise.all(['team/b', 'team/c'].map((r) => client.headManifest(r, 'v1')));
    expect(others.map((f) => f?.digest)).toEqual([DIGEST, DIGEST]);
    unstall();
    expect((await first)?.digest).toBe(DIGEST);
    expect(sent().filter((line) => line.startsWith('token'))).toEqual([]);
  });
});
