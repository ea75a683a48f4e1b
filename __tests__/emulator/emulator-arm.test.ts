/**
 * The emulated Azure Resource Manager: token checks with ARM's error codes, registry reads (paging, filters, RBAC,
 * 404s), importImage's synchronous answers (RBAC, validation), network faults; and the emulator process itself
 * (READY line, clean exit on SIGTERM).
 */
import type { StartedBed } from '../../testbed/bed.js';
import { EMULATOR_ARM_AUDIENCE } from '../../testbed/emulator/state.js';
import { useBed } from '../bed-hooks.js';
import {
  API,
  armImport,
  claimsOf,
  entraToken,
  httpClient,
  startEmulatorVariant,
  type Client,
} from './emulator-helpers.js';

let bed: StartedBed;
let client: Client;
let token: string;

useBed(async (started) => {
  bed = started;
  client = httpClient(bed.caPem);
  token = await entraToken(bed, client);
});
afterAll(async () => {
  await client?.close();
});

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const get = (path: string, bearer: string | null = token): ReturnType<Client['request']> =>
  client.request(`${bed.arm.endpoint}${path}${path.includes('?') ? '&' : '?'}${API}`, {
    headers: bearer ? { authorization: `Bearer ${bearer}` } : {},
  });
const errorOf = (reply: { json: () => unknown }): { code: string; message: string } =>
  (reply.json() as { error: { code: string; message: string } }).error;

describe('ARM authentication', () => {
  const path = (): string => bed.acrs.target.resourceId;

  it('answers 401 AuthenticationFailed with a WWW-Authenticate challenge when the header is missing', async () => {
    const reply = await get(path(), null);
    expect(reply.status).toBe(401);
    expect(errorOf(reply)).toEqual({
      code: 'AuthenticationFailed',
      message: "Authentication failed. The 'Authorization' header is missing.",
    });
    expect(reply.headers['www-authenticate']).toMatch(
      new RegExp(
        `^Bearer authorization_uri="${bed.entra.authorityHost}/${bed.tenants.main}", error="invalid_token"`,
      ),
    );
  });

  it('answers InvalidAuthenticationToken to garbage, to a token signed by someone else and to a wrong audience', async () => {
    expect(errorOf(await get(path(), 'not-a-jwt')).code).toBe('InvalidAuthenticationToken');
    const idToken = (
      (
        await client.request(`${bed.oidc.requestUrl}&audience=https://management.azure.com`, {
          headers: { authorization: `Bearer ${bed.oidc.requestToken}` },
        })
      ).json() as { value: string }
    ).value;
    expect(errorOf(await get(path(), idToken)).code).toBe('InvalidAuthenticationToken');

    const acrToken = await entraToken(bed, client, { scope: 'https://containerregistry.azure.net/.default' });
    const wrongAudience = await get(path(), acrToken);
    expect(wrongAudience.status).toBe(401);
    expect(errorOf(wrongAudience)).toEqual({
      code: 'InvalidAuthenticationToken',
      message: expect.stringContaining(
        "The access token has been obtained for wrong audience or resource 'https://containerregistry.azure.net'. It should exactly match with one of the allowed audiences 'https://management.azure.com/','https://management.azure.com'",
      ) as unknown as string,
    });
  });

  it('accepts every ARM audience form', async () => {
    for (const scope of [
      'https://management.azure.com/.default',
      'https://management.azure.com//.default',
      'https://management.core.windows.net//.default',
      'https://management.core.windows.net/.default',
      // The emulator cloud's own audience (its /metadata/endpoints names it; its URL is not one).
      `${EMULATOR_ARM_AUDIENCE}/.default`,
    ]) {
      const t = await entraToken(bed, client, { scope, secret: true });
      expect([scope, (await get(path(), t)).status]).toEqual([scope, 200]);
    }
  });

  it('answers ExpiredAuthenticationToken once the token expired', async () => {
    await bed.control.setFaults({ tokenLifetimeSeconds: 1 });
    const shortLived = await entraToken(bed, client, { secret: true });
    await bed.control.reset();
    await sleep(1100);
    const reply = await get(path(), shortLived);
    expect(reply.status).toBe(401);
    expect(errorOf(reply).code).toBe('ExpiredAuthenticationToken');
    expect(errorOf(reply).message).toMatch(
      /^The access token expiry UTC time '\d{1,2}\/\d{1,2}\/\d{4} \d{1,2}:\d{2}:\d{2} [AP]M' is earlier than current UTC time '.+'\.$/,
    );
  });

  it("answers InvalidAuthenticationTokenTenant to a token from another tenant than the subscription's", async () => {
    const foreign = await entraToken(bed, client, { principal: 'foreign' });
    expect(claimsOf(foreign)['tid']).toBe(bed.tenants.other);
    const reply = await get(path(), foreign);
    expect(reply.status).toBe(401);
    expect(errorOf(reply)).toEqual({
      code: 'InvalidAuthenticationTokenTenant',
      message: expect.stringMatching(
        new RegExp(
          `^The access token is from the wrong issuer 'https://sts.windows.net/${bed.tenants.other}/'. It must match the tenant 'https://sts.windows.net/${bed.tenants.main}/' associated with this subscription. Please use the authority \\(URL\\) '${bed.entra.authorityHost}/${bed.tenants.main}' to get the token.`,
        ),
      ) as unknown as string,
    });
    // In its own tenant's subscription the token is accepted (and RBAC decides: AcrPull has no registries/read).
    expect(errorOf(await get(bed.acrs.otherTenant.resourceId, foreign)).code).toBe('AuthorizationFailed');
  });

  it('requires api-version', async () => {
    const reply = await client.request(`${bed.arm.endpoint}${path()}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(reply.status).toBe(400);
    expect(errorOf(reply).code).toBe('MissingApiVersionParameter');
  });
});

describe('ARM registry reads', () => {
  it('returns the registry with its login server, policies and network settings', async () => {
    const reply = await get(bed.acrs.target.resourceId);
    expect(reply.status).toBe(200);
    expect(reply.headers['x-ms-request-id']).toBeTruthy();
    expect(reply.json()).toMatchObject({
      id: bed.acrs.target.resourceId,
      name: bed.acrs.target.name,
      type: 'Microsoft.ContainerRegistry/registries',
      location: 'westeurope',
      sku: { name: 'Premium', tier: 'Premium' },
      properties: {
        loginServer: bed.acrs.target.loginServer,
        provisioningState: 'Succeeded',
        publicNetworkAccess: 'Enabled',
        anonymousPullEnabled: false,
        policies: {
          exportPolicy: { status: 'enabled' },
          azureADAuthenticationAsArmPolicy: { status: 'enabled' },
        },
      },
    });
    // ARM paths are case-insensitive.
    expect((await get(bed.acrs.target.resourceId.toLowerCase())).status).toBe(200);
  });

  it('answers 403 AuthorizationFailed with the real message where the principal has no read right', async () => {
    const reply = await get(bed.acrs.source.resourceId);
    expect(reply.status).toBe(403);
    expect(errorOf(reply)).toEqual({
      code: 'AuthorizationFailed',
      message: `The client '${bed.principals.deployer.clientId}' with object id '${bed.principals.deployer.objectId}' does not have authorization to perform action 'Microsoft.ContainerRegistry/registries/read' over scope '${bed.acrs.source.resourceId}' or the scope is invalid. If access was recently granted, please refresh your credentials.`,
    });
    const reader = await entraToken(bed, client, { principal: 'reader' });
    const list = await get(
      `/subscriptions/${bed.subscriptions.main}/providers/Microsoft.ContainerRegistry/registries`,
      reader,
    );
    expect(list.status).toBe(403);
    expect(errorOf(list).code).toBe('AuthorizationFailed');
  });

  it('lists only what the principal may read', async () => {
    const reply = await get(
      `/subscriptions/${bed.subscriptions.main}/providers/Microsoft.ContainerRegistry/registries`,
    );
    expect((reply.json() as { value: { name: string }[] }).value.map((r) => r.name)).toEqual([
      bed.acrs.target.name,
    ]);
    expect(reply.json()).not.toHaveProperty('nextLink');
  });

  it('answers 404 SubscriptionNotFound for an unknown subscription', async () => {
    const reply = await get(
      '/subscriptions/00000000-0000-4000-a000-00000000dead/providers/Microsoft.ContainerRegistry/registries',
    );
    expect(reply.status).toBe(404);
    expect(errorOf(reply)).toEqual({
      code: 'SubscriptionNotFound',
      message: "The subscription '00000000-0000-4000-a000-00000000dead' could not be found.",
    });
  });

  describe('with a principal that may read the whole subscription (a second emulator process)', () => {
    let variant: Awaited<ReturnType<typeof startEmulatorVariant>>;
    let view: StartedBed;
    let vt: string;
    const vget = (path: string): ReturnType<Client['request']> =>
      client.request(path.startsWith('https://') ? path : `${view.arm.endpoint}${path}?${API}`, {
        headers: { authorization: `Bearer ${vt}` },
      });

    beforeAll(async () => {
      variant = await startEmulatorVariant(bed, (config) => ({
        ...config,
        roleAssignments: [
          ...config.roleAssignments,
          { principal: 'deployer', role: 'contributor', scope: `/subscriptions/${bed.subscriptions.main}` },
        ],
      }));
      const origin = (port: number): string => `https://127.0.0.1:${port}`;
      const requestUrl = bed.oidc.requestUrl.replace(bed.oidc.issuer, origin(variant.config.ports.oidc));
      view = {
        ...bed,
        oidc: { ...bed.oidc, requestUrl, issuer: origin(variant.config.ports.oidc) },
        entra: { authorityHost: origin(variant.config.ports.entra) },
        arm: { endpoint: origin(variant.config.ports.arm) },
      };
      vt = await entraToken(view, client);
    });
    afterAll(async () => {
      await variant?.stop();
    });

    it('pages registry lists two at a time with an absolute nextLink', async () => {
      const first = await vget(
        `/subscriptions/${bed.subscriptions.main}/providers/Microsoft.ContainerRegistry/registries`,
      );
      const page1 = first.json() as { value: { name: string }[]; nextLink?: string };
      expect(page1.value).toHaveLength(2);
      expect(page1.nextLink).toMatch(
        new RegExp(`^${view.arm.endpoint}/subscriptions/.+api-version=.+%24skipToken=2$`),
      );
      const page2 = (await vget(page1.nextLink ?? '')).json() as {
        value: { name: string }[];
        nextLink?: string;
      };
      expect(page2.nextLink).toBeUndefined();
      expect([...page1.value, ...page2.value].map((r) => r.name).sort()).toEqual(
        [bed.acrs.target.name, bed.acrs.source.name, bed.acrs.locked.name].sort(),
      );
    });

    it("lists generic resources with $filter=resourceType eq '...' (what az does)", async () => {
      const filter = encodeURIComponent("resourceType eq 'Microsoft.ContainerRegistry/registries'");
      const reply = await client.request(
        `${view.arm.endpoint}/subscriptions/${bed.subscriptions.main}/resources?$filter=${filter}&api-version=2024-11-01`,
        { headers: { authorization: `Bearer ${vt}` } },
      );
      const body = reply.json() as { value: Record<string, unknown>[]; nextLink?: string };
      expect(body.value[0]).toEqual({
        id: expect.stringMatching(
          /^\/subscriptions\/.+\/resourceGroups\/.+\/providers\/Microsoft.ContainerRegistry\/registries\/.+$/,
        ) as unknown,
        name: expect.any(String) as unknown,
        type: 'Microsoft.ContainerRegistry/registries',
        sku: { name: 'Premium', tier: 'Premium' },
        location: 'westeurope',
        tags: {},
      });
      expect(body.nextLink).toBeDefined();
      const rgs = (await vget(`/subscriptions/${bed.subscriptions.main}/resourcegroups`)).json() as {
        value: { name: string }[];
      };
      expect(rgs.value.map((g) => g.name).sort()).toEqual(['rg-app', 'rg-locked', 'rg-shared']);
    });

    it('answers 404 ResourceGroupNotFound and ResourceNotFound', async () => {
      const sub = `/subscriptions/${bed.subscriptions.main}`;
      const noGroup = await vget(
        `${sub}/resourceGroups/rg-nope/providers/Microsoft.ContainerRegistry/registries/targetacr`,
      );
      expect(noGroup.status).toBe(404);
      expect(errorOf(noGroup)).toEqual({
        code: 'ResourceGroupNotFound',
        message: "Resource group 'rg-nope' could not be found.",
      });
      const noRegistry = await vget(
        `${sub}/resourceGroups/rg-app/providers/Microsoft.ContainerRegistry/registries/nope`,
      );
      expect(noRegistry.status).toBe(404);
      expect(errorOf(noRegistry).code).toBe('ResourceNotFound');
      expect(errorOf(noRegistry).message).toContain(
        "The Resource 'Microsoft.ContainerRegistry/registries/nope' under resource group 'rg-app' was not found.",
      );
    });

    it('exits cleanly on SIGTERM', async () => {
      process.kill(variant.pid, 'SIGTERM');
      expect(await variant.exited).toBe(0);
    });
  });
});

describe('ARM importImage, synchronous answers', () => {
  it('answers 403 AuthorizationFailed naming the importImage action to a principal without the role', async () => {
    const reader = await entraToken(bed, client, { principal: 'reader' });
    const reply = await armImport(bed, client, reader, {
      source: { registryUri: 'x.io', sourceImage: 'a:1' },
    });
    expect(reply.status).toBe(403);
    expect(errorOf(reply).message).toContain(
      `does not have authorization to perform action 'Microsoft.ContainerRegistry/registries/importImage/action' over scope '${bed.acrs.target.resourceId}'`,
    );
  });

  it.each([
    [{ source: { registryUri: 'x.io' } }, "The 'source.sourceImage' property is required."],
    [
      { source: { sourceImage: 'a:1' } },
      "One of 'source.resourceId' and 'source.registryUri' must be specified.",
    ],
    [{ source: { sourceImage: 'a:1', registryUri: 'x.io', resourceId: '/subscriptions/x' } }, 'Only one of'],
    [
      { source: { sourceImage: 'docker.io/library/a:1', registryUri: 'docker.io' } },
      'must not contain a registry host',
    ],
    [
      { source: { sourceImage: 'a:1', registryUri: 'x.io' }, mode: 'Sometimes' },
      "The value 'Sometimes' is not valid for 'mode'",
    ],
    [{ source: { sourceImage: 'a:1', registryUri: 'x.io', credentials: { username: 'u' } } }, 'password'],
    [{ source: { sourceImage: 'a:1', registryUri: 'x.io' }, targetTags: ['a@sha256:00'] }, 'is not valid'],
  ])('answers 400 InvalidParameters to %j', async (body, fragment) => {
    const reply = await armImport(bed, client, token, body);
    expect(reply.status).toBe(400);
    expect(errorOf(reply).code).toBe('InvalidParameters');
    expect(errorOf(reply).message).toContain(fragment);
  });

  it('answers 400 InvalidRequestContent to a body that is not JSON, and requires api-version', async () => {
    const reply = await client.request(
      `${bed.arm.endpoint}${bed.acrs.target.resourceId}/importImage?${API}`,
      {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: '{not json',
      },
    );
    expect(errorOf(reply).code).toBe('InvalidRequestContent');
    const noVersion = await client.request(`${bed.arm.endpoint}${bed.acrs.target.resourceId}/importImage`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: '{}',
    });
    expect(errorOf(noVersion).code).toBe('MissingApiVersionParameter');
  });

  it('answers 403 LinkedAuthorizationFailed when the principal may not pull from a resourceId source', async () => {
    const reply = await armImport(bed, client, token, {
      source: { resourceId: bed.acrs.otherTenant.resourceId, sourceImage: 'partner/app:2.0' },
    });
    expect(reply.status).toBe(403);
    expect(errorOf(reply).code).toBe('LinkedAuthorizationFailed');
    expect(errorOf(reply).message).toContain(
      `does not have permission to perform action(s) 'Microsoft.ContainerRegistry/registries/pull/read' on the linked scope(s) '${bed.acrs.otherTenant.resourceId}'`,
    );
  });
});

describe('ARM network faults', () => {
  const path = (): string => bed.acrs.target.resourceId;

  it('throttles the first N requests with 429 SubscriptionRequestsThrottled and Retry-After', async () => {
    await bed.control.setFaults({ throttle: { service: 'arm', count: 2, retryAfter: 7 } });
    for (let i = 0; i < 2; i++) {
      const reply = await get(path());
      expect(reply.status).toBe(429);
      expect(reply.headers['retry-after']).toBe('7');
      expect(errorOf(reply).code).toBe('SubscriptionRequestsThrottled');
      expect(errorOf(reply).message).toContain("Please try again after '7' seconds");
    }
    expect((await get(path())).status).toBe(200);
  });

  it('answers one 5xx, then recovers; drops a connection on demand', async () => {
    await bed.control.setFaults({ serverError: { service: 'arm', count: 1, status: 500 } });
    const failed = await get(path());
    expect(failed.status).toBe(500);
    expect(errorOf(failed).code).toBe('InternalServerError');
    expect((await get(path())).status).toBe(200);

    await bed.control.setFaults({ dropConnections: { service: 'arm', count: 1 } });
    await expect(get(path())).rejects.toThrow();
    expect((await get(path())).status).toBe(200);
  });
});
