/**
 * GitHub Actions' OIDC token endpoint (what `ACTIONS_ID_TOKEN_REQUEST_URL` points at) and its issuer metadata:
 * - `GET /token?...&audience=X` (also any path ending in `/idtoken`, as on real runners) with
 *   `Authorization: Bearer <ACTIONS_ID_TOKEN_REQUEST_TOKEN>` -> `{"count":..., "value":"<JWT>"}`;
 * - `GET /.well-known/openid-configuration`, `GET /.well-known/jwks`.
 * ID tokens are RS256 with a `kid`, issuer `https://127.0.0.1:<oidc>`, the configured (or fault-overridden) subject,
 * `aud` = the audience parameter (default `https://github.com/<owner>`), ~5 minutes of validity.
 */
import { randomUUID, timingSafeEqual } from 'node:crypto';
import { applyNetworkFaults, bearer, sendJson, type Ctx } from './http.js';
import { jwks, nowSeconds, signJwt } from './jwt.js';
import type { World } from './state.js';

export const OIDC_DEFAULT_LIFETIME = 300;

export async function handleOidc(ctx: Ctx, world: World): Promise<void> {
  const faulted = applyNetworkFaults(
    ctx,
    world.control,
    { drop: 'oidc', throttle: 'oidc', serverError: 'oidc' },
    {
      throttled: () => ({
        body: { message: 'API rate limit exceeded', documentation_url: 'https://docs.github.com' },
      }),
      serverError: (status) => ({ message: `Server error ${status}` }),
    },
  );
  if (faulted) return;

  const issuer = world.urls.oidc;
  if (ctx.method === 'GET' && ctx.path === '/.well-known/openid-configuration') {
    return sendJson(ctx, 200, {
      issuer,
      jwks_uri: `${issuer}/.well-known/jwks`,
      subject_types_supported: ['public', 'pairwise'],
      response_types_supported: ['id_token'],
      claims_supported: [
        'sub',
        'aud',
        'exp',
        'iat',
        'iss',
        'jti',
        'nbf',
        'ref',
        'sha',
        'repository',
        'repository_id',
        'repository_owner',
        'repository_owner_id',
        'run_id',
        'run_number',
        'run_attempt',
        'actor',
        'actor_id',
        'workflow',
        'workflow_ref',
        'event_name',
        'ref_type',
        'job_workflow_ref',
        'runner_environment',
      ],
      id_token_signing_alg_values_supported: ['RS256'],
      scopes_supported: ['openid'],
    });
  }
  if (ctx.method === 'GET' && ctx.path === '/.well-known/jwks') {
    return sendJson(ctx, 200, jwks([world.keys.oidc]));
  }
  if (ctx.method === 'GET' && (ctx.path === '/token' || ctx.path.endsWith('/idtoken'))) {
    return issueIdToken(ctx, world);
  }
  return sendJson(ctx, 404, { message: 'Not Found' });
}

function issueIdToken(ctx: Ctx, world: World): void {
  const presented = bearer(ctx);
  const expected = world.config.github.requestToken;
  if (!presented || !sameSecret(presented, expected)) {
    return sendJson(ctx, 401, { message: 'Bad credentials: the request token is missing or invalid.' });
  }
  const { repository } = world.config.github;
  const owner = repository.split('/')[0] ?? repository;
  const audience = ctx.query.get('audience') || `https://github.com/${owner}`;
  const subject = world.control.faults.oidcSubject ?? world.config.github.subject;
  const iat = nowSeconds();
  const lifetime = world.lifetime(OIDC_DEFAULT_LIFETIME);
  const ref = /:ref:(.+)$/.exec(subject)?.[1] ?? 'refs/heads/main';
  const environment = /:environment:(.+)$/.exec(subject)?.[1];
  const claims: Record<string, unknown> = {
    jti: randomUUID(),
    sub: subject,
    aud: audience,
    ref,
    sha: 'a'.repeat(40),
    repository,
    repository_owner: owner,
    repository_owner_id: '1000001',
    repository_id: '2000002',
    repository_visibility: 'private',
    run_id: '3000003',
    run_number: '7',
    run_attempt: '1',
    actor: 'octocat',
    actor_id: '583231',
    workflow: 'import',
    workflow_ref: `${repository}/.github/workflows/import.yml@${ref}`,
    workflow_sha: 'a'.repeat(40),
    job_workflow_ref: `${repository}/.github/workflows/import.yml@${ref}`,
    job_workflow_sha: 'a'.repeat(40),
    event_name: subject.endsWith(':pull_request') ? 'pull_request' : 'push',
    ref_type: ref.startsWith('refs/tags/') ? 'tag' : 'branch',
    ref_protected: 'false',
    runner_environment: 'github-hosted',
    ...(environment ? { environment } : {}),
    iss: world.urls.oidc,
    nbf: iat - 5,
    exp: iat + lifetime,
    iat,
  };
  const token = signJwt(world.keys.oidc, claims, { x5t: world.keys.oidc.kid });
  world.control.addSecret(token);
  // GitHub answers {"count":N,"value":"<jwt>"}; clients read only `value`.
  sendJson(ctx, 200, { count: 1, value: token });
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
