/**
 * The ACR data plane in front of each backing registry (challenge, /oauth2/exchange, /oauth2/token, scope checks,
 * the firewall, pass-through with upload URLs rewritten), the Docker-Hub-like token server (tokens the real
 * docker-registry accepts), and the Control API (faults, request log, issued secrets).
 */
import type { StartedBed } from '../../testbed/bed.js';
import { useBed } from '../bed-hooks.js';
import { RegistryClient, copyImage } from '../../testbed/oci.js';
import type { SeededImage } from '../../testbed/types.js';
import {
  claimsOf,
  entraToken,
  FORM,
  headerOf,
  httpClient,
  idToken,
  startEmulatorVariant,
  type Client,
} from './emulator-helpers.js';

let bed: StartedBed;
let client: Client;
let armToken: string;

useBed(async (started) => {
  bed = started;
  client = httpClient(bed.caPem);
  armToken = await entraToken(bed, client);
});
afterAll(async () => {
  await client?.close();
});

const image = (images: Record<string, SeededImage>, key: string): SeededImage => {
  const found = images[key];
  if (!found) throw new Error(`no seeded image ${key}`);
  return found;
};
const ACCEPT =
  'application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.docker.distribution.manifest.v2+json';

async function exchange(
  loginServer: string,
  accessToken: string,
  extra: Record<string, string> = {},
): Promise<ReturnType<Client['request']>> {
  return client.request(`https://${loginServer}/oauth2/exchange`, {
    method: 'POST',
    headers: FORM,
    body: new URLSearchParams({
      grant_type: 'access_token',
      service: loginServer,
      tenant: bed.tenants.main,
      access_token: accessToken,
      ...extra,
    }).toString(),
  });
}

async function accessToken(loginServer: string, refreshToken: string, scope: string): Promise<string> {
  const reply = await client.request(`https://${loginServer}/oauth2/token`, {
    method: 'POST',
    headers: FORM,
    body: new URLSearchParams({
      grant_type: 'refresh_token',
      service: loginServer,
      scope,
      refresh_token: refreshToken,
    }).toString(),
  });
  expect(reply.status).toBe(200);
  return (reply.json() as { access_token: string }).access_token;
}

describe('ACR data plane', () => {
  it('challenges like ACR, with the scope on resource URLs', async () => {
    const login = bed.acrs.target.loginServer;
    const base = await client.request(`https://${login}/v2/`);
    expect(base.status).toBe(401);
    expect(base.headers['www-authenticate']).toBe(
      `Bearer realm="https://${login}/oauth2/token",service="${login}"`,
    );
    expect((base.json() as { errors: { code: string }[] }).errors[0]?.code).toBe('UNAUTHORIZED');
    const resource = await client.request(`https://${login}/v2/library/hello/manifests/latest`, {
      method: 'HEAD',
    });
    expect(resource.headers['www-authenticate']).toBe(
      `Bearer realm="https://${login}/oauth2/token",service="${login}",scope="repository:library/hello:pull"`,
    );
  });

  it('exchanges ARM- and ACR-audience Entra tokens for a refresh token, and grants what RBAC allows', async () => {
    const source = bed.acrs.source;
    const viaArm = await exchange(source.loginServer, armToken);
    expect(viaArm.status).toBe(200);
    const refresh = (viaArm.json() as { refresh_token: string }).refresh_token;
    const rc = claimsOf(refresh);
    expect(rc).toMatchObject({
      aud: source.loginServer,
      sub: bed.principals.deployer.objectId,
      iss: 'Azure Container Registry',
    });
    expect((rc['exp'] as number) - (rc['iat'] as number)).toBe(3 * 3600);

    const acrAad = await entraToken(bed, client, { scope: 'https://containerregistry.azure.net/.default' });
    expect((await exchange(source.loginServer, acrAad)).status).toBe(200);

    const img = image(source.images, 'ociSingle');
    const access = await accessToken(source.loginServer, refresh, `repository:${img.repository}:pull,push`);
    expect(claimsOf(access)['access']).toEqual([
      { type: 'repository', name: img.repository, actions: ['pull'] },
    ]);

    const head = await client.request(
      `https://${source.loginServer}/v2/${img.repository}/manifests/${img.tag}`,
      {
        method: 'HEAD',
        headers: { authorization: `Bearer ${access}`, accept: ACCEPT },
      },
    );
    expect(head.status).toBe(200);
    expect(head.headers['docker-content-digest']).toBe(img.digest);
    expect(
      (
        await client.request(`https://${source.loginServer}/v2/`, {
          headers: { authorization: `Bearer ${access}` },
        })
      ).status,
    ).toBe(200);

    const push = await client.request(`https://${source.loginServer}/v2/${img.repository}/blobs/uploads/`, {
      method: 'POST',
      headers: { authorization: `Bearer ${access}` },
    });
    expect(push.status).toBe(401);
    expect(push.headers['www-authenticate']).toContain('error="insufficient_scope"');
    expect(push.headers['www-authenticate']).toContain(`scope="repository:${img.repository}:pull,push"`);
  });

  it('rejects bad, foreign-tenant and mismatched exchanges', async () => {
    const target = bed.acrs.target.loginServer;
    expect((await exchange(target, 'garbage')).status).toBe(401);
    const foreign = await entraToken(bed, client, {
      principal: 'foreign',
      scope: 'https://containerregistry.azure.net/.default',
    });
    const fromOtherTenant = await exchange(target, foreign, { tenant: bed.tenants.other });
    expect(fromOtherTenant.status).toBe(401);
    expect((await exchange(target, foreign, { tenant: '' })).status).toBe(401);
    expect((await exchange(target, armToken, { service: 'someone.azurecr.io' })).status).toBe(401);
    const otherTenantAcr = bed.acrs.otherTenant.loginServer;
    const ok = await client.request(`https://${otherTenantAcr}/oauth2/exchange`, {
      method: 'POST',
      headers: FORM,
      body: new URLSearchParams({
        grant_type: 'access_token',
        service: otherTenantAcr,
        access_token: foreign,
      }).toString(),
    });
    expect(ok.status).toBe(200);
  });

  it('takes SP id + secret at GET /oauth2/token (Basic) and as grant_type=password; reader gets no actions', async () => {
    const source = bed.acrs.source;
    const { clientId, clientSecret } = bed.principals.deployer;
    const basic = `Basic ${Buffer.from(`${clientId}:${clientSecret ?? ''}`).toString('base64')}`;
    const viaGet = await client.request(
      `https://${source.loginServer}/oauth2/token?service=${source.loginServer}&scope=repository:app/web:pull`,
      { headers: { authorization: basic } },
    );
    expect(viaGet.status).toBe(200);
    expect(claimsOf((viaGet.json() as { access_token: string }).access_token)['access']).toEqual([
      { type: 'repository', name: 'app/web', actions: ['pull'] },
    ]);
    const wrong = await client.request(
      `https://${source.loginServer}/oauth2/token?service=${source.loginServer}&scope=x`,
      {
        headers: { authorization: `Basic ${Buffer.from(`${clientId}:nope`).toString('base64')}` },
      },
    );
    expect(wrong.status).toBe(401);
    const viaPassword = await client.request(`https://${source.loginServer}/oauth2/token`, {
      method: 'POST',
      headers: FORM,
      body: new URLSearchParams({
        grant_type: 'password',
        service: source.loginServer,
        scope: 'repository:app/web:pull registry:catalog:*',
        username: clientId,
        password: clientSecret ?? '',
      }).toString(),
    });
    expect(claimsOf((viaPassword.json() as { access_token: string }).access_token)['access']).toEqual([
      { type: 'repository', name: 'app/web', actions: ['pull'] },
      { type: 'registry', name: 'catalog', actions: ['*'] },
    ]);
    // Basic straight on /v2/ resources works too (as with ACR's admin user and SP credentials).
    const img = image(source.images, 'multiArch');
    const direct = await client.request(
      `https://${source.loginServer}/v2/${img.repository}/manifests/${img.tag}`,
      {
        headers: { authorization: basic, accept: ACCEPT },
      },
    );
    expect(direct.status).toBe(200);
    expect(direct.headers['docker-content-digest']).toBe(img.digest);

    const reader = await entraToken(bed, client, { principal: 'reader' });
    const refresh = (await exchange(source.loginServer, reader)).json() as { refresh_token: string };
    const access = await accessToken(source.loginServer, refresh.refresh_token, 'repository:app/web:pull');
    expect(claimsOf(access)['access']).toEqual([{ type: 'repository', name: 'app/web', actions: [] }]);
    const denied = await client.request(`https://${source.loginServer}/v2/app/web/manifests/1.0`, {
      headers: { authorization: `Bearer ${access}` },
    });
    expect(denied.status).toBe(401);
  });

  it('refuses ARM-audience tokens at /oauth2/exchange when azureADAuthenticationAsArmPolicy is disabled', async () => {
    const variant = await startEmulatorVariant(bed, (config) => ({
      ...config,
      registries: config.registries.map((r) =>
        r.name === bed.acrs.target.name ? { ...r, armTokenAuth: false } : r,
      ),
    }));
    try {
      const origin = (port: number): string => `https://127.0.0.1:${port}`;
      const view = { ...bed, entra: { authorityHost: origin(variant.config.ports.entra) } } as StartedBed;
      const login = `127.0.0.1:${variant.config.registries.find((r) => r.name === bed.acrs.target.name)?.port ?? 0}`;
      const arm = await entraToken(view, client, { secret: true });
      const refused = await exchange(login, arm);
      expect(refused.status).toBe(401);
      expect((refused.json() as { errors: { message: string }[] }).errors[0]?.message).toContain(
        'azureADAuthenticationAsArmPolicy',
      );
      const acr = await entraToken(view, client, {
        secret: true,
        scope: 'https://containerregistry.azure.net/.default',
      });
      expect((await exchange(login, acr)).status).toBe(200);
      const registry = (
        await client.request(
          `${origin(variant.config.ports.arm)}${bed.acrs.target.resourceId}?api-version=2023-07-01`,
          {
            headers: { authorization: `Bearer ${arm}` },
          },
        )
      ).json() as { properties: { policies: { azureADAuthenticationAsArmPolicy: { status: string } } } };
      expect(registry.properties.policies.azureADAuthenticationAsArmPolicy.status).toBe('disabled');
    } finally {
      await variant.stop();
    }
  });

  it('answers 403 DENIED to everything when public network access is disabled', async () => {
    const locked = bed.acrs.locked.loginServer;
    for (const [path, method] of [
      ['/v2/', 'GET'],
      ['/oauth2/exchange', 'POST'],
      ['/oauth2/token?service=x&scope=y', 'GET'],
    ] as const) {
      const reply = await client.request(`https://${locked}${path}`, { method });
      expect(reply.status).toBe(403);
      expect(reply.json()).toEqual({
        errors: [
          {
            code: 'DENIED',
            message:
              "client with IP '127.0.0.1' is not allowed access. Refer https://aka.ms/acr/firewall to grant access.",
          },
        ],
      });
    }
  });

  it('passes pushes through to the backing registry (upload URLs rewritten) for a principal with AcrPush', async () => {
    const variant = await startEmulatorVariant(bed, (config) => ({
      ...config,
      roleAssignments: [
        ...config.roleAssignments,
        { principal: 'deployer', role: 'push', scope: bed.acrs.target.resourceId },
      ],
    }));
    const port = variant.config.registries.find((r) => r.name === bed.acrs.target.name)?.port ?? 0;
    const hub = bed.sources.hub;
    const img = image(hub.images, 'manifestList');
    const src = new RegistryClient({ url: hub.url, ca: bed.caPem, tokenProvider: bed.hubToken });
    const dst = new RegistryClient({
      url: `https://127.0.0.1:${port}`,
      ca: bed.caPem,
      username: bed.principals.deployer.clientId,
      password: bed.principals.deployer.clientSecret,
    });
    try {
      const result = await copyImage(src, img.repository, img.tag, dst, 'pushed/busybox', { tags: ['1.36'] });
      expect(result.digest).toBe(img.digest);
      expect(await bed.digestOf(bed.acrs.target, 'pushed/busybox', '1.36')).toBe(img.digest);
      // The monolithic upload's PUT came back through the data plane: the backend's Location was rewritten.
      const log = (
        await client.request(
          `https://127.0.0.1:${variant.config.ports.control}/requests?service=acr:${bed.acrs.target.name}`,
        )
      ).json() as { method: string; url: string; status: number }[];
      expect(
        log.some(
          (r) =>
            r.method === 'PUT' && r.url.startsWith('/v2/pushed/busybox/blobs/uploads/') && r.status === 201,
        ),
      ).toBe(true);
    } finally {
      await Promise.all([src.close(), dst.close(), variant.stop()]);
    }
  });
});

describe('hub token server', () => {
  const tokenUrl = (): string => `https://127.0.0.1:${bed.emulatorConfig.ports.hubAuth}/token`;
  const service = (): string => bed.emulatorConfig.hub.service;

  it('issues anonymous pull tokens the real registry accepts', async () => {
    const hub = bed.sources.hub;
    const img = image(hub.images, 'multiArch');
    const challenge = await client.request(`${hub.url}/v2/${img.repository}/manifests/${img.tag}`, {
      headers: { accept: ACCEPT },
    });
    expect(challenge.status).toBe(401);
    expect(challenge.headers['www-authenticate']).toContain(`realm="${tokenUrl()}"`);

    const reply = await client.request(
      `${tokenUrl()}?service=${service()}&scope=repository:${img.repository}:pull,push`,
    );
    expect(reply.status).toBe(200);
    const body = reply.json() as {
      token: string;
      access_token: string;
      expires_in: number;
      issued_at: string;
    };
    expect(body.token).toBe(body.access_token);
    expect(body.expires_in).toBe(300);
    expect(Number.isNaN(Date.parse(body.issued_at))).toBe(false);
    const header = headerOf(body.token);
    expect(header['alg']).toBe('ES256');
    expect(header['kid']).toBeUndefined();
    expect((header['x5c'] as string[]).length).toBe(1);
    expect(claimsOf(body.token)).toMatchObject({
      iss: bed.emulatorConfig.hub.issuer,
      aud: service(),
      sub: '',
      access: [{ type: 'repository', name: img.repository, actions: ['pull'] }],
    });

    const pulled = await client.request(`${hub.url}/v2/${img.repository}/manifests/${img.tag}`, {
      headers: { accept: ACCEPT, authorization: `Bearer ${body.token}` },
    });
    expect(pulled.status).toBe(200);
    expect(pulled.headers['docker-content-digest']).toBe(img.digest);
  });

  it('grants push to a push account only, rejects wrong passwords, and knows no repository without a namespace', async () => {
    const pusher = bed.emulatorConfig.hub.accounts.find((a) => a.push);
    const puller = bed.emulatorConfig.hub.accounts.find((a) => !a.push);
    const basic = (u: string, p: string): Record<string, string> => ({
      authorization: `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`,
    });
    const ask = (headers: Record<string, string>, scope: string): ReturnType<Client['request']> =>
      client.request(`${tokenUrl()}?service=${service()}&scope=${encodeURIComponent(scope)}`, { headers });
    const actions = async (reply: ReturnType<Client['request']>): Promise<unknown> =>
      claimsOf(((await reply).json() as { token: string }).token)['access'];

    expect(
      await actions(
        ask(basic(pusher?.username ?? '', pusher?.password ?? ''), 'repository:library/x:pull,push'),
      ),
    ).toEqual([{ type: 'repository', name: 'library/x', actions: ['pull', 'push'] }]);
    expect(
      await actions(
        ask(basic(puller?.username ?? '', puller?.password ?? ''), 'repository:library/x:pull,push'),
      ),
    ).toEqual([{ type: 'repository', name: 'library/x', actions: ['pull'] }]);
    const wrong = await ask(basic(puller?.username ?? '', 'nope'), 'repository:library/x:pull');
    expect(wrong.status).toBe(401);
    expect(await actions(ask({}, 'repository:nginx:pull'))).toEqual([
      { type: 'repository', name: 'nginx', actions: [] },
    ]);
  });

  it('throttles with TOOMANYREQUESTS on demand', async () => {
    await bed.control.setFaults({ throttle: { service: 'hub', count: 1 } });
    const reply = await client.request(`${tokenUrl()}?service=${service()}&scope=repository:library/x:pull`);
    expect(reply.status).toBe(429);
    expect(reply.headers['retry-after']).toBe('1');
    expect((reply.json() as { errors: { code: string }[] }).errors[0]?.code).toBe('TOOMANYREQUESTS');
  });
});

describe('Control API', () => {
  const control = (): string => `https://127.0.0.1:${bed.emulatorConfig.ports.control}`;

  it('validates and merges faults, and reports health', async () => {
    const bad = await client.request(`${control()}/faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ throttle: { service: 'nowhere', count: 1 }, nope: true }),
    });
    expect(bad.status).toBe(400);
    expect((bad.json() as { error: string }).error).toContain("unknown fault switch 'nope'");
    await bed.control.setFaults({ retryAfter: 2 });
    await bed.control.setFaults({ importLatencyMs: 5 });
    expect((await client.request(`${control()}/faults`)).json()).toEqual({
      retryAfter: 2,
      importLatencyMs: 5,
    });
    const health = (await client.request(`${control()}/healthz`)).json() as { ok: boolean; pid: number };
    expect(health).toMatchObject({ ok: true, pid: bed.emulatorPid });
  });

  it('logs every request (service, method, url, lower-case headers, body, status, time) oldest first', async () => {
    await bed.control.clearRequests();
    await idToken(bed, client);
    const failing = await client.request(`${bed.entra.authorityHost}/${bed.tenants.main}/oauth2/v2.0/token`, {
      method: 'POST',
      headers: { ...FORM, 'X-Custom-Header': 'Shown' },
      body: 'grant_type=client_credentials&client_id=x&client_secret=s3cr3t&scope=https%3A%2F%2Fmanagement.azure.com%2F.default',
    });
    expect(failing.status).toBe(400);
    const log = await bed.control.requests();
    expect(log.map((r) => [r.service, r.method, r.status])).toEqual([
      ['oidc', 'GET', 200],
      ['entra', 'POST', 400],
    ]);
    const [first, second] = log;
    expect(first?.url).toBe(
      new URL(`${bed.oidc.requestUrl}&audience=api%3A%2F%2FAzureADTokenExchange`).pathname +
        new URL(`${bed.oidc.requestUrl}&audience=api%3A%2F%2FAzureADTokenExchange`).search,
    );
    expect(first?.headers['authorization']).toBe(`Bearer ${bed.oidc.requestToken}`);
    expect(second?.headers['x-custom-header']).toBe('Shown');
    expect(second?.body).toContain('client_secret=s3cr3t');
    expect(second?.time).toBeGreaterThanOrEqual(first?.time ?? Infinity);
    expect((await bed.control.requests({ service: 'entra' })).length).toBe(1);
    await bed.control.reset();
    expect(await bed.control.requests()).toEqual([]);
  });

  it('lists every secret it issued or holds', async () => {
    const id = await idToken(bed, client);
    const arm = await entraToken(bed, client, { secret: true });
    const secrets = await bed.control.issuedSecrets();
    expect(secrets).toEqual(
      expect.arrayContaining([
        id,
        arm,
        armToken,
        bed.oidc.requestToken,
        bed.principals.deployer.clientSecret,
        bed.managedIdentity.header,
      ]),
    );
  });
});
