/**
 * The ACR data plane, one HTTPS listener per emulated registry (`properties.loginServer` = `127.0.0.1:<port>`):
 * - `GET /v2/` without credentials -> 401 `WWW-Authenticate: Bearer realm="https://<login>/oauth2/token",
 *   service="<login>"` (resource URLs add `scope="repository:<repo>:pull"`);
 * - `POST /oauth2/exchange` (`grant_type=access_token`, `service`, `tenant`, `access_token` = an Entra token for
 *   `https://containerregistry.azure.net`, or for ARM when the registry's azureADAuthenticationAsArmPolicy is on)
 *   -> `{"refresh_token"}` (JWT, 3 h);
 * - `POST /oauth2/token` (`grant_type=refresh_token|password`, `service`, `scope`: the field repeated for several, or
 *   several separated by spaces; fault `tokenScopes` grants only the first or refuses more than one) and
 *   `GET /oauth2/token` with Basic -> `{"access_token"}` whose `access` is what was asked for, cut down to the
 *   principal's RBAC rights (importer/AcrPull -> pull; AcrPush -> pull, push; Contributor -> pull, push, delete).
 *   Accepted credentials: a service principal's client id + secret; any user name
 *   (`00000000-0000-0000-0000-000000000000`) + an ACR refresh token or an Entra access token;
 * - `/v2/*` passed through to the backing registry (plain HTTP) once the request carries an access token (or Basic
 *   credentials) with the scope it needs; otherwise 401 with the challenge.
 * With public network access disabled every request is answered 403 DENIED, as ACR's firewall does.
 */
import { Agent, request as httpRequest, type OutgoingHttpHeaders } from 'node:http';
import { randomUUID } from 'node:crypto';
import { basic, bearer, form, send, sendJson, type Ctx } from './http.js';
import { audiences, nowSeconds, signJwt, strClaim, verifyJwt, numClaim, type Claims } from './jwt.js';
import { verifyEntraToken } from './entra.js';
import { askedScopes, parseScope } from './hub-auth.js';
import type { DataAction } from './rbac.js';
import { REFERRERS_PATH, serveReferrers } from './referrers.js';
import { ACR_AUDIENCE, type PrincipalConfig, type Registry, type World } from './state.js';

export const ACR_REFRESH_LIFETIME = 3 * 3600;
export const ACR_ACCESS_LIFETIME = 4500;
const ACR_ISSUER = 'Azure Container Registry';
export const NULL_USER = '00000000-0000-0000-0000-000000000000';

const backendAgent = new Agent({ keepAlive: true, maxSockets: 64 });

interface Access {
  type: string;
  name: string;
  actions: string[];
}

export async function handleAcr(ctx: Ctx, world: World, registry: Registry): Promise<void> {
  if (!world.network(registry).publicNetworkAccess) {
    return sendJson(ctx, 403, {
      errors: [
        {
          code: 'DENIED',
          message: `client with IP '${ctx.req.socket.remoteAddress?.replace(/^::ffff:/, '') ?? '127.0.0.1'}' is not allowed access. Refer https://aka.ms/acr/firewall to grant access.`,
        },
      ],
    });
  }
  if (ctx.path === '/oauth2/exchange') {
    if (ctx.method !== 'POST') return methodNotAllowed(ctx);
    return exchange(ctx, world, registry);
  }
  if (ctx.path === '/oauth2/token') {
    if (ctx.method !== 'POST' && ctx.method !== 'GET') return methodNotAllowed(ctx);
    return accessToken(ctx, world, registry);
  }
  if (ctx.path === '/v2' || ctx.path.startsWith('/v2/')) return registryApi(ctx, world, registry);
  return sendJson(ctx, 404, {
    errors: [{ code: 'NOT_FOUND', message: `no route ${ctx.method} ${ctx.path}` }],
  });
}

function methodNotAllowed(ctx: Ctx): void {
  sendJson(ctx, 405, { errors: [{ code: 'UNSUPPORTED', message: `method ${ctx.method} not allowed` }] });
}

function unauthorized(ctx: Ctx, message: string, status = 401): void {
  sendJson(ctx, status, { errors: [{ code: 'UNAUTHORIZED', message }] });
}

// ---------------------------------------------------------------------------------------------------------------
// Tokens

function signAcrToken(
  world: World,
  registry: Registry,
  principal: PrincipalConfig,
  lifetime: number,
  extra: Claims,
): string {
  const iat = nowSeconds();
  const token = signJwt(world.keys.acr, {
    jti: randomUUID(),
    sub: principal.objectId,
    nbf: iat - 5,
    exp: iat + lifetime,
    iat,
    iss: ACR_ISSUER,
    aud: registry.loginServer,
    version: '1.0',
    rid: randomUUID().replace(/-/g, ''),
    appid: principal.clientId,
    tenant: principal.tenantId,
    ...extra,
  });
  world.control.addSecret(token);
  return token;
}

/** An ACR token (refresh or access) this registry issued, still valid; undefined otherwise. */
function verifyAcrToken(
  world: World,
  registry: Registry,
  token: string,
  kind: 'refresh' | 'access',
): { principal: PrincipalConfig; claims: Claims } | undefined {
  const verified = verifyJwt(token, [world.keys.acr]);
  if (!verified.ok) return undefined;
  const { claims } = verified;
  if (!audiences(claims).includes(registry.loginServer)) return undefined;
  const now = nowSeconds();
  if (now >= (numClaim(claims, 'exp') ?? 0) || now < (numClaim(claims, 'nbf') ?? 0)) return undefined;
  const isAccess = Array.isArray(claims['access']);
  if ((kind === 'access') !== isAccess) return undefined;
  const principal = world.principalByObjectId(
    strClaim(claims, 'sub') ?? '',
    strClaim(claims, 'tenant') ?? '',
  );
  return principal ? { principal, claims } : undefined;
}

/** An Entra access token this registry accepts (its audience, tenant, lifetime). */
function acceptEntraToken(
  world: World,
  registry: Registry,
  token: string,
): { principal: PrincipalConfig } | { error: string } {
  const check = verifyEntraToken(world, token);
  if (!check.ok) {
    return {
      error: check.reason === 'expired' ? 'The access token has expired.' : 'The access token is invalid.',
    };
  }
  const aud = check.audience.replace(/\/+$/, '');
  const acrAudience = aud === ACR_AUDIENCE;
  const armAudience = world.armAudiences().includes(aud);
  if (!acrAudience && !(armAudience && registry.config.armTokenAuth)) {
    return {
      error: armAudience
        ? `ARM-audience tokens are not accepted by this registry (azureADAuthenticationAsArmPolicy is disabled); request a token for ${ACR_AUDIENCE}.`
        : `The access token has the wrong audience '${check.audience}'.`,
    };
  }
  if (check.tenantId.toLowerCase() !== registry.tenantId.toLowerCase()) {
    return {
      error: `The access token is from tenant '${check.tenantId}', not the registry's tenant '${registry.tenantId}'.`,
    };
  }
  return { principal: check.principal };
}

/** Username/password as ACR takes them: SP id + secret; or any user name + ACR refresh token or Entra token. */
function authenticate(
  world: World,
  registry: Registry,
  username: string,
  password: string,
): { principal: PrincipalConfig } | { error: string } {
  const sp = world.principalByClientId(username, registry.tenantId);
  if (sp?.clientSecret && sp.clientSecret === password) return { principal: sp };
  const refresh = verifyAcrToken(world, registry, password, 'refresh');
  if (refresh) return { principal: refresh.principal };
  if (password.split('.').length === 3) {
    const entra = acceptEntraToken(world, registry, password);
    if ('principal' in entra) return entra;
  }
  return { error: 'Invalid username or password.' };
}

function exchange(ctx: Ctx, world: World, registry: Registry): void {
  const f = form(ctx);
  const grantType = f.get('grant_type');
  if (grantType !== 'access_token' && grantType !== 'access_token_refresh_token') {
    return sendJson(ctx, 400, {
      errors: [
        {
          code: 'UNSUPPORTED',
          message: `grant_type '${grantType ?? ''}' is not supported; use access_token`,
        },
      ],
    });
  }
  const service = f.get('service');
  if (service && service.toLowerCase() !== registry.loginServer.toLowerCase()) {
    return unauthorized(
      ctx,
      `The service '${service}' does not match this registry '${registry.loginServer}'.`,
    );
  }
  const token = f.get('access_token');
  if (!token)
    return sendJson(ctx, 400, { errors: [{ code: 'BAD_REQUEST', message: 'access_token is required' }] });
  const tenant = f.get('tenant');
  if (tenant && tenant.toLowerCase() !== registry.tenantId.toLowerCase()) {
    return unauthorized(ctx, `The tenant '${tenant}' is not the registry's tenant.`);
  }
  const accepted = acceptEntraToken(world, registry, token);
  if ('error' in accepted) return unauthorized(ctx, accepted.error);
  const refreshToken = signAcrToken(
    world,
    registry,
    accepted.principal,
    world.lifetime(ACR_REFRESH_LIFETIME),
    {
      grant_type: 'refresh_token',
      permissions: { actions: ['read', 'write', 'delete'], notActions: null },
      roles: [],
    },
  );
  sendJson(ctx, 200, { refresh_token: refreshToken });
}

function accessToken(ctx: Ctx, world: World, registry: Registry): void {
  const params = ctx.method === 'POST' ? form(ctx) : ctx.query;
  const service = params.get('service');
  if (service && service.toLowerCase() !== registry.loginServer.toLowerCase()) {
    return unauthorized(
      ctx,
      `The service '${service}' does not match this registry '${registry.loginServer}'.`,
    );
  }
  let principal: PrincipalConfig;
  if (ctx.method === 'POST') {
    const grantType = params.get('grant_type');
    if (grantType === 'refresh_token') {
      const verified = verifyAcrToken(world, registry, params.get('refresh_token') ?? '', 'refresh');
      if (!verified) return unauthorized(ctx, 'The refresh token is invalid or expired.');
      principal = verified.principal;
    } else if (grantType === 'password') {
      const result = authenticate(
        world,
        registry,
        params.get('username') ?? '',
        params.get('password') ?? '',
      );
      if ('error' in result) return unauthorized(ctx, result.error);
      principal = result.principal;
    } else {
      return sendJson(ctx, 400, {
        errors: [{ code: 'UNSUPPORTED', message: `grant_type '${grantType ?? ''}' is not supported` }],
      });
    }
  } else {
    const credentials = basic(ctx);
    if (!credentials) {
      return sendJson(
        ctx,
        401,
        { errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }] },
        challenge(registry),
      );
    }
    const result = authenticate(world, registry, credentials.username, credentials.password);
    if ('error' in result) return unauthorized(ctx, result.error);
    principal = result.principal;
  }
  const scopes = askedScopes(ctx, world, params);
  if (!scopes) return;
  const access = grant(world, registry, principal, scopes);
  const token = signAcrToken(world, registry, principal, world.lifetime(ACR_ACCESS_LIFETIME), {
    grant_type: 'refresh_token',
    access,
    roles: [],
  });
  sendJson(ctx, 200, { access_token: token });
}

/** Requested scopes cut down to the principal's data-plane rights on this registry. */
function grant(world: World, registry: Registry, principal: PrincipalConfig, scopes: string[]): Access[] {
  const rights = rightsOf(world, registry, principal);
  const out: Access[] = [];
  for (const scope of scopes) {
    const parsed = parseScope(scope);
    if (!parsed) continue;
    if (parsed.type === 'registry' && parsed.name === 'catalog') {
      out.push({ type: 'registry', name: 'catalog', actions: rights.has('pull') ? ['*'] : [] });
      continue;
    }
    if (parsed.type !== 'repository') continue;
    const wanted = parsed.actions.includes('*') ? ['pull', 'push', 'delete'] : parsed.actions;
    out.push({
      type: 'repository',
      name: parsed.name,
      actions: wanted.filter((a) => rights.has(a as DataAction)),
    });
  }
  return out;
}

function rightsOf(world: World, registry: Registry, principal: PrincipalConfig): Set<DataAction> {
  if (principal.tenantId.toLowerCase() !== registry.tenantId.toLowerCase()) return new Set();
  return world.rbac.dataActions(principal.name, registry.id);
}

function challenge(registry: Registry, scope?: string, error?: string): Record<string, string> {
  const parts = [
    `Bearer realm="https://${registry.loginServer}/oauth2/token"`,
    `service="${registry.loginServer}"`,
  ];
  if (scope) parts.push(`scope="${scope}"`);
  if (error) parts.push(`error="${error}"`);
  return { 'www-authenticate': parts.join(','), 'docker-distribution-api-version': 'registry/2.0' };
}

// ---------------------------------------------------------------------------------------------------------------
// /v2/*

const RESOURCE_PATH =
  /^\/v2\/(.+)\/(manifests\/[^/]+|blobs\/uploads\/?[^/]*|blobs\/[^/]+|tags\/list|referrers\/[^/]+)$/;

/** What a `/v2/...` request needs: `undefined` for the base endpoint. */
function neededScope(ctx: Ctx): Access | undefined {
  if (ctx.path === '/v2' || ctx.path === '/v2/') return undefined;
  if (ctx.path === '/v2/_catalog') return { type: 'registry', name: 'catalog', actions: ['*'] };
  const m = RESOURCE_PATH.exec(ctx.path);
  const name = m?.[1] ?? ctx.path.replace(/^\/v2\//, '');
  const action: DataAction =
    ctx.method === 'GET' || ctx.method === 'HEAD' ? 'pull' : ctx.method === 'DELETE' ? 'delete' : 'push';
  return { type: 'repository', name, actions: action === 'push' ? ['pull', 'push'] : [action] };
}

function scopeString(access: Access): string {
  return `${access.type}:${access.name}:${access.actions.join(',')}`;
}

async function registryApi(ctx: Ctx, world: World, registry: Registry): Promise<void> {
  const needed = neededScope(ctx);
  const required = needed ? needed.actions.filter((a) => a !== 'pull' || needed.actions.length === 1) : [];
  const token = bearer(ctx);
  const credentials = basic(ctx);
  let granted: Access[] | undefined;
  if (token) {
    const verified = verifyAcrToken(world, registry, token, 'access');
    if (verified) granted = verified.claims['access'] as Access[];
  } else if (credentials) {
    const result = authenticate(world, registry, credentials.username, credentials.password);
    if ('principal' in result)
      granted = grant(world, registry, result.principal, needed ? [scopeString(needed)] : []);
  }
  const challengeScope = needed ? scopeString(needed) : undefined;
  if (!granted) {
    return sendJson(
      ctx,
      401,
      {
        errors: [
          {
            code: 'UNAUTHORIZED',
            message: 'authentication required, visit https://aka.ms/acr/authorization for more information.',
            detail: needed
              ? required.map((a) => ({ Type: needed.type, Name: needed.name, Action: a }))
              : null,
          },
        ],
      },
      challenge(registry, challengeScope),
    );
  }
  if (needed) {
    const entry = granted.find((g) => g.type === needed.type && g.name === needed.name);
    const has = (a: string): boolean => !!entry && (entry.actions.includes(a) || entry.actions.includes('*'));
    const missing = required.filter((a) => !has(a));
    if (missing.length > 0) {
      return sendJson(
        ctx,
        401,
        {
          errors: [
            {
              code: 'UNAUTHORIZED',
              message:
                'authentication required, visit https://aka.ms/acr/authorization for more information.',
              detail: missing.map((a) => ({ Type: needed.type, Name: needed.name, Action: a })),
            },
          ],
        },
        challenge(registry, challengeScope, 'insufficient_scope'),
      );
    }
  }
  if (REFERRERS_PATH.test(ctx.path)) return serveReferrers(ctx, registry);
  return proxy(ctx, registry);
}

const HOP_BY_HOP = new Set([
  'host',
  'authorization',
  'connection',
  'keep-alive',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'content-length',
  'x-forwarded-for',
  'x-forwarded-host',
  'x-forwarded-proto',
]);

/** Passes the request to the backing registry and streams its answer back, rewriting absolute upload URLs. */
function proxy(ctx: Ctx, registry: Registry): Promise<void> {
  const backend = new URL(registry.config.backendUrl);
  const headers: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(ctx.req.headers)) {
    if (!HOP_BY_HOP.has(name) && value !== undefined) headers[name] = value;
  }
  if (ctx.body.length > 0 || ['PUT', 'POST', 'PATCH'].includes(ctx.method))
    headers['content-length'] = ctx.body.length;
  const publicOrigin = `https://${registry.loginServer}`;
  return new Promise((resolve) => {
    const upstream = httpRequest(
      {
        host: backend.hostname,
        port: backend.port,
        method: ctx.method,
        path: ctx.rawUrl,
        headers,
        agent: backendAgent,
      },
      (response) => {
        const out: Record<string, string | string[]> = {};
        for (const [name, value] of Object.entries(response.headers)) {
          if (value === undefined || ['connection', 'keep-alive', 'transfer-encoding'].includes(name))
            continue;
          out[name] = value;
        }
        const location = response.headers['location'];
        if (location && location.startsWith(backend.origin)) {
          out['location'] = publicOrigin + location.slice(backend.origin.length);
        }
        ctx.res.writeHead(response.statusCode ?? 502, out);
        response.pipe(ctx.res);
        response.once('end', () => resolve());
        response.once('error', () => {
          ctx.res.destroy();
          resolve();
        });
      },
    );
    upstream.once('error', (error) => {
      if (!ctx.res.headersSent) {
        send(
          ctx,
          502,
          JSON.stringify({
            errors: [{ code: 'UNAVAILABLE', message: `backing registry: ${error.message}` }],
          }),
          {
            'content-type': 'application/json',
          },
        );
      } else {
        ctx.res.destroy();
      }
      resolve();
    });
    upstream.end(ctx.body.length > 0 ? ctx.body : undefined);
  });
}
