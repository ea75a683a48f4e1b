/**
 * The emulator's Azure DevOps side: the job's OIDC token endpoint (System.OidcRequestUri), its issuer metadata, and
 * Entra accepting (or refusing) those tokens as federated assertions; also Entra's certificate credentials.
 */
import {
  constants,
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  sign,
  verify,
  X509Certificate,
  type JsonWebKey,
} from 'node:crypto';
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
  type Reply,
} from './emulator-helpers.js';

let bed: StartedBed;
let client: Client;

useBed(async (started) => {
  bed = started;
  client = httpClient(bed.caPem);
});
afterAll(async () => {
  await client?.close();
});

const SUPPRESS = { 'x-tfs-fedauthredirect': 'Suppress', 'content-type': 'application/json' };

function oidcRequest(
  query: string,
  options: { method?: string; token?: string; headers?: Record<string, string>; uri?: string } = {},
): Promise<Reply> {
  const uri = options.uri ?? bed.azureDevOps.oidcRequestUri;
  const method = options.method ?? 'POST';
  return client.request(`${uri}${query}`, {
    method,
    headers: {
      ...SUPPRESS,
      authorization: `Bearer ${options.token ?? bed.azureDevOps.accessToken}`,
      ...options.headers,
    },
    ...(method === 'POST' ? { body: '{}' } : {}),
  });
}

async function connectionToken(connectionId: string): Promise<string> {
  const reply = await oidcRequest(`?api-version=7.1&serviceConnectionId=${connectionId}`);
  if (reply.status !== 200) throw new Error(`oidctoken ${reply.status}: ${reply.text}`);
  return (reply.json() as { oidcToken: string }).oidcToken;
}

function entraToken(fields: Record<string, string>): Promise<Reply> {
  return client.request(`${bed.entra.authorityHost}/${bed.tenants.main}/oauth2/v2.0/token`, {
    method: 'POST',
    headers: FORM,
    body: new URLSearchParams({
      grant_type: 'client_credentials',
      scope: 'https://management.azure.com/.default',
      client_assertion_type: JWT_BEARER,
      ...fields,
    }).toString(),
  });
}

describe('Azure DevOps OIDC token endpoint', () => {
  it('issues a service connection token: vstoken issuer, sc:// subject, exchange audience, 10 minutes', async () => {
    const { prod } = bed.azureDevOps.connections;
    const token = await connectionToken(prod.id);
    const claims = claimsOf(token);
    expect(claims).toMatchObject({
      iss: `https://vstoken.dev.azure.com/${bed.azureDevOps.organizationId}`,
      sub: 'sc://acme/app/acr-prod',
      aud: 'api://AzureADTokenExchange',
    });
    expect(claims['sub']).toBe(prod.subject);
    expect((claims['exp'] as number) - (claims['iat'] as number)).toBe(600);
    expect(await bed.control.issuedSecrets()).toContain(token);
    const [logged] = await bed.control.requests({ service: 'azuredevops' });
    expect(logged?.method).toBe('POST');
    expect(logged?.url).toContain(`serviceConnectionId=${prod.id}`);
  });

  it('issues Entra-issued tokens for a connection of the newer kind (issuer and subject unconfirmed)', async () => {
    const { entra } = bed.azureDevOps.connections;
    const token = await connectionToken(entra.id);
    const claims = claimsOf(token);
    expect(claims).toMatchObject({
      iss: `${bed.entra.authorityHost}/${bed.tenants.main}/v2.0`,
      aud: 'api://AzureADTokenExchange',
    });
    expect(claims['sub']).toBe(entra.subject);
    expect(entra.subject).toMatch(/^\/eid1\/c\/pub\/t\/[\w-]+\/a\/[\w-]+\/sc\/[0-9a-f-]+\/[0-9a-f-]+$/);
    // Signed with Entra's keys, as its tenant metadata publishes them.
    const keys = (
      await client.request(`${bed.entra.authorityHost}/${bed.tenants.main}/discovery/v2.0/keys`)
    ).json() as {
      keys: { kid: string }[];
    };
    expect(keys.keys.map((k) => k.kid)).toContain(headerOf(token)['kid']);
    const exchanged = await entraToken({ client_id: bed.azureDevOps.app.clientId, client_assertion: token });
    expect(exchanged.status).toBe(200);
  });

  it('publishes issuer metadata whose keys verify the token', async () => {
    const token = await connectionToken(bed.azureDevOps.connections.prod.id);
    const origin = new URL(bed.azureDevOps.oidcRequestUri).origin;
    const discovery = await client.request(
      `${origin}/${bed.azureDevOps.organizationId}/.well-known/openid-configuration`,
    );
    expect(discovery.status).toBe(200);
    const metadata = discovery.json() as { issuer: string; jwks_uri: string };
    expect(metadata.issuer).toBe(bed.azureDevOps.issuer);
    const keys = (await client.request(metadata.jwks_uri)).json() as {
      keys: (JsonWebKey & { kid: string })[];
    };
    const jwk = keys.keys.find((k) => k.kid === headerOf(token)['kid']);
    expect(jwk).toBeDefined();
    const [h, p, s] = token.split('.') as [string, string, string];
    const good = verify(
      'sha256',
      Buffer.from(`${h}.${p}`),
      createPublicKey({ key: jwk as JsonWebKey, format: 'jwk' }),
      Buffer.from(s, 'base64url'),
    );
    expect(good).toBe(true);
  });

  it.each([
    [
      'GET (the GitHub shape)',
      { method: 'GET' },
      '?api-version=7.1&serviceConnectionId=PROD',
      405,
      'does not support http method',
    ],
    ['no api-version', {}, '?serviceConnectionId=PROD', 400, 'No api-version was supplied'],
    [
      'an api-version the endpoint lacks',
      {},
      '?api-version=5.0&serviceConnectionId=PROD',
      400,
      'out of range',
    ],
    [
      'a wrong job access token',
      { token: 'not-the-token' },
      '?api-version=7.1&serviceConnectionId=PROD',
      401,
      'TF400813',
    ],
    ['no serviceConnectionId', {}, '?api-version=7.1', 400, 'serviceConnectionId'],
    [
      'a connection the job does not reference (a script step)',
      {},
      '?api-version=7.1&serviceConnectionId=UNREFERENCED',
      400,
      'There is no explicit reference to service connection UNREFERENCED from current stage',
    ],
    [
      'an unknown connection',
      {},
      '?api-version=7.1&serviceConnectionId=00000000-0000-4000-a000-00000000dead',
      400,
      'There is no explicit reference to service connection 00000000-0000-4000-a000-00000000dead',
    ],
  ] as const)('refuses %s', async (_name, options, query, status, text) => {
    const { prod, unreferenced } = bed.azureDevOps.connections;
    const q = query.replace('UNREFERENCED', unreferenced.id).replace('PROD', prod.id);
    const reply = await oidcRequest(q, options);
    expect(reply.status).toBe(status);
    expect((reply.json() as { message: string }).message).toContain(
      text.replace('UNREFERENCED', unreferenced.id),
    );
    expect(reply.text).not.toContain('oidcToken');
    if (status === 405) expect(reply.headers['allow']).toBe('POST');
  });

  it('answers a bad token without X-TFS-FedAuthRedirect with the sign-in page (203), as for a browser', async () => {
    const reply = await oidcRequest(
      `?api-version=7.1&serviceConnectionId=${bed.azureDevOps.connections.prod.id}`,
      {
        token: 'wrong',
        headers: { 'x-tfs-fedauthredirect': '' },
      },
    );
    expect(reply.status).toBe(203);
    expect(reply.headers['content-type']).toContain('text/html');
  });

  it('knows only the running job', async () => {
    const other = bed.azureDevOps.oidcRequestUri.replace(
      /jobs\/[^/]+\//,
      'jobs/00000000-0000-4000-a000-000000000000/',
    );
    const reply = await oidcRequest(
      `?api-version=7.1&serviceConnectionId=${bed.azureDevOps.connections.prod.id}`,
      {
        uri: other,
      },
    );
    expect(reply.status).toBe(404);
  });
});

describe('Entra and Azure DevOps tokens', () => {
  it('exchanges the prod connection token for an ARM token of the pipelines app', async () => {
    const reply = await entraToken({
      client_id: bed.azureDevOps.app.clientId,
      client_assertion: await connectionToken(bed.azureDevOps.connections.prod.id),
    });
    expect(reply.status).toBe(200);
    const claims = claimsOf((reply.json() as { access_token: string }).access_token);
    expect(claims).toMatchObject({
      aud: 'https://management.azure.com',
      appid: bed.azureDevOps.app.clientId,
      oid: bed.azureDevOps.app.objectId,
      appidacr: '2',
    });
  });

  it.each([70021, 700213] as const)(
    'refuses a connection whose subject has no federated credential with AADSTS%s',
    async (code) => {
      if (code === 700213) await bed.control.setFaults({ federatedMismatchCode: 700213 });
      const reply = await entraToken({
        client_id: bed.azureDevOps.app.clientId,
        client_assertion: await connectionToken(bed.azureDevOps.connections.staging.id),
      });
      expect(reply.status).toBe(400);
      const body = reply.json() as { error: string; error_codes: number[]; error_description: string };
      expect(body.error_codes).toEqual([code]);
      expect(body.error_description).toContain(`AADSTS${code}:`);
      expect(body.error_description).toContain("'sc://acme/app/acr-staging'");
    },
  );

  it('keeps issuers apart: a GitHub token for the pipelines app, an Azure DevOps token for the GitHub app', async () => {
    const github = await entraToken({
      client_id: bed.azureDevOps.app.clientId,
      client_assertion: await idToken(bed, client),
    });
    expect(github.status).toBe(400);
    expect((github.json() as { error_codes: number[] }).error_codes).toEqual([70021]);
    const ado = await entraToken({
      client_id: bed.principals.deployer.clientId,
      client_assertion: await connectionToken(bed.azureDevOps.connections.prod.id),
    });
    expect(ado.status).toBe(400);
    expect((ado.json() as { error_description: string }).error_description).toContain(bed.azureDevOps.issuer);
  });

  it('refuses an Azure DevOps-shaped token not signed by Azure DevOps (AADSTS700027)', async () => {
    const real = await connectionToken(bed.azureDevOps.connections.prod.id);
    const [h, p] = real.split('.') as [string, string, string];
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const forged = `${h}.${p}.${sign('sha256', Buffer.from(`${h}.${p}`), privateKey).toString('base64url')}`;
    const reply = await entraToken({ client_id: bed.azureDevOps.app.clientId, client_assertion: forged });
    expect(reply.status).toBe(400);
    expect((reply.json() as { error_codes: number[] }).error_codes).toEqual([700027]);
  });
});

describe('Entra certificate credentials', () => {
  const endpoint = (): string => `${bed.entra.authorityHost}/${bed.tenants.main}/oauth2/v2.0/token`;
  function certificateAssertion(
    options: {
      key?: ReturnType<typeof createPrivateKey>;
      aud?: string;
      alg?: 'RS256' | 'PS256';
      clientId?: string;
    } = {},
  ): string {
    const pem = bed.azureDevOps.app.certificatePem;
    const cert = new X509Certificate(pem);
    const key = options.key ?? createPrivateKey(pem);
    const alg = options.alg ?? 'PS256';
    const header =
      alg === 'PS256'
        ? { alg, typ: 'JWT', 'x5t#S256': createHash('sha256').update(cert.raw).digest('base64url') }
        : { alg, typ: 'JWT', x5t: createHash('sha1').update(cert.raw).digest('base64url') };
    const now = Math.floor(Date.now() / 1000);
    const claims = {
      aud: options.aud ?? endpoint(),
      iss: options.clientId ?? bed.azureDevOps.app.clientId,
      sub: options.clientId ?? bed.azureDevOps.app.clientId,
      jti: 'x',
      nbf: now,
      exp: now + 600,
    };
    const input = `${Buffer.from(JSON.stringify(header)).toString('base64url')}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
    const signature =
      alg === 'PS256'
        ? sign('sha256', Buffer.from(input), {
            key,
            padding: constants.RSA_PKCS1_PSS_PADDING,
            saltLength: 32,
          })
        : sign('sha256', Buffer.from(input), key);
    return `${input}.${signature.toString('base64url')}`;
  }

  it.each(['PS256', 'RS256'] as const)(
    'accepts an assertion signed with the app certificate (%s)',
    async (alg) => {
      const reply = await entraToken({
        client_id: bed.azureDevOps.app.clientId,
        client_assertion: certificateAssertion({ alg }),
      });
      expect(reply.status).toBe(200);
      expect(claimsOf((reply.json() as { access_token: string }).access_token)).toMatchObject({
        appid: bed.azureDevOps.app.clientId,
        appidacr: '2',
      });
    },
  );

  it('refuses another key under the same thumbprint (700027) and a wrong audience (50027)', async () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const forged = await entraToken({
      client_id: bed.azureDevOps.app.clientId,
      client_assertion: certificateAssertion({ key: privateKey }),
    });
    expect(forged.status).toBe(401);
    expect((forged.json() as { error_codes: number[] }).error_codes).toEqual([700027]);
    const wrongAudience = await entraToken({
      client_id: bed.azureDevOps.app.clientId,
      client_assertion: certificateAssertion({ aud: 'https://example.invalid/token' }),
    });
    expect((wrongAudience.json() as { error_codes: number[] }).error_codes).toEqual([50027]);
  });

  it('refuses a certificate the app does not hold (700027, key not found)', async () => {
    const reply = await entraToken({
      client_id: bed.principals.deployer.clientId,
      client_assertion: certificateAssertion({ clientId: bed.principals.deployer.clientId }),
    });
    expect(reply.status).toBe(401);
    const body = reply.json() as { error_codes: number[]; error_description: string };
    expect(body.error_codes).toEqual([700027]);
    expect(body.error_description).toContain('The key was not found');
  });
});
