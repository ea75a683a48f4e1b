/**
 * The emulator's identity services: GitHub's OIDC token endpoint, Entra ID (metadata, client credentials with a
 * secret or a federated assertion, Entra's error bodies) and the App Service managed identity endpoint; and that
 * @azure/identity's credentials, as the action builds them, really get tokens from it.
 */
import { execFile } from 'node:child_process';
import { createPublicKey, verify, type JsonWebKey } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { StartedBed } from '../../testbed/bed.js';
import { useBed } from '../bed-hooks.js';
import {
  claimsOf,
  FORM,
  headerOf,
  httpClient,
  idToken,
  JWT_BEARER,
  type Client,
} from './emulator-helpers.js';

const run = promisify(execFile);
const PROBE = fileURLToPath(new URL('./fixtures/identity-probe.js', import.meta.url));

let bed: StartedBed;
let client: Client;

useBed(async (started) => {
  bed = started;
  client = httpClient(bed.caPem);
});
afterAll(async () => {
  await client?.close();
});

const nowS = (): number => Math.floor(Date.now() / 1000);
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function tokenRequest(
  fields: Record<string, string>,
  tenant = bed.tenants.main,
): ReturnType<Client['request']> {
  return client.request(`${bed.entra.authorityHost}/${tenant}/oauth2/v2.0/token`, {
    method: 'POST',
    headers: FORM,
    body: new URLSearchParams(fields).toString(),
  });
}

async function assertionFields(extra: Record<string, string> = {}): Promise<Record<string, string>> {
  return {
    client_id: bed.principals.deployer.clientId,
    scope: 'https://management.azure.com/.default',
    grant_type: 'client_credentials',
    client_assertion: await idToken(bed, client),
    client_assertion_type: JWT_BEARER,
    ...extra,
  };
}

describe('GitHub OIDC endpoint', () => {
  it('issues an RS256 ID token verifiable with the published JWKS', async () => {
    const reply = await client.request(`${bed.oidc.requestUrl}&audience=api%3A%2F%2FAzureADTokenExchange`, {
      headers: { authorization: `Bearer ${bed.oidc.requestToken}`, accept: 'application/json' },
    });
    expect(reply.status).toBe(200);
    const token = (reply.json() as { value: string }).value;
    const header = headerOf(token);
    expect(header).toMatchObject({ alg: 'RS256', typ: 'JWT' });
    const claims = claimsOf(token);
    expect(claims).toMatchObject({
      iss: bed.oidc.issuer,
      sub: bed.oidc.subject,
      aud: 'api://AzureADTokenExchange',
      repository: 'acme/app',
      ref: 'refs/heads/main',
    });
    expect((claims['exp'] as number) - (claims['iat'] as number)).toBe(300);
    expect(typeof claims['jti']).toBe('string');

    const config = (await client.request(`${bed.oidc.issuer}/.well-known/openid-configuration`)).json() as {
      issuer: string;
      jwks_uri: string;
    };
    expect(config.issuer).toBe(bed.oidc.issuer);
    const keys = (
      (await client.request(config.jwks_uri)).json() as { keys: (JsonWebKey & { kid: string })[] }
    ).keys;
    const jwk = keys.find((k) => k.kid === header['kid']);
    expect(jwk).toBeDefined();
    const [h, p, s] = token.split('.') as [string, string, string];
    const good = verify(
      'sha256',
      Buffer.from(`${h}.${p}`),
      createPublicKey({ key: jwk!, format: 'jwk' }),
      Buffer.from(s, 'base64url'),
    );
    expect(good).toBe(true);
  });

  it('defaults the audience to https://github.com/<owner> and accepts the /token path', async () => {
    const reply = await client.request(`${bed.oidc.issuer}/token?api-version=2.0`, {
      headers: { authorization: `Bearer ${bed.oidc.requestToken}` },
    });
    expect(claimsOf((reply.json() as { value: string }).value)['aud']).toBe('https://github.com/acme');
  });

  it('answers 401 to a missing or wrong request token', async () => {
    expect((await client.request(`${bed.oidc.requestUrl}&audience=x`)).status).toBe(401);
    const wrong = await client.request(`${bed.oidc.requestUrl}&audience=x`, {
      headers: { authorization: 'Bearer nope' },
    });
    expect(wrong.status).toBe(401);
  });

  it('follows the oidcSubject and tokenLifetimeSeconds switches', async () => {
    await bed.control.setFaults({ oidcSubject: 'repo:acme/app:pull_request', tokenLifetimeSeconds: 42 });
    const claims = claimsOf(await idToken(bed, client));
    expect(claims['sub']).toBe('repo:acme/app:pull_request');
    expect(claims['event_name']).toBe('pull_request');
    expect((claims['exp'] as number) - (claims['iat'] as number)).toBe(42);
  });

  it('throttles, fails once with 5xx and drops connections on demand', async () => {
    const url = `${bed.oidc.requestUrl}&audience=x`;
    const auth = { headers: { authorization: `Bearer ${bed.oidc.requestToken}` } };
    await bed.control.setFaults({ throttle: { service: 'oidc', count: 1, retryAfter: 3 } });
    const throttled = await client.request(url, auth);
    expect(throttled.status).toBe(429);
    expect(throttled.headers['retry-after']).toBe('3');
    expect((await client.request(url, auth)).status).toBe(200);

    await bed.control.setFaults({ serverError: { service: 'oidc', count: 1, status: 503 } });
    expect((await client.request(url, auth)).status).toBe(503);
    expect((await client.request(url, auth)).status).toBe(200);

    await bed.control.setFaults({ dropConnections: { service: 'oidc', count: 1 } });
    await expect(client.request(url, auth)).rejects.toThrow();
    expect((await client.request(url, auth)).status).toBe(200);
  });
});

describe('Entra ID', () => {
  it('serves tenant metadata and keys on the emulator host', async () => {
    const config = (
      await client.request(
        `${bed.entra.authorityHost}/${bed.tenants.main}/v2.0/.well-known/openid-configuration`,
      )
    ).json() as Record<string, string>;
    expect(config).toMatchObject({
      token_endpoint: `${bed.entra.authorityHost}/${bed.tenants.main}/oauth2/v2.0/token`,
      authorization_endpoint: `${bed.entra.authorityHost}/${bed.tenants.main}/oauth2/v2.0/authorize`,
      issuer: `${bed.entra.authorityHost}/${bed.tenants.main}/v2.0`,
      jwks_uri: `${bed.entra.authorityHost}/${bed.tenants.main}/discovery/v2.0/keys`,
    });
    const keys = (await client.request(config['jwks_uri'] ?? '')).json() as { keys: unknown[] };
    expect(keys.keys).toHaveLength(1);

    const unknown = await client.request(
      `${bed.entra.authorityHost}/nope/v2.0/.well-known/openid-configuration`,
    );
    expect(unknown.status).toBe(400);
    expect(unknown.json()).toMatchObject({ error: 'invalid_tenant', error_codes: [90002] });
  });

  it('exchanges a GitHub ID token for an ARM token (MSAL extra fields ignored)', async () => {
    const reply = await tokenRequest(
      await assertionFields({
        'x-client-SKU': 'msal.js.node',
        'x-client-VER': '3.0.0',
        'x-ms-lib-capability': 'retry-after, h429',
        'client-request-id': 'abc',
      }),
    );
    expect(reply.status).toBe(200);
    const body = reply.json() as Record<string, unknown>;
    expect(body).toMatchObject({ token_type: 'Bearer', expires_in: 3600, ext_expires_in: 3600 });
    const claims = claimsOf(body['access_token'] as string);
    expect(claims).toMatchObject({
      aud: 'https://management.azure.com',
      iss: `https://sts.windows.net/${bed.tenants.main}/`,
      tid: bed.tenants.main,
      oid: bed.principals.deployer.objectId,
      appid: bed.principals.deployer.clientId,
      appidacr: '2',
      ver: '1.0',
    });
    expect(claims['exp'] as number).toBeGreaterThan(nowS() + 3500);
  });

  it("keeps azure-cli's trailing slash in the audience and accepts a client secret", async () => {
    const reply = await tokenRequest({
      grant_type: 'client_credentials',
      client_id: bed.principals.deployer.clientId,
      client_secret: bed.principals.deployer.clientSecret ?? '',
      scope: 'https://management.core.windows.net//.default',
    });
    expect(reply.status).toBe(200);
    const claims = claimsOf((reply.json() as { access_token: string }).access_token);
    expect(claims).toMatchObject({ aud: 'https://management.core.windows.net/', appidacr: '1' });
  });

  it('answers AADSTS70021 with the assertion claims when no federated credential matches', async () => {
    await bed.control.setFaults({ oidcSubject: 'repo:acme/app:pull_request' });
    const reply = await tokenRequest(await assertionFields());
    expect(reply.status).toBe(400);
    const body = reply.json() as Record<string, unknown>;
    expect(body).toMatchObject({ error: 'invalid_request', error_codes: [70021] });
    expect(body['error_description']).toContain(
      `AADSTS70021: No matching federated identity record found for presented assertion. Assertion Issuer: '${bed.oidc.issuer}'. Assertion Subject: 'repo:acme/app:pull_request'. Assertion Audience: 'api://AzureADTokenExchange'.`,
    );
    for (const field of ['timestamp', 'trace_id', 'correlation_id', 'error_uri'])
      expect(body[field]).toBeTruthy();
  });

  it('matches the subject case-sensitively, checks the audience, and offers the 700213 wording', async () => {
    await bed.control.setFaults({
      oidcSubject: 'repo:ACME/app:ref:refs/heads/main',
      federatedMismatchCode: 700213,
    });
    const reply = await tokenRequest(await assertionFields());
    expect(reply.json()).toMatchObject({ error_codes: [700213] });
    expect((reply.json() as { error_description: string }).error_description).toContain(
      "AADSTS700213: No matching federated identity record found for presented assertion subject 'repo:ACME/app:ref:refs/heads/main'.",
    );
    await bed.control.reset();
    const wrongAudience = await tokenRequest({
      ...(await assertionFields()),
      client_assertion: await idToken(bed, client, 'api://SomethingElse'),
    });
    expect(wrongAudience.json()).toMatchObject({ error_codes: [70021] });
  });

  it('rejects a forged assertion signature (AADSTS700027) and an expired one (AADSTS700024)', async () => {
    const fields = await assertionFields();
    const [h, p] = (fields['client_assertion'] ?? '').split('.');
    const forged = await tokenRequest({
      ...fields,
      client_assertion: `${h}.${p}.${Buffer.alloc(256).toString('base64url')}`,
    });
    expect(forged.json()).toMatchObject({ error: 'invalid_client', error_codes: [700027] });

    await bed.control.setFaults({ tokenLifetimeSeconds: 1 });
    const shortLived = await assertionFields();
    await sleep(1100);
    const expired = await tokenRequest(shortLived);
    expect(expired.status).toBe(400);
    expect(expired.json()).toMatchObject({ error: 'invalid_client', error_codes: [700024] });
    expect((expired.json() as { error_description: string }).error_description).toMatch(
      /^AADSTS700024: Client assertion is not within its valid time range\. Current time: .+, assertion valid from .+, expiry time of assertion .+\./,
    );
  });

  it.each([
    ['a wrong secret', { client_secret: 'wrong' }, 401, 'invalid_client', 7000215],
    [
      'an unknown app',
      { client_id: '11111111-1111-4111-a111-111111111111', client_secret: 'x' },
      400,
      'unauthorized_client',
      700016,
    ],
    ['no credential', {}, 401, 'invalid_client', 7000218],
    [
      'a scope without /.default',
      { client_secret: 'x', scope: 'https://management.azure.com/user_impersonation' },
      400,
      'invalid_scope',
      1002012,
    ],
    [
      'another grant type',
      { grant_type: 'password', client_secret: 'x' },
      400,
      'unsupported_grant_type',
      70003,
    ],
    ['an unknown resource', { scope: 'https://vault.azure.net/.default' }, 400, 'invalid_resource', 500011],
  ])(
    'answers %s with Entra error shape',
    async (_label, extra: Record<string, string>, status, error, code) => {
      const fields: Record<string, string> = {
        grant_type: 'client_credentials',
        client_id: bed.principals.deployer.clientId,
        scope: 'https://management.azure.com/.default',
        ...(code === 500011 ? { client_secret: bed.principals.deployer.clientSecret ?? '' } : {}),
        ...extra,
      };
      const reply = await tokenRequest(fields);
      expect(reply.status).toBe(status);
      const body = reply.json() as Record<string, unknown>;
      expect(body).toMatchObject({ error, error_codes: [code] });
      expect(body['error_description']).toMatch(new RegExp(`^AADSTS${code}: `));
    },
  );

  it('answers AADSTS90002 for an unknown tenant and 429 with Retry-After when throttled', async () => {
    const unknown = await tokenRequest({ grant_type: 'client_credentials' }, 'not-a-tenant');
    expect(unknown.json()).toMatchObject({ error_codes: [90002] });

    await bed.control.setFaults({ throttle: { service: 'entra', count: 1, retryAfter: 'http-date' } });
    const throttled = await tokenRequest(await assertionFields());
    expect(throttled.status).toBe(429);
    expect(Number.isNaN(Date.parse(throttled.headers['retry-after'] ?? ''))).toBe(false);
    expect((await tokenRequest(await assertionFields())).status).toBe(200);
  });
});

describe('managed identity endpoint', () => {
  const url = (query: string): string => `${bed.managedIdentity.endpoint}?${query}`;

  it('answers the App Service 2019-08-01 shape to the right header only', async () => {
    const reply = await client.request(
      url('api-version=2019-08-01&resource=https%3A%2F%2Fmanagement.azure.com'),
      {
        headers: { 'X-IDENTITY-HEADER': bed.managedIdentity.header },
      },
    );
    expect(reply.status).toBe(200);
    const body = reply.json() as Record<string, string>;
    expect(body).toMatchObject({
      resource: 'https://management.azure.com',
      token_type: 'Bearer',
      client_id: bed.managedIdentity.clientId,
    });
    expect(body['expires_on']).toMatch(/^\d+$/);
    expect(claimsOf(body['access_token'] ?? '')).toMatchObject({
      appid: bed.managedIdentity.clientId,
      aud: 'https://management.azure.com',
    });

    const noHeader = await client.request(
      url('api-version=2019-08-01&resource=https%3A%2F%2Fmanagement.azure.com'),
    );
    expect(noHeader.status).toBe(401);
    const oldApi = await client.request(url('api-version=2017-09-01&resource=x'), {
      headers: { 'X-IDENTITY-HEADER': bed.managedIdentity.header },
    });
    expect(oldApi.status).toBe(400);
    const otherIdentity = await client.request(
      url(
        'api-version=2019-08-01&resource=https%3A%2F%2Fmanagement.azure.com&client_id=00000000-0000-4000-a000-000000000009',
      ),
      { headers: { 'X-IDENTITY-HEADER': bed.managedIdentity.header } },
    );
    expect(otherIdentity.status).toBe(400);
    expect((await bed.control.requests({ service: 'msi' })).length).toBe(4);
  });
});

describe('@azure/identity against the emulator', () => {
  async function probe(
    input: Record<string, unknown>,
    env: Record<string, string> = {},
  ): Promise<Record<string, unknown>> {
    const { stdout } = await run(process.execPath, [PROBE, JSON.stringify(input)], {
      env: { PATH: process.env['PATH'] ?? '', NODE_EXTRA_CA_CERTS: bed.caFile, ...env },
      timeout: 30_000,
    });
    return JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as Record<string, unknown>;
  }
  const base = (): Record<string, unknown> => ({
    tenantId: bed.tenants.main,
    clientId: bed.principals.deployer.clientId,
    authorityHost: bed.entra.authorityHost,
    scope: 'https://management.azure.com/.default',
  });

  it('ClientAssertionCredential gets an ARM token with a GitHub ID token, then serves it from cache', async () => {
    const result = await probe({
      ...base(),
      kind: 'assertion',
      oidcUrl: bed.oidc.requestUrl,
      oidcToken: bed.oidc.requestToken,
      twice: true,
    });
    expect(result).toMatchObject({ ok: true, cached: true });
    expect(claimsOf(result['token'] as string)).toMatchObject({
      aud: 'https://management.azure.com',
      oid: bed.principals.deployer.objectId,
    });
    const entra = await bed.control.requests({ service: 'entra' });
    expect(entra.map((r) => `${r.method} ${r.url.split('?')[0]}`)).toEqual([
      `GET /${bed.tenants.main}/v2.0/.well-known/openid-configuration`,
      `POST /${bed.tenants.main}/oauth2/v2.0/token`,
    ]);
    expect(entra[1]?.body).toContain(
      'client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer',
    );
  });

  it('ClientSecretCredential gets a token, and surfaces AADSTS7000215 for a wrong secret', async () => {
    const good = await probe({
      ...base(),
      kind: 'secret',
      clientSecret: bed.principals.deployer.clientSecret,
    });
    expect(good).toMatchObject({ ok: true });
    const bad = await probe({ ...base(), kind: 'secret', clientSecret: 'wrong' });
    expect(bad).toMatchObject({ ok: false });
    expect(bad['error']).toContain('AADSTS7000215');
  });

  it('ManagedIdentityCredential (App Service source) gets a token from IDENTITY_ENDPOINT', async () => {
    const result = await probe(
      { ...base(), kind: 'managed-identity', clientId: bed.managedIdentity.clientId },
      { IDENTITY_ENDPOINT: bed.managedIdentity.endpoint, IDENTITY_HEADER: bed.managedIdentity.header },
    );
    expect(result).toMatchObject({ ok: true });
    expect(claimsOf(result['token'] as string)).toMatchObject({ appid: bed.managedIdentity.clientId });
    const [request] = await bed.control.requests({ service: 'msi' });
    expect(request?.headers['x-identity-header']).toBe(bed.managedIdentity.header);
    expect(request?.url).toContain('api-version=2019-08-01');
    expect(request?.url).toContain('resource=https%3A%2F%2Fmanagement.azure.com');
  });
});
