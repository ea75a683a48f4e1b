/**
 * Issue 13, the network items: the bundle (`node dist/index.js`) against a hostile source registry, a hostile ARM, a
 * stalled sign-in endpoint and refusing proxies, all on 127.0.0.1 (testbed/hostile.ts). Each test states the rule it
 * proves; each failed before the fix (see the report of the change).
 *
 * - The hostile fronts stand in front of the bed's real hub / private registry / the emulator's ARM and pass
 *   everything through until a handler plays the attacker. Handlers act only on requests of the action itself
 *   (its User-Agent), not on the emulator's own pulls when it runs an import.
 * - One port of a front speaks TLS and plain HTTP, so `https://127.0.0.1:P` -> `http://127.0.0.1:P` is a redirect to
 *   the same host, as `https://registry.example` -> `http://registry.example` is.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { startBed, type StartedBed } from '../../testbed/bed.js';
import {
  startHostileFront,
  startHostileProxy,
  type HostileFront,
  type HostileProxy,
  type HostileRequest,
  type ProxyMode,
} from '../../testbed/hostile.js';
import { runAction, type ActionRun } from '../../testbed/run-action.js';
import {
  expectFailure,
  expectSuccess,
  failureText,
  readWorkspaceFile,
  results,
  visibleLog,
} from './scenario-helpers.js';

let bed: StartedBed;
let hub: HostileFront;
let priv: HostileFront;
let arm: HostileFront;
/** A host that is nobody's: whatever reaches it went somewhere it should not have. */
let elsewhere: HostileFront;

const INDEX = 'application/vnd.oci.image.index.v1+json';
const MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const MiB = 1024 * 1024;

beforeAll(async () => {
  bed = await startBed({ retryAfterSeconds: 1 });
  const tls = {
    cert: readFileSync(bed.pki.certFile, 'utf8'),
    key: readFileSync(bed.pki.keyFile, 'utf8'),
    ca: bed.caPem,
  };
  [hub, priv, arm, elsewhere] = await Promise.all([
    startHostileFront({ upstream: bed.sources.hub.url, tls }),
    startHostileFront({ upstream: bed.sources.private.url, tls }),
    // A gateway in front of ARM, with its own token for ARM (ARM accepts only its own audience).
    startHostileFront({ upstream: bed.arm.endpoint, tls, authorization: armToken }),
    startHostileFront({ tls }),
  ]);
});

afterAll(async () => {
  await Promise.all([hub, priv, arm, elsewhere].map((f) => f?.close()));
  await bed?.stop();
});

beforeEach(async () => {
  await bed.control.reset();
  for (const f of [hub, priv, arm, elsewhere]) f.reset();
});

// ---------------------------------------------------------------------------------------------------------------------
// Helpers

let counter = 0;
const fresh = (name: string): string => `hostile/${name}-${++counter}`;

/** A request the action made (the emulator's own pulls during an import carry another User-Agent). */
const fromAction = (req: HostileRequest): boolean =>
  (req.headers['user-agent'] ?? '').startsWith('acr-import/');
const isManifest = (req: HostileRequest): boolean => /\/v2\/.+\/manifests\//.test(req.url);

/** The inputs of a run against the hostile ARM front instead of the emulator's ARM. */
function viaArmFront(): Record<string, string> {
  return { ...bed.baseInputs(), 'resource-manager-endpoint': arm.url };
}

function hubSource(key: string): { source: string; digest: string; repository: string; tag: string } {
  const image = bed.sources.hub.images[key]!;
  return {
    source: `${hub.host}/${image.repository}:${image.tag}`,
    digest: image.digest,
    repository: image.repository,
    tag: image.tag,
  };
}

function answer(res: ServerResponse, status: number, headers: Record<string, string>, body = ''): true {
  res.writeHead(status, { 'content-length': String(Buffer.byteLength(body)), ...headers });
  res.end(body);
  return true;
}

let cachedArmToken: Promise<string> | undefined;
/** An ARM token of the deployer (client credentials at the emulator's Entra), for the ARM front's own requests. */
function armToken(): Promise<string> {
  cachedArmToken ??= (async () => {
    const { Agent, request } = await import('undici');
    const dispatcher = new Agent({ connect: { ca: bed.caPem } });
    try {
      const deployer = bed.principals.deployer;
      const res = await request(`${bed.entra.authorityHost}/${deployer.tenantId}/oauth2/v2.0/token`, {
        method: 'POST',
        dispatcher,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'client_credentials',
          client_id: deployer.clientId,
          client_secret: deployer.clientSecret!,
          scope: `${bed.arm.endpoint}/.default`,
        }).toString(),
      });
      const body = (await res.body.json()) as { access_token?: string };
      if (!body.access_token) throw new Error(`no ARM token for the front (HTTP ${res.statusCode})`);
      return `Bearer ${body.access_token}`;
    } finally {
      await dispatcher.close();
    }
  })();
  return cachedArmToken;
}

/** Everything a run shows its user, in one string. */
const everything = (run: ActionRun): string => `${visibleLog(run)}\n${run.summary}`;

// ---------------------------------------------------------------------------------------------------------------------

describe('1. credentials go only to the exact origin they were issued for', () => {
  it('refuses an https -> http redirect on the same host: no password in clear text, nothing pinned', async () => {
    const image = bed.sources.private.images['ociSingle']!;
    const redirectedTo: string[] = [];
    priv.handle((req, res) => {
      if (req.scheme !== 'https' || !fromAction(req) || !isManifest(req) || !req.headers['authorization'])
        return false;
      redirectedTo.push(`${priv.plainUrl}${req.url}`);
      return answer(res, 307, { location: `${priv.plainUrl}${req.url}` });
    });
    const repository = fresh('redirect');
    const run = await runAction(bed, {
      ...bed.baseInputs(),
      source: `${priv.host}/${image.repository}:${image.tag}`,
      'source-username': bed.sources.private.username!,
      'source-password': bed.sources.private.password!,
      'target-tags': `${repository}:1`,
    });
    expect(redirectedTo.length).toBeGreaterThan(0);
    // Nothing reached the plain-HTTP side of the host: no Basic header, no token, not even the request.
    expect(priv.log.filter((r) => r.scheme === 'http')).toEqual([]);
    expectFailure(run);
    expect(failureText(run)).toContain(
      `registry ${priv.host} redirected HEAD ${priv.url}/v2/${image.repository}/manifests/${image.tag} to ${priv.plainUrl}/v2/${image.repository}/manifests/${image.tag}; refusing to follow a redirect from https to plain http.`,
    );
    expect(await bed.digestOf(bed.acrs.target, repository, '1')).toBeUndefined();
  });

  it('follows a redirect to another origin (blob storage) without the credentials', async () => {
    const image = bed.sources.private.images['ociSingle']!;
    // The "storage" origin: another port, with its own access (it forwards to the registry with the account).
    const basic = `Basic ${Buffer.from(`${bed.sources.private.username}:${bed.sources.private.password}`).toString('base64')}`;
    elsewhere.handle((req, res) => {
      const upstream = `${bed.sources.private.url}${req.url}`;
      void fetchWithBed(upstream, req.method, basic).then(({ status, headers, body }) =>
        answer(res, status, headers, req.method === 'HEAD' ? '' : body),
      );
      return true;
    });
    priv.handle((req, res) => {
      if (!fromAction(req) || !isManifest(req) || !req.headers['authorization']) return false;
      return answer(res, 307, { location: `${elsewhere.url}${req.url}` });
    });
    const repository = fresh('storage');
    const run = await runAction(bed, {
      ...bed.baseInputs(),
      source: `${priv.host}/${image.repository}:${image.tag}`,
      'source-username': bed.sources.private.username!,
      'source-password': bed.sources.private.password!,
      'target-tags': `${repository}:1`,
    });
    expectSuccess(run);
    expect(run.outputs['digest']).toBe(image.digest);
    const atStorage = elsewhere.log.filter(fromAction);
    expect(atStorage.length).toBeGreaterThan(0);
    for (const req of atStorage) expect(req.headers['authorization']).toBeUndefined();
  });
});

describe('2. the ARM token follows Location and nextLink only to https on the ARM endpoint', () => {
  it.each<[string, () => string]>([
    ['plain http on the same host', () => arm.plainUrl],
    ['another https origin', () => elsewhere.url],
  ])('an operation Location on %s fails the image, and no token is sent there', async (_what, base) => {
    await bed.control.setFaults({ importDelayMs: 2_000 });
    arm.rewrite((req, out) => {
      const location = out.headers['location'];
      if (req.method === 'POST' && /\/importImage\?/.test(req.url) && typeof location === 'string') {
        out.headers['location'] = location.replace(arm.url, base());
      }
    });
    const { source } = hubSource('ociSingle');
    const run = await runAction(bed, { ...viaArmFront(), source, 'target-tags': `${fresh('loc')}:1` });
    expect(arm.log.filter((r) => r.scheme === 'http')).toEqual([]);
    expect(elsewhere.log).toEqual([]);
    expectFailure(run);
    const text = failureText(run);
    expect(text).toContain('Azure Resource Manager gave the import operation (Location) as ');
    expect(text).toContain(`which is not an https URL on ${arm.url}; refusing to send the ARM token there.`);
  });

  it('a nextLink to another origin fails the lookup, and no token is sent there', async () => {
    arm.handle((req, res) => {
      if (req.method !== 'GET' || !/\/providers\/Microsoft\.ContainerRegistry\/registries\?/i.test(req.url))
        return false;
      const next = `${elsewhere.url}/subscriptions/${bed.subscriptions.main}/providers/Microsoft.ContainerRegistry/registries?api-version=2025-04-01&$skipToken=2`;
      return answer(
        res,
        200,
        { 'content-type': 'application/json' },
        JSON.stringify({ value: [], nextLink: next }),
      );
    });
    const { source } = hubSource('ociSingle');
    const run = await runAction(bed, { ...viaArmFront(), source, 'target-tags': `${fresh('next')}:1` });
    expect(elsewhere.log).toEqual([]);
    expectFailure(run);
    expect(failureText(run)).toContain(
      `Azure Resource Manager gave the next page of registries (nextLink) as ${elsewhere.url}/subscriptions/`,
    );
  });
});

describe('4. every request has a deadline, sign-in included; the run ends near its timeout', () => {
  const stall = (front: HostileFront): void => front.handle(() => true);

  it('a stalled Entra ID: the run fails within its timeout, naming Entra ID', async () => {
    stall(elsewhere);
    const { source } = hubSource('ociSingle');
    const run = await runAction(
      bed,
      { ...bed.baseInputs(), 'authority-host': elsewhere.url, source, timeout: '6s' },
      { timeoutMs: 90_000 },
    );
    expect(run.timedOut).toBe(false);
    expectFailure(run);
    expect(run.durationMs).toBeLessThan(6_000 + 5_000);
    const text = failureText(run);
    expect(text).toMatch(/Entra ID did not answer|No answer from Entra ID/);
    expect(text).toContain(`${elsewhere.url}/`);
    expect(elsewhere.log.length).toBeGreaterThan(0);
  });

  it("a stalled GitHub OIDC endpoint: the run fails within its timeout, naming GitHub's OIDC endpoint", async () => {
    stall(elsewhere);
    const { source } = hubSource('ociSingle');
    const run = await runAction(
      bed,
      { ...bed.baseInputs(), source, timeout: '6s' },
      {
        timeoutMs: 90_000,
        env: { ACTIONS_ID_TOKEN_REQUEST_URL: `${elsewhere.url}/_apis/idtoken?api-version=2.0` },
      },
    );
    expect(run.timedOut).toBe(false);
    expectFailure(run);
    expect(run.durationMs).toBeLessThan(6_000 + 5_000);
    expect(failureText(run)).toContain(
      `did not finish within 6s. No answer from GitHub's OIDC endpoint (${elsewhere.url}/_apis/idtoken`,
    );
  });
});

describe('5. manifests are capped at 4 MiB', () => {
  /** HEAD without a digest header, so the action must GET the manifest (as for older registries). */
  const noDigestOnHead = (req: HostileRequest, res: ServerResponse): boolean =>
    req.method === 'HEAD' && fromAction(req) && isManifest(req)
      ? answer(res, 200, { 'content-type': MANIFEST })
      : false;

  it('refuses a streamed manifest past 4 MiB, naming the source, without reading the rest', async () => {
    let written = 0;
    hub.handle(noDigestOnHead);
    hub.handle((req, res) => {
      if (req.method !== 'GET' || !fromAction(req) || !isManifest(req)) return false;
      res.writeHead(200, { 'content-type': MANIFEST });
      const chunk = Buffer.alloc(64 * 1024, 0x20);
      const pump = (): void => {
        while (written < 1024 * MiB && !res.destroyed) {
          written += chunk.length;
          if (!res.write(chunk)) {
            res.once('drain', pump);
            return;
          }
        }
        res.end();
      };
      res.on('close', () => undefined);
      pump();
      return true;
    });
    const { source, repository, tag } = hubSource('ociSingle');
    const run = await runAction(bed, { ...bed.baseInputs(), source, 'target-tags': `${fresh('big')}:1` });
    expectFailure(run);
    expect(failureText(run)).toContain(
      `${hub.host} sent a manifest larger than 4 MiB for ${repository}:${tag}; refusing to read it`,
    );
    // It stopped reading at the cap (what was in flight on the socket aside), far from the 1 GiB on offer.
    expect(written).toBeLessThan(64 * MiB);
  });

  it('refuses a manifest that declares 1.5 GB at once', async () => {
    hub.handle(noDigestOnHead);
    hub.handle((req, res) => {
      if (req.method !== 'GET' || !fromAction(req) || !isManifest(req)) return false;
      res.writeHead(200, { 'content-type': MANIFEST, 'content-length': String(1_500_000_000) });
      res.write('{');
      return true;
    });
    const { source, repository, tag } = hubSource('ociSingle');
    const run = await runAction(bed, { ...bed.baseInputs(), source, 'target-tags': `${fresh('big')}:1` });
    expectFailure(run);
    expect(failureText(run)).toContain(
      `${hub.host} sent a manifest larger than 4 MiB for ${repository}:${tag}`,
    );
    expect(run.durationMs).toBeLessThan(10_000);
  });
});

describe('6. a slowly dribbled answer fails at its read deadline, saying the source was too slow', () => {
  it('names the registry as too slow, well before the image timeout, with no talk of retries', async () => {
    hub.handle((req, res) => {
      if (!fromAction(req) || !isManifest(req)) return false;
      const body = JSON.stringify({ schemaVersion: 2, mediaType: MANIFEST, padding: 'x'.repeat(200) });
      res.writeHead(200, { 'content-type': MANIFEST, 'content-length': String(body.length) });
      if (req.method === 'HEAD') {
        res.end();
        return true;
      }
      let i = 0;
      const timer = setInterval(() => {
        if (res.destroyed || i >= body.length) {
          clearInterval(timer);
          if (!res.destroyed) res.end();
          return;
        }
        res.write(body[i++]!);
      }, 250);
      res.on('close', () => clearInterval(timer));
      return true;
    });
    const { source } = hubSource('ociSingle');
    const run = await runAction(bed, {
      ...bed.baseInputs(),
      source,
      'target-tags': `${fresh('slow')}:1`,
      timeout: '10s',
    });
    expectFailure(run);
    const text = failureText(run);
    expect(text).toContain(`registry ${hub.host} is too slow: its answer did not arrive within 5 s (`);
    expect(text).not.toContain('retried');
    expect(run.durationMs).toBeLessThan(10_000);
  });
});

describe('7. Docker-Content-Digest is checked before it is used', () => {
  it('a traversal value is refused, naming the source, and never reaches a URL', async () => {
    hub.rewrite((req, out) => {
      if (fromAction(req) && isManifest(req) && req.method === 'HEAD')
        out.headers['docker-content-digest'] = '../../../_catalog';
    });
    const { source } = hubSource('ociSingle');
    const untagged = fresh('traversal');
    const run = await runAction(bed, {
      ...bed.baseInputs(),
      source,
      'target-tags': `${untagged}:1`,
      'untagged-repositories': untagged,
    });
    const target = await bed.control.requests({ service: `acr:${bed.acrs.target.name}` });
    expect(target.filter((r) => r.url.includes('_catalog'))).toEqual([]);
    expectFailure(run);
    expect(failureText(run)).toContain(`${hub.host} answered a malformed Docker-Content-Digest`);
    expect(
      (await bed.control.requests({ service: 'arm' })).filter((r) => r.url.includes('/importImage')),
    ).toEqual([]);
  });

  it('a digest header that does not hash the bytes read fails, naming the source', async () => {
    const lie = `sha256:${createHash('sha256').update('something else').digest('hex')}`;
    hub.handle((req, res) =>
      req.method === 'HEAD' && fromAction(req) && isManifest(req)
        ? answer(res, 200, { 'content-type': MANIFEST })
        : false,
    );
    hub.rewrite((req, out) => {
      if (fromAction(req) && isManifest(req) && req.method === 'GET')
        out.headers['docker-content-digest'] = lie;
    });
    const { source } = hubSource('ociSingle');
    const run = await runAction(bed, { ...bed.baseInputs(), source, 'target-tags': `${fresh('lie')}:1` });
    expectFailure(run);
    expect(failureText(run)).toContain(
      `${hub.host} answered Docker-Content-Digest ${lie} for a manifest whose content hashes to sha256:`,
    );
    expect(
      (await bed.control.requests({ service: 'arm' })).filter((r) => r.url.includes('/importImage')),
    ).toEqual([]);
  });

  it('with platform:, imports the child digest named by the index read, not what a HEAD claims', async () => {
    const image = bed.sources.hub.images['multiArch']!;
    const [wanted, other] = image.platforms as [(typeof image.platforms)[0], (typeof image.platforms)[0]];
    hub.rewrite((req, out) => {
      if (req.method === 'HEAD' && fromAction(req) && req.url.endsWith(`/manifests/${wanted.digest}`))
        out.headers['docker-content-digest'] = other.digest;
    });
    const repository = fresh('platform');
    const run = await runAction(bed, {
      ...bed.baseInputs(),
      source: `${hub.host}/${image.repository}:${image.tag}`,
      'target-tags': `${repository}:1`,
      platform: wanted.platform,
    });
    expectSuccess(run);
    expect(run.outputs['digest']).toBe(wanted.digest);
    expect(await bed.digestOf(bed.acrs.target, repository, '1')).toBe(wanted.digest);
  });
});

describe('8. a poll that answers 200 with an unreadable body is not final', () => {
  it('keeps polling and watching, and the import completes', async () => {
    await bed.control.setFaults({ importDelayMs: 2_500, retryAfter: 1 });
    let garbled = 0;
    arm.handle((req, res) => {
      if (req.method !== 'GET' || !/operationResults/i.test(req.url) || garbled > 0) return false;
      garbled++;
      return answer(res, 200, { 'content-type': 'application/json' }, '{"status": "Succ');
    });
    const { source, digest } = hubSource('ociSingle');
    const repository = fresh('poll');
    const run = await runAction(bed, { ...viaArmFront(), source, 'target-tags': `${repository}:1` });
    expectSuccess(run);
    expect(garbled).toBe(1);
    expect(await bed.digestOf(bed.acrs.target, repository, '1')).toBe(digest);
    expect(results(run)[0]!.targets).toEqual([
      { ref: `${bed.acrs.target.loginServer}/${repository}:1`, digest },
    ]);
  });
});

describe('9. wait: false lists no target that may not exist yet', () => {
  it('images output empty, the lock file says submitted and lists no targets', async () => {
    await bed.control.setFaults({ importDelayMs: 3_000 });
    const { source, digest } = hubSource('ociSingle');
    const repository = fresh('nowait');
    const run = await runAction(bed, {
      ...bed.baseInputs(),
      source,
      'target-tags': `${repository}:1`,
      wait: 'false',
      'lock-file': 'hostile-nowait.lock.json',
    });
    expectSuccess(run);
    // The import is still running: the target does not exist, and nothing says it does.
    expect(await bed.digestOf(bed.acrs.target, repository, '1')).toBeUndefined();
    expect(results(run)[0]!.status).toBe('submitted');
    expect(run.outputs['digest']).toBe(digest);
    expect(run.outputs['images']).toBe('');
    const lock = JSON.parse(await readWorkspaceFile(bed, 'hostile-nowait.lock.json')) as {
      images: { source: string; digest: string; targets: unknown[]; status?: string }[];
    };
    expect(lock.images).toEqual([
      expect.objectContaining({ source, digest, targets: [], status: 'submitted' }),
    ]);
  });
});

describe('11. proxies: one decision for every request, refusals named', () => {
  const proxies: HostileProxy[] = [];
  afterAll(async () => {
    await Promise.all(proxies.map((p) => p.close()));
  });
  const proxy = async (mode: ProxyMode): Promise<HostileProxy> => {
    const p = await startHostileProxy(mode);
    proxies.push(p);
    return p;
  };
  /** No proxy variables from the machine: each test sets the ones it is about. */
  const noProxyEnv = {
    HTTPS_PROXY: undefined,
    https_proxy: undefined,
    HTTP_PROXY: undefined,
    http_proxy: undefined,
  };

  it.each<[string, ProxyMode, string]>([
    ['403', 403, 'refused to connect to 127.0.0.1:'],
    ['407', 407, 'refused to connect to 127.0.0.1:'],
    ['a dropped connection', 'drop', 'through the proxy'],
  ])(
    'a proxy that answers %s is reported as a proxy problem naming the proxy',
    async (_what, mode, words) => {
      const p = await proxy(mode);
      const { source } = hubSource('ociSingle');
      const run = await runAction(
        bed,
        { ...bed.baseInputs(), source, 'target-tags': `${fresh('proxy')}:1` },
        { env: { ...noProxyEnv, NO_PROXY: undefined, no_proxy: undefined, HTTPS_PROXY: p.url } },
      );
      expectFailure(run);
      const text = failureText(run);
      expect(text).toContain(`the proxy ${p.url}`);
      expect(text).toContain(words);
      expect(text).not.toMatch(/app registration|client-id/i);
      if (mode === 407) expect(text).toContain('http://user:password@host:port');
      expect(p.connects.length).toBeGreaterThan(0);
    },
  );

  it('HTTPS_PROXY without a scheme is a proxy on http://, used for every request, with no stack trace', async () => {
    const p = await proxy('pass');
    const image = bed.sources.hub.images['ociSingle']!;
    const repository = fresh('noscheme');
    const run = await runAction(
      bed,
      {
        ...bed.baseInputs(),
        source: `${bed.sources.hub.host}/${image.repository}:${image.tag}`,
        'target-tags': `${repository}:1`,
      },
      { env: { ...noProxyEnv, NO_PROXY: undefined, no_proxy: undefined, HTTPS_PROXY: p.host } },
    );
    expectSuccess(run);
    expect(run.stderr).not.toMatch(/^\s+at /m);
    expect(await bed.digestOf(bed.acrs.target, repository, '1')).toBe(image.digest);
    // One decision for all: GitHub's OIDC endpoint, Entra ID, ARM, the source and the target's data plane.
    const ports = bed.emulatorConfig.ports;
    const expected = [
      `127.0.0.1:${ports.oidc}`,
      `127.0.0.1:${ports.entra}`,
      `127.0.0.1:${ports.arm}`,
      bed.sources.hub.host,
      bed.acrs.target.loginServer,
    ];
    for (const host of expected) expect(p.connects).toContain(host);
  });

  it('NO_PROXY=* means no request uses the proxy, Entra ID included', async () => {
    const p = await proxy('pass');
    const image = bed.sources.hub.images['ociSingle']!;
    const repository = fresh('noproxy');
    const run = await runAction(
      bed,
      {
        ...bed.baseInputs(),
        source: `${bed.sources.hub.host}/${image.repository}:${image.tag}`,
        'target-tags': `${repository}:1`,
      },
      { env: { ...noProxyEnv, HTTPS_PROXY: p.url, NO_PROXY: '*', no_proxy: undefined } },
    );
    expectSuccess(run);
    expect(p.connects).toEqual([]);
  });

  it('an HTTPS_PROXY that is no URL at all is an input error naming the variable, before any request', async () => {
    const { source } = hubSource('ociSingle');
    const run = await runAction(
      bed,
      { ...bed.baseInputs(), source, 'target-tags': `${fresh('badproxy')}:1` },
      { env: { ...noProxyEnv, HTTPS_PROXY: 'http://user:secret@[not a host' } },
    );
    expectFailure(run);
    expect(failureText(run)).toContain('HTTPS_PROXY (environment variable): is not a proxy URL');
    expect(everything(run)).not.toContain('secret');
    expect(run.stderr).not.toMatch(/^\s+at /m);
    expect(await bed.control.requests()).toEqual([]);
  });
});

/** A request to one of the bed's registries with the bed's CA (the "storage" origin's own access). */
async function fetchWithBed(
  url: string,
  method: string,
  authorization: string,
): Promise<{ status: number; headers: Record<string, string>; body: string }> {
  const { Agent, request } = await import('undici');
  const dispatcher = new Agent({ connect: { ca: bed.caPem } });
  try {
    const res = await request(url, {
      method: method as 'GET',
      headers: {
        authorization,
        accept: [INDEX, MANIFEST, 'application/vnd.docker.distribution.manifest.v2+json'].join(', '),
      },
      dispatcher,
    });
    const body = method === 'HEAD' ? '' : await res.body.text();
    if (method === 'HEAD') await res.body.dump();
    const headers: Record<string, string> = {};
    for (const name of ['content-type', 'docker-content-digest']) {
      const v = res.headers[name];
      if (typeof v === 'string') headers[name] = v;
    }
    return { status: res.statusCode, headers, body };
  } finally {
    await dispatcher.close();
  }
}
