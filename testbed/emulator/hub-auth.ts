/**
 * A Docker-Hub-like token server (the `hub` registry's realm, like auth.docker.io):
 * - `GET /token?service=<svc>&scope=<scope>[&scope=...]` (fault `tokenScopes`: only the first scope, or 400 to
 *   several), anonymous -> pull-only; with `Authorization: Basic` of a configured account -> that account's rights
 *   (pull, plus push when `push: true`); wrong credentials -> 401;
 * - `POST /token` (the OAuth2 form of the token spec) with `grant_type=password`.
 * Answers `{"token","access_token","expires_in","issued_at"}`. Tokens are what docker-registry 2.8 verifies: ES256 or
 * RS256 (per the signing key) with `x5c` = the signing certificate, `iss` = hub.issuer, `aud` = hub.service, `sub`,
 * `exp`/`nbf`/`iat`/`jti` and `access: [{type, name, actions}]`.
 *
 * Like Docker Hub, a repository name without a namespace (`nginx` instead of `library/nginx`) does not exist: the
 * token grants nothing for it, so the registry answers 401 UNAUTHORIZED, the error `az acr import` users meet.
 */
import { randomUUID } from 'node:crypto';
import { applyNetworkFaults, basic, form, sendJson, type Ctx } from './http.js';
import { nowSeconds, signJwt } from './jwt.js';
import type { World } from './state.js';

export const HUB_DEFAULT_LIFETIME = 300;

interface Access {
  type: string;
  name: string;
  actions: string[];
}

export async function handleHubAuth(ctx: Ctx, world: World): Promise<void> {
  const faulted = applyNetworkFaults(
    ctx,
    world.control,
    { throttle: 'hub', serverError: 'hub' },
    {
      throttled: () => ({
        body: {
          errors: [
            {
              code: 'TOOMANYREQUESTS',
              message:
                'You have reached your pull rate limit. You may increase the limit by authenticating and upgrading: https://www.docker.com/increase-rate-limits',
            },
          ],
        },
        headers: { 'ratelimit-limit': '100;w=21600', 'ratelimit-remaining': '0;w=21600' },
      }),
      serverError: (status) => ({ errors: [{ code: 'UNKNOWN', message: `service error ${status}` }] }),
    },
  );
  if (faulted) return;

  if (ctx.path !== '/token' || (ctx.method !== 'GET' && ctx.method !== 'POST')) {
    return sendJson(ctx, 404, { details: 'not found' });
  }
  let params: URLSearchParams;
  let credentials: { username: string; password: string } | undefined;
  if (ctx.method === 'POST') {
    params = form(ctx);
    if (params.get('grant_type') !== 'password') {
      return sendJson(ctx, 400, { details: 'unsupported grant_type; use password' });
    }
    credentials = { username: params.get('username') ?? '', password: params.get('password') ?? '' };
  } else {
    params = ctx.query;
    credentials = basic(ctx);
  }

  const { hub } = world.config;
  let account: (typeof hub.accounts)[number] | undefined;
  if (credentials) {
    account = hub.accounts.find(
      (a) => a.username === credentials.username && a.password === credentials.password,
    );
    if (!account) return sendJson(ctx, 401, { details: 'incorrect username or password' });
  }
  const service = params.get('service');
  if (service && service !== hub.service) {
    return sendJson(ctx, 400, { details: `unknown service '${service}'` });
  }

  const allowed = new Set(account?.push ? ['pull', 'push'] : ['pull']);
  const access: Access[] = [];
  const scopes = askedScopes(ctx, world, params);
  if (!scopes) return;
  for (const scope of scopes) {
    const parsed = parseScope(scope);
    if (!parsed || parsed.type !== 'repository') continue;
    const existsOnHub = parsed.name.includes('/');
    const actions = existsOnHub ? parsed.actions.filter((a) => allowed.has(a)) : [];
    access.push({ type: parsed.type, name: parsed.name, actions });
  }

  const iat = nowSeconds();
  const lifetime = world.lifetime(HUB_DEFAULT_LIFETIME);
  const token = signJwt(
    world.keys.hub,
    {
      iss: hub.issuer,
      sub: account?.username ?? '',
      aud: hub.service,
      exp: iat + lifetime,
      nbf: iat - 5,
      iat,
      jti: randomUUID(),
      access,
    },
    { kid: null, x5c: world.keys.hub.x5c },
  );
  world.control.addSecret(token);
  sendJson(ctx, 200, {
    token,
    access_token: token,
    expires_in: lifetime,
    issued_at: new Date(iat * 1000).toISOString(),
  });
}

/**
 * The scopes a token request asks for (`scope` repeated, or several in one field separated by spaces), as the
 * `tokenScopes` fault lets this server read them; undefined once it has answered 400 (fault 'refuse').
 */
export function askedScopes(ctx: Ctx, world: World, params: URLSearchParams): string[] | undefined {
  const asked = params
    .getAll('scope')
    .flatMap((s) => s.split(' '))
    .filter(Boolean);
  const mode = world.control.faults.tokenScopes ?? 'all';
  if (asked.length > 1 && mode === 'refuse') {
    sendJson(ctx, 400, {
      errors: [{ code: 'INVALID_SCOPE', message: 'only one scope may be requested per token' }],
    });
    return undefined;
  }
  return mode === 'first' ? asked.slice(0, 1) : asked;
}

/** `type:name:actions`; the name may hold colons (`host:port/...`), so type is before the first, actions after the last. */
export function parseScope(scope: string): Access | undefined {
  const first = scope.indexOf(':');
  const last = scope.lastIndexOf(':');
  if (first <= 0 || last <= first) return undefined;
  return {
    type: scope.slice(0, first).replace(/\(.*\)$/, ''),
    name: scope.slice(first + 1, last),
    actions: scope
      .slice(last + 1)
      .split(',')
      .filter(Boolean),
  };
}
