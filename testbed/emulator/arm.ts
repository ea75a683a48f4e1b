/**
 * Azure Resource Manager, as far as ACR import needs it:
 * - bearer-token checks like ARM's: signature (Entra keys), audience (`https://management.azure.com`,
 *   `https://management.core.windows.net/`, the emulator's own ARM URL; with or without the slash), expiry, and the
 *   token's tenant against the subscription's; 401 bodies with `WWW-Authenticate: Bearer authorization_uri=...`;
 * - `GET /subscriptions[/{sub}]`, resource groups, `GET /subscriptions/{sub}/resources?$filter=resourceType eq '...'`,
 *   registry lists (subscription and resource group; 2 per page, absolute `nextLink`) and registry GET, filtered and
 *   guarded by RBAC (403 AuthorizationFailed with ARM's message), 404 SubscriptionNotFound / ResourceGroupNotFound /
 *   ResourceNotFound;
 * - `POST .../registries/{name}/importImage?api-version=` (api-version required, any value): RBAC on the target (and
 *   pull on a `resourceId` source, whose export policy must be enabled), body validation (400), then the import
 *   (imports.ts): `200` when it finished within `syncThresholdMs`, else `202` + absolute `Location` + `Retry-After`;
 * - the `Location` URL: `202` while running, `200` with no body when done, and a failure either as
 *   `200 {"status":"Failed","error":{...}}` or as an error status with an ARM error body (fault `failureForm`).
 * Network faults: throttle / 5xx / dropped connections for `arm` (5xx for the poll URL under the name `poll`).
 */
import { randomUUID } from 'node:crypto';
import { applyNetworkFaults, bearer, retryAfterHeader, send, sendJson, type Ctx } from './http.js';
import { decodeJwt, numClaim, strClaim } from './jwt.js';
import { verifyEntraToken } from './entra.js';
import { parseImportBody, startImport, describeSource, type ImportOperation } from './imports.js';
import { ACTIONS } from './rbac.js';
import {
  EMULATOR_ARM_AUDIENCE,
  type PrincipalConfig,
  type Registry,
  type SubscriptionConfig,
  type World,
} from './state.js';

const PAGE_SIZE = 2;
const REGISTRY_TYPE = 'Microsoft.ContainerRegistry/registries';

const operations = new Map<string, ImportOperation>();

/** Import operations, newest last, for the Control API. */
export function listOperations(): unknown[] {
  return [...operations.values()].map((op) => ({
    id: op.id,
    target: op.target.id,
    source: describeSource(op.request),
    targetTags: op.request.targetTags.map((t) => `${t.repo}:${t.tag}`),
    untagged: op.request.untagged,
    mode: op.request.mode,
    status: op.status,
    hung: op.hung,
    digest: op.digest,
    error: op.error,
    startedAt: op.startedAt,
    finishedAt: op.finishedAt,
    copiedAt: op.copiedAt,
  }));
}

interface Caller {
  principal: PrincipalConfig;
  tenantId: string;
}

/** ARM's error body. */
function armError(
  ctx: Ctx,
  status: number,
  code: string,
  message: string,
  headers: Record<string, string> = {},
): void {
  sendJson(ctx, status, { error: { code, message } }, { ...armHeaders(ctx), ...headers });
}

function armHeaders(ctx: Ctx): Record<string, string> {
  const requestId = randomUUID();
  return {
    'cache-control': 'no-cache',
    pragma: 'no-cache',
    expires: '-1',
    'x-ms-request-id': requestId,
    'x-ms-correlation-request-id': ctx.headers['x-ms-correlation-request-id'] ?? requestId,
    'x-ms-routing-request-id': `EASTUS:${new Date().toISOString().replace(/[-:.]/g, '')}:${requestId}`,
    ...(ctx.headers['x-ms-client-request-id']
      ? { 'x-ms-client-request-id': ctx.headers['x-ms-client-request-id'] }
      : {}),
    ...(ctx.method === 'GET'
      ? { 'x-ms-ratelimit-remaining-subscription-reads': '11999' }
      : { 'x-ms-ratelimit-remaining-subscription-writes': '1199' }),
  };
}

function ok(ctx: Ctx, status: number, value: unknown, headers: Record<string, string> = {}): void {
  sendJson(ctx, status, value, { ...armHeaders(ctx), ...headers });
}

// ---------------------------------------------------------------------------------------------------------------
// Routes

const SUB = '/subscriptions/([^/]+)';
const RG = `${SUB}/resourcegroups/([^/]+)`;
const PROVIDER = '/providers/microsoft\\.containerregistry';
const ROUTES = {
  subscriptions: /^\/subscriptions\/?$/i,
  subscription: new RegExp(`^${SUB}/?$`, 'i'),
  resourceGroups: new RegExp(`^${SUB}/resourcegroups/?$`, 'i'),
  resourceGroup: new RegExp(`^${RG}/?$`, 'i'),
  resources: new RegExp(`^${SUB}/resources/?$`, 'i'),
  registriesInSub: new RegExp(`^${SUB}${PROVIDER}/registries/?$`, 'i'),
  registriesInRg: new RegExp(`^${RG}${PROVIDER}/registries/?$`, 'i'),
  registry: new RegExp(`^${RG}${PROVIDER}/registries/([^/]+)/?$`, 'i'),
  importImage: new RegExp(`^${RG}${PROVIDER}/registries/([^/]+)/importimage/?$`, 'i'),
  operationResult: new RegExp(
    `^${SUB}(?:/resourcegroups/[^/]+)?${PROVIDER}/locations/([^/]+)/operationresults/(?:operationstatuses/)?([^/]+)$`,
    'i',
  ),
  operationStatus: new RegExp(`^${SUB}${PROVIDER}/locations/([^/]+)/operationstatuses/([^/]+)$`, 'i'),
};

export async function handleArm(ctx: Ctx, world: World): Promise<void> {
  if (ctx.path.replace(/\/+$/, '').toLowerCase() === '/metadata/endpoints') return cloudMetadata(ctx, world);
  const isPoll = ROUTES.operationResult.test(ctx.path) || ROUTES.operationStatus.test(ctx.path);
  const faulted = applyNetworkFaults(
    ctx,
    world.control,
    { drop: 'arm', throttle: 'arm', serverError: isPoll ? 'poll' : 'arm' },
    {
      throttled: (retryAfter) => ({
        body: {
          error: {
            code: 'SubscriptionRequestsThrottled',
            message: `Number of '${ctx.method === 'GET' ? 'read' : 'write'}' requests for subscription '${subscriptionOf(ctx.path) ?? ''}' actor '${actorOf(ctx) ?? ''}' exceeded. Please try again after '${/^\d+$/.test(retryAfter) ? retryAfter : '1'}' seconds after additional tokens are available. Refer to https://aka.ms/arm-throttling`,
          },
        },
        headers: armHeaders(ctx),
      }),
      serverError: (status) => ({ error: serverErrorBody(ctx, status) }),
    },
  );
  if (faulted) return;

  const apiVersion = ctx.query.get('api-version');
  if (!apiVersion) {
    return armError(
      ctx,
      400,
      'MissingApiVersionParameter',
      'The api-version query parameter (?api-version=) is required for all requests.',
    );
  }

  const caller = authenticate(ctx, world);
  if (!caller) return;

  let m: RegExpExecArray | null;
  const get = ctx.method === 'GET';
  if (get && ROUTES.subscriptions.test(ctx.path)) return listSubscriptions(ctx, world, caller);
  if ((m = ROUTES.subscription.exec(ctx.path)) && get) return getSubscription(ctx, world, caller, m[1] ?? '');
  if ((m = ROUTES.resourceGroups.exec(ctx.path)) && get)
    return listResourceGroups(ctx, world, caller, m[1] ?? '');
  if ((m = ROUTES.resourceGroup.exec(ctx.path)) && get)
    return getResourceGroup(ctx, world, caller, m[1] ?? '', m[2] ?? '');
  if ((m = ROUTES.resources.exec(ctx.path)) && get) return listResources(ctx, world, caller, m[1] ?? '');
  if ((m = ROUTES.registriesInSub.exec(ctx.path)) && get)
    return listRegistries(ctx, world, caller, m[1] ?? '');
  if ((m = ROUTES.registriesInRg.exec(ctx.path)) && get) {
    return listRegistries(ctx, world, caller, m[1] ?? '', m[2] ?? '');
  }
  if ((m = ROUTES.registry.exec(ctx.path)) && get)
    return getRegistry(ctx, world, caller, m[1] ?? '', m[2] ?? '', m[3] ?? '');
  if ((m = ROUTES.importImage.exec(ctx.path))) {
    if (ctx.method !== 'POST')
      return armError(ctx, 405, 'MethodNotAllowed', `The method ${ctx.method} is not allowed.`);
    return importImage(ctx, world, caller, m[1] ?? '', m[2] ?? '', m[3] ?? '', apiVersion);
  }
  if ((m = ROUTES.operationResult.exec(ctx.path)) && get)
    return pollResult(ctx, world, caller, m[1] ?? '', m[3] ?? '');
  if ((m = ROUTES.operationStatus.exec(ctx.path)) && get)
    return pollStatus(ctx, world, caller, m[1] ?? '', m[3] ?? '');
  return armError(
    ctx,
    404,
    'NotFound',
    `The route ${ctx.method} ${ctx.path} is not served by this emulator.`,
  );
}

// ---------------------------------------------------------------------------------------------------------------
// Cloud metadata (anonymous): `GET /metadata/endpoints?api-version=`

/** API versions that answer the array form (one entry per cloud, as the public cloud's ARM lists them all). */
const ARRAY_FORM_VERSIONS = ['2019-05-01', '2020-06-01', '2022-09-01'];

function cloudMetadata(ctx: Ctx, world: World): void {
  if (ctx.method !== 'GET')
    return armError(ctx, 405, 'MethodNotAllowed', `The method ${ctx.method} is not allowed.`);
  const version = ctx.query.get('api-version');
  if (!version) {
    return armError(
      ctx,
      400,
      'MissingApiVersionParameter',
      'The api-version query parameter (?api-version=) is required for all requests.',
    );
  }
  const legacy = world.control.faults.armMetadata === 'legacy';
  const supported = legacy ? ['2015-01-01'] : ['2015-01-01', ...ARRAY_FORM_VERSIONS];
  if (!supported.includes(version)) {
    return armError(
      ctx,
      400,
      'InvalidApiVersionParameter',
      `The api-version '${version}' is invalid. The supported versions are '${supported.join(',')}'.`,
    );
  }
  const login = `${world.urls.entra}/`;
  const audiences = [`${EMULATOR_ARM_AUDIENCE}`];
  if (version === '2015-01-01') {
    return ok(ctx, 200, {
      galleryEndpoint: `${world.urls.arm}/gallery/`,
      graphEndpoint: 'https://graph.acrimport.emulator/',
      portalEndpoint: 'https://portal.acrimport.emulator/',
      authentication: { loginEndpoint: login, audiences },
    });
  }
  const publicCloud = (name: string, arm: string, loginEndpoint: string, audience: string): unknown => ({
    portal: 'https://portal.azure.com',
    authentication: {
      loginEndpoint,
      audiences: [audience, arm],
      tenant: 'common',
      identityProvider: 'AAD',
    },
    name,
    resourceManager: arm,
    suffixes: { acrLoginServer: 'azurecr.io' },
  });
  return ok(ctx, 200, [
    publicCloud(
      'AzureCloud',
      'https://management.azure.com/',
      'https://login.microsoftonline.com',
      'https://management.core.windows.net/',
    ),
    publicCloud(
      'AzureUSGovernment',
      'https://management.usgovcloudapi.net/',
      'https://login.microsoftonline.us',
      'https://management.core.usgovcloudapi.net/',
    ),
    {
      portal: 'https://portal.acrimport.emulator/',
      authentication: { loginEndpoint: login, audiences, tenant: 'common', identityProvider: 'AAD' },
      name: 'AcrImportEmulator',
      resourceManager: `${world.urls.arm}/`,
      suffixes: { acrLoginServer: '127.0.0.1' },
    },
  ]);
}

function subscriptionOf(path: string): string | undefined {
  return /^\/subscriptions\/([^/]+)/i.exec(path)?.[1];
}

function actorOf(ctx: Ctx): string | undefined {
  const token = bearer(ctx);
  const claims = token ? decodeJwt(token)?.claims : undefined;
  return claims ? strClaim(claims, 'oid') : undefined;
}

function serverErrorBody(ctx: Ctx, status: number): { code: string; message: string } {
  const tracking = randomUUID();
  const code =
    status === 502
      ? 'BadGateway'
      : status === 503
        ? 'ServiceUnavailable'
        : status === 504
          ? 'GatewayTimeout'
          : 'InternalServerError';
  return {
    code,
    message: `Encountered internal server error. Diagnostic information: timestamp '${new Date().toISOString().replace(/[-:]|\.\d+/g, '')}', subscription id '${subscriptionOf(ctx.path) ?? ''}', tracking id '${tracking}', request correlation id '${ctx.headers['x-ms-correlation-request-id'] ?? tracking}'.`,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Authentication

/** .NET's "M/d/yyyy h:mm:ss tt" in UTC, as ARM prints times in ExpiredAuthenticationToken. */
function dotnetUtc(seconds: number): string {
  const d = new Date(seconds * 1000);
  const h = d.getUTCHours();
  const pad = (n: number): string => String(n).padStart(2, '0');
  return `${d.getUTCMonth() + 1}/${d.getUTCDate()}/${d.getUTCFullYear()} ${h % 12 === 0 ? 12 : h % 12}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} ${h < 12 ? 'AM' : 'PM'}`;
}

function challengeHeader(world: World, ctx: Ctx, error: string, description: string): Record<string, string> {
  const sub = subscriptionOf(ctx.path);
  const tenant = sub ? world.subscription(sub)?.tenantId : undefined;
  const uri = tenant ? world.authority(tenant) : `${world.urls.entra}/`;
  return {
    'www-authenticate': `Bearer authorization_uri="${uri}", error="${error}", error_description="${description}"`,
  };
}

/** The caller behind the bearer token, or undefined after answering 401. */
function authenticate(ctx: Ctx, world: World): Caller | undefined {
  const token = bearer(ctx);
  const reject = (code: string, message: string, description: string): undefined => {
    armError(ctx, 401, code, message, challengeHeader(world, ctx, 'invalid_token', description));
    return undefined;
  };
  if (!token) {
    if (ctx.headers['authorization']) {
      return reject(
        'InvalidAuthenticationToken',
        'The access token is invalid.',
        'The authentication scheme of Bearer is required.',
      );
    }
    return reject(
      'AuthenticationFailed',
      "Authentication failed. The 'Authorization' header is missing.",
      "The authentication failed because of missing 'Authorization' header.",
    );
  }
  const check = verifyEntraToken(world, token);
  if (!check.ok) {
    if (check.reason === 'expired' && check.claims) {
      const exp = numClaim(check.claims, 'exp') ?? 0;
      return reject(
        'ExpiredAuthenticationToken',
        `The access token expiry UTC time '${dotnetUtc(exp)}' is earlier than current UTC time '${dotnetUtc(Math.floor(Date.now() / 1000))}'.`,
        'The access token has expired.',
      );
    }
    if (check.reason === 'not-yet-valid') {
      return reject(
        'InvalidAuthenticationToken',
        'The access token is not yet valid.',
        'The access token is not yet valid.',
      );
    }
    if (check.reason === 'signature') {
      return reject(
        'InvalidAuthenticationToken',
        'The access token is invalid.',
        'The access token signature could not be validated.',
      );
    }
    return reject(
      'InvalidAuthenticationToken',
      'The access token is invalid.',
      'The access token is invalid.',
    );
  }
  const aud = check.audience.replace(/\/+$/, '');
  if (!world.armAudiences().includes(aud)) {
    const allowed = world
      .armAudiences()
      .flatMap((a) => [`${a}/`, a])
      .map((a) => `'${a}'`)
      .join(',');
    return reject(
      'InvalidAuthenticationToken',
      `The access token has been obtained for wrong audience or resource '${check.audience}'. It should exactly match with one of the allowed audiences ${allowed}.`,
      'The access token has been obtained for wrong audience or resource.',
    );
  }
  const sub = subscriptionOf(ctx.path);
  const subscription = sub ? world.subscription(sub) : undefined;
  if (subscription && subscription.tenantId.toLowerCase() !== check.tenantId.toLowerCase()) {
    const t1 = world.entraIssuer(check.tenantId);
    const t2 = world.entraIssuer(subscription.tenantId);
    return reject(
      'InvalidAuthenticationTokenTenant',
      `The access token is from the wrong issuer '${t1}'. It must match the tenant '${t2}' associated with this subscription. Please use the authority (URL) '${world.authority(subscription.tenantId)}' to get the token. Note, if the subscription is transferred to another tenant there is no impact to the services, but information about new tenant could take time to propagate (up to an hour). If you just transferred your subscription and see this error message, please try back later.`,
      'The access token is from the wrong issuer.',
    );
  }
  return { principal: check.principal, tenantId: check.tenantId };
}

// ---------------------------------------------------------------------------------------------------------------
// Authorization and lookups

function authorizationFailed(ctx: Ctx, caller: Caller, action: string, scope: string): void {
  armError(
    ctx,
    403,
    'AuthorizationFailed',
    `The client '${caller.principal.clientId}' with object id '${caller.principal.objectId}' does not have authorization to perform action '${action}' over scope '${scope}' or the scope is invalid. If access was recently granted, please refresh your credentials.`,
  );
}

/** The subscription, or undefined after answering 404. */
function requireSubscription(ctx: Ctx, world: World, id: string): SubscriptionConfig | undefined {
  const subscription = world.subscription(id);
  if (!subscription)
    armError(ctx, 404, 'SubscriptionNotFound', `The subscription '${id}' could not be found.`);
  return subscription;
}

function resourceGroupExists(world: World, subscriptionId: string, rg: string): boolean {
  return world.resourceGroups(subscriptionId).some((g) => g.name.toLowerCase() === rg.toLowerCase());
}

function resourceNotFound(ctx: Ctx, rg: string, name: string): void {
  armError(
    ctx,
    404,
    'ResourceNotFound',
    `The Resource '${REGISTRY_TYPE}/${name}' under resource group '${rg}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix`,
  );
}

function resourceGroupNotFound(ctx: Ctx, rg: string): void {
  armError(ctx, 404, 'ResourceGroupNotFound', `Resource group '${rg}' could not be found.`);
}

// ---------------------------------------------------------------------------------------------------------------
// Read operations

function listSubscriptions(ctx: Ctx, world: World, caller: Caller): void {
  const value = world.config.subscriptions
    .filter(
      (s) =>
        s.tenantId.toLowerCase() === caller.tenantId.toLowerCase() &&
        world.rbac.hasAnyRoleUnder(caller.principal.name, `/subscriptions/${s.id}`),
    )
    .map((s) => subscriptionJson(s));
  ok(ctx, 200, { value, count: { type: 'Total', value: value.length } });
}

function subscriptionJson(s: SubscriptionConfig): Record<string, unknown> {
  return {
    id: `/subscriptions/${s.id}`,
    authorizationSource: 'RoleBased',
    managedByTenants: [],
    subscriptionId: s.id,
    tenantId: s.tenantId,
    displayName: s.displayName,
    state: 'Enabled',
    subscriptionPolicies: {
      locationPlacementId: 'Public_2014-09-01',
      quotaId: 'PayAsYouGo_2014-09-01',
      spendingLimit: 'Off',
    },
  };
}

function getSubscription(ctx: Ctx, world: World, caller: Caller, id: string): void {
  const subscription = requireSubscription(ctx, world, id);
  if (!subscription) return;
  if (!world.rbac.hasAnyRoleUnder(caller.principal.name, `/subscriptions/${subscription.id}`)) {
    return authorizationFailed(ctx, caller, ACTIONS.subscriptionRead, `/subscriptions/${id}`);
  }
  ok(ctx, 200, subscriptionJson(subscription));
}

function resourceGroupJson(
  subscriptionId: string,
  g: { name: string; location: string },
): Record<string, unknown> {
  return {
    id: `/subscriptions/${subscriptionId}/resourceGroups/${g.name}`,
    name: g.name,
    type: 'Microsoft.Resources/resourceGroups',
    location: g.location,
    properties: { provisioningState: 'Succeeded' },
  };
}

function listResourceGroups(ctx: Ctx, world: World, caller: Caller, sub: string): void {
  const subscription = requireSubscription(ctx, world, sub);
  if (!subscription) return;
  const groups = world
    .resourceGroups(subscription.id)
    .filter((g) =>
      world.rbac.can(
        caller.principal.name,
        ACTIONS.resourceGroupRead,
        `/subscriptions/${subscription.id}/resourceGroups/${g.name}`,
      ),
    );
  if (
    groups.length === 0 &&
    !world.rbac.hasAnyRoleUnder(caller.principal.name, `/subscriptions/${subscription.id}`)
  ) {
    return authorizationFailed(ctx, caller, ACTIONS.resourceGroupRead, `/subscriptions/${sub}`);
  }
  ok(ctx, 200, { value: groups.map((g) => resourceGroupJson(subscription.id, g)) });
}

function getResourceGroup(ctx: Ctx, world: World, caller: Caller, sub: string, rg: string): void {
  const subscription = requireSubscription(ctx, world, sub);
  if (!subscription) return;
  const scope = `/subscriptions/${sub}/resourceGroups/${rg}`;
  if (!world.rbac.can(caller.principal.name, ACTIONS.resourceGroupRead, scope)) {
    return authorizationFailed(ctx, caller, ACTIONS.resourceGroupRead, scope);
  }
  const group = world.resourceGroups(subscription.id).find((g) => g.name.toLowerCase() === rg.toLowerCase());
  if (!group) return resourceGroupNotFound(ctx, rg);
  ok(ctx, 200, resourceGroupJson(subscription.id, group));
}

/** Pages `items` (2 per page) with an absolute `nextLink` carrying `$skipToken`. */
function page<T>(ctx: Ctx, world: World, items: T[]): { value: T[]; nextLink?: string } {
  const skip = Math.max(0, Number(ctx.query.get('$skipToken') ?? ctx.query.get('%24skipToken') ?? '0') || 0);
  const value = items.slice(skip, skip + PAGE_SIZE);
  if (skip + PAGE_SIZE >= items.length) return { value };
  const next = new URL(ctx.rawUrl, world.urls.arm);
  next.searchParams.set('$skipToken', String(skip + PAGE_SIZE));
  return { value, nextLink: next.toString() };
}

function visibleRegistries(world: World, caller: Caller, sub: string, rg?: string): Registry[] {
  return world.registries.filter(
    (r) =>
      r.subscriptionId.toLowerCase() === sub.toLowerCase() &&
      (rg === undefined || r.resourceGroup.toLowerCase() === rg.toLowerCase()) &&
      world.rbac.can(caller.principal.name, ACTIONS.registryRead, r.id),
  );
}

function listRegistries(ctx: Ctx, world: World, caller: Caller, sub: string, rg?: string): void {
  const subscription = requireSubscription(ctx, world, sub);
  if (!subscription) return;
  const scope = rg === undefined ? `/subscriptions/${sub}` : `/subscriptions/${sub}/resourceGroups/${rg}`;
  const visible = visibleRegistries(world, caller, subscription.id, rg);
  if (visible.length === 0 && !world.rbac.hasAnyRoleUnder(caller.principal.name, scope)) {
    return authorizationFailed(ctx, caller, ACTIONS.registryRead, scope);
  }
  if (rg !== undefined && !resourceGroupExists(world, subscription.id, rg))
    return resourceGroupNotFound(ctx, rg);
  ok(
    ctx,
    200,
    page(
      ctx,
      world,
      visible.map((r) => registryJson(world, r)),
    ),
  );
}

/** `$filter` support: `resourceType eq '...'` and `name eq '...'`, joined with `and`. */
function parseFilter(filter: string | null): { resourceType?: string; name?: string } | undefined {
  if (!filter) return {};
  const out: { resourceType?: string; name?: string } = {};
  for (const clause of filter.split(/\s+and\s+/i)) {
    const m = /^\s*(resourceType|name)\s+eq\s+'([^']*)'\s*$/i.exec(clause);
    if (!m?.[1]) return undefined;
    if (m[1].toLowerCase() === 'resourcetype') out.resourceType = m[2] ?? '';
    else out.name = m[2] ?? '';
  }
  return out;
}

function listResources(ctx: Ctx, world: World, caller: Caller, sub: string): void {
  const subscription = requireSubscription(ctx, world, sub);
  if (!subscription) return;
  const filter = parseFilter(ctx.query.get('$filter'));
  if (!filter) {
    return armError(
      ctx,
      400,
      'InvalidFilterInQueryString',
      `Invalid $filter '${ctx.query.get('$filter') ?? ''}' specified in the query string.`,
    );
  }
  let registries = visibleRegistries(world, caller, subscription.id);
  if (
    registries.length === 0 &&
    !world.rbac.hasAnyRoleUnder(caller.principal.name, `/subscriptions/${sub}`)
  ) {
    return authorizationFailed(
      ctx,
      caller,
      'Microsoft.Resources/subscriptions/resources/read',
      `/subscriptions/${sub}`,
    );
  }
  if (filter.resourceType !== undefined && filter.resourceType.toLowerCase() !== REGISTRY_TYPE.toLowerCase())
    registries = [];
  if (filter.name !== undefined)
    registries = registries.filter((r) => r.name.toLowerCase() === filter.name?.toLowerCase());
  const value = registries.map((r) => ({
    id: r.id,
    name: r.name,
    type: REGISTRY_TYPE,
    sku: { name: r.config.sku, tier: r.config.sku },
    location: r.location,
    tags: {},
  }));
  ok(ctx, 200, page(ctx, world, value));
}

function registryJson(world: World, r: Registry): Record<string, unknown> {
  const c = r.config;
  const network = world.network(r);
  return {
    sku: { name: c.sku, tier: c.sku },
    type: REGISTRY_TYPE,
    id: r.id,
    name: r.name,
    location: r.location,
    tags: {},
    systemData: {
      createdBy: 'deployer@example.com',
      createdByType: 'User',
      createdAt: r.createdAt,
      lastModifiedBy: 'deployer@example.com',
      lastModifiedByType: 'User',
      lastModifiedAt: r.createdAt,
    },
    properties: {
      loginServer: r.loginServer,
      creationDate: r.createdAt,
      provisioningState: 'Succeeded',
      adminUserEnabled: false,
      policies: {
        quarantinePolicy: { status: 'disabled' },
        trustPolicy: { type: 'Notary', status: 'disabled' },
        retentionPolicy: { days: 7, lastUpdatedTime: r.createdAt, status: 'disabled' },
        exportPolicy: { status: c.exportPolicyEnabled ? 'enabled' : 'disabled' },
        azureADAuthenticationAsArmPolicy: { status: c.armTokenAuth ? 'enabled' : 'disabled' },
        softDeletePolicy: { retentionDays: 7, lastUpdatedTime: r.createdAt, status: 'disabled' },
      },
      encryption: { status: 'disabled' },
      dataEndpointEnabled: false,
      dataEndpointHostNames: [],
      privateEndpointConnections: [],
      publicNetworkAccess: network.publicNetworkAccess ? 'Enabled' : 'Disabled',
      networkRuleBypassOptions: network.trustedServices ? 'AzureServices' : 'None',
      zoneRedundancy: 'Disabled',
      anonymousPullEnabled: false,
      metadataSearch: 'Disabled',
      roleAssignmentMode: 'LegacyRegistryPermissions',
    },
  };
}

/** The registry the URL names, after RBAC (`action`) and existence checks; undefined after answering. */
function requireRegistry(
  ctx: Ctx,
  world: World,
  caller: Caller,
  sub: string,
  rg: string,
  name: string,
  action: string,
): Registry | undefined {
  const subscription = requireSubscription(ctx, world, sub);
  if (!subscription) return undefined;
  const scope = `/subscriptions/${sub}/resourceGroups/${rg}/providers/Microsoft.ContainerRegistry/registries/${name}`;
  if (!world.rbac.can(caller.principal.name, action, scope)) {
    authorizationFailed(ctx, caller, action, scope);
    return undefined;
  }
  if (!resourceGroupExists(world, subscription.id, rg)) {
    resourceGroupNotFound(ctx, rg);
    return undefined;
  }
  const registry = world.registry(subscription.id, rg, name);
  if (!registry) resourceNotFound(ctx, rg, name);
  return registry;
}

function getRegistry(ctx: Ctx, world: World, caller: Caller, sub: string, rg: string, name: string): void {
  const registry = requireRegistry(ctx, world, caller, sub, rg, name, ACTIONS.registryRead);
  if (registry) ok(ctx, 200, registryJson(world, registry));
}

// ---------------------------------------------------------------------------------------------------------------
// importImage

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

async function importImage(
  ctx: Ctx,
  world: World,
  caller: Caller,
  sub: string,
  rg: string,
  name: string,
  apiVersion: string,
): Promise<void> {
  const target = requireRegistry(ctx, world, caller, sub, rg, name, ACTIONS.importImage);
  if (!target) return;
  if (target.config.sku === 'Classic') {
    return armError(
      ctx,
      400,
      'InvalidParameters',
      `Importing images is not supported for the Classic registry '${target.name}'.`,
    );
  }
  let body: unknown;
  try {
    body = JSON.parse(ctx.body.toString('utf8'));
  } catch (error) {
    return armError(
      ctx,
      400,
      'InvalidRequestContent',
      `The request content was invalid and could not be deserialized: '${(error as Error).message}'.`,
    );
  }
  const parsed = parseImportBody(body);
  if ('error' in parsed) return armError(ctx, 400, parsed.error.code, parsed.error.message);
  const { request } = parsed;

  let sourceRegistry: Registry | undefined;
  if (request.source.kind === 'resourceId') {
    const id = request.source.resourceId;
    const idMatch =
      /^\/subscriptions\/([^/]+)\/resourcegroups\/([^/]+)\/providers\/microsoft\.containerregistry\/registries\/([^/]+)\/?$/i.exec(
        id,
      );
    if (!idMatch) {
      return armError(
        ctx,
        400,
        'InvalidParameters',
        `The source resource ID '${id}' is not a valid container registry resource ID.`,
      );
    }
    sourceRegistry = world.registryById(id);
    const linked = ACTIONS.pull;
    if (!sourceRegistry || !world.rbac.can(caller.principal.name, linked, id)) {
      return armError(
        ctx,
        403,
        'LinkedAuthorizationFailed',
        `The client '${caller.principal.clientId}' with object id '${caller.principal.objectId}' has permission to perform action '${ACTIONS.importImage}' on scope '${target.id}'; however, it does not have permission to perform action(s) '${linked}' on the linked scope(s) '${id}' (respectively) or the linked scope(s) are invalid.`,
      );
    }
    if (!sourceRegistry.config.exportPolicyEnabled) {
      return armError(
        ctx,
        400,
        'InvalidParameters',
        `Import from the source registry '${sourceRegistry.name}' is not allowed: its export policy (policies.exportPolicy.status) is disabled.`,
      );
    }
  }

  const clientRequestId = ctx.headers['x-ms-client-request-id'];
  let guid = clientRequestId && GUID.test(clientRequestId) ? clientRequestId.toLowerCase() : randomUUID();
  if (operations.has(`registries-${guid}`)) guid = randomUUID();
  const id = `registries-${guid}`;
  const op = startImport(world, {
    id,
    target,
    request,
    apiVersion,
    ...(sourceRegistry ? { sourceRegistry } : {}),
  });
  operations.set(id, op);

  const threshold = world.control.faults.syncThresholdMs ?? 0;
  if (threshold > 0 && !op.hung) {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([op.done, new Promise<void>((resolve) => (timer = setTimeout(resolve, threshold)))]);
    clearTimeout(timer);
    if (op.status === 'succeeded') return send(ctx, 200, '', armHeaders(ctx));
    if (op.status === 'failed' && op.error)
      return armError(ctx, failureStatus(op.error.code), op.error.code, op.error.message);
  }

  const headers: Record<string, string> = { location: locationUrl(world, op, sub), ...retryAfter(world) };
  if (world.control.faults.asyncOperationHeader) headers['azure-asyncoperation'] = statusUrl(world, op, sub);
  send(ctx, 202, '', { ...armHeaders(ctx), ...headers });
}

function locationUrl(world: World, op: ImportOperation, sub: string): string {
  const v = encodeURIComponent(op.apiVersion);
  if (world.control.faults.locationForm === 'spec') {
    return `${world.urls.arm}/subscriptions/${sub}/resourceGroups/${op.target.resourceGroup}/providers/Microsoft.ContainerRegistry/locations/${op.target.location}/operationResults/operationStatuses/${op.id}?api-version=${v}`;
  }
  return `${world.urls.arm}/subscriptions/${sub}/providers/Microsoft.ContainerRegistry/locations/${op.target.location.toUpperCase()}/operationResults/${op.id}?api-version=${v}`;
}

function statusUrl(world: World, op: ImportOperation, sub: string): string {
  return `${world.urls.arm}/subscriptions/${sub}/providers/Microsoft.ContainerRegistry/locations/${op.target.location.toUpperCase()}/operationStatuses/${op.id}?api-version=${encodeURIComponent(op.apiVersion)}`;
}

function retryAfter(world: World): Record<string, string> {
  const value = world.control.faults.retryAfter ?? world.config.retryAfterSeconds;
  if (value === 'none') return {};
  if (value === 'http-date')
    return { 'retry-after': retryAfterHeader('http-date', world.config.retryAfterSeconds) };
  return { 'retry-after': String(value) };
}

function failureStatus(code: string): number {
  return /internal|unavailable|gateway/i.test(code) ? 500 : 400;
}

/** The operation the poll URL names, checked against the caller's subscription; undefined after answering 404. */
function findOperation(ctx: Ctx, world: World, sub: string, id: string): ImportOperation | undefined {
  if (!requireSubscription(ctx, world, sub)) return undefined;
  const op = operations.get(id.toLowerCase()) ?? operations.get(id);
  if (!op || op.target.subscriptionId.toLowerCase() !== sub.toLowerCase()) {
    armError(ctx, 404, 'OperationNotFound', `The operation '${id}' could not be found.`);
    return undefined;
  }
  return op;
}

function pollResult(ctx: Ctx, world: World, _caller: Caller, sub: string, id: string): void {
  const op = findOperation(ctx, world, sub, id);
  if (!op) return;
  if (op.status === 'running') {
    return send(ctx, 202, '{"status":"Accepted"}', {
      ...armHeaders(ctx),
      'content-type': 'application/json; charset=utf-8',
      location: locationUrl(world, op, sub),
      ...retryAfter(world),
    });
  }
  if (op.status === 'succeeded') return send(ctx, 200, '', armHeaders(ctx));
  const error = op.error ?? { code: 'InternalServerError', message: 'The operation failed.' };
  const body = { error: armErrorObject(error) };
  if (world.control.faults.failureForm === 'http')
    return sendJson(ctx, failureStatus(error.code), body, armHeaders(ctx));
  return ok(ctx, 200, { status: 'Failed', ...body });
}

function pollStatus(ctx: Ctx, world: World, _caller: Caller, sub: string, id: string): void {
  const op = findOperation(ctx, world, sub, id);
  if (!op) return;
  const status = op.status === 'running' ? 'InProgress' : op.status === 'succeeded' ? 'Succeeded' : 'Failed';
  ok(
    ctx,
    200,
    {
      id: `/subscriptions/${sub}/providers/Microsoft.ContainerRegistry/locations/${op.target.location.toUpperCase()}/operationStatuses/${op.id}`,
      name: op.id,
      status,
      startTime: new Date(op.startedAt).toISOString(),
      ...(op.finishedAt ? { endTime: new Date(op.finishedAt).toISOString() } : {}),
      ...(op.error ? { error: armErrorObject(op.error) } : {}),
    },
    op.status === 'running' ? retryAfter(world) : {},
  );
}

/** `failImports` with an empty code or message leaves that field out (clients must still see a failure). */
function armErrorObject(error: { code: string; message: string }): Record<string, string> {
  return {
    ...(error.code ? { code: error.code } : {}),
    ...(error.message ? { message: error.message } : {}),
  };
}
