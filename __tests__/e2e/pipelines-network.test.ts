/**
 * The bundled Azure Pipelines task where the network around it matters:
 * - a source ACR in another tenant, signed in with the service connection's OIDC token through that tenant's app
 *   (sourceTenantId/sourceClientId), and the clear refusal for a connection that has no OIDC token;
 * - a self-hosted agent's proxy (AGENT_PROXYURL with credentials, AGENT_PROXYBYPASSLIST) taken by every request;
 * - a custom cloud (environment AzureStack): authority and token audience from the ARM's /metadata/endpoints, and a
 *   connection whose activeDirectoryAuthority disagrees with it.
 * Every connection of the bed says `environment: AzureStack` with the emulator's ARM (see testbed/agent-env.ts).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startAuthProxy, type AuthProxy } from '../../testbed/auth-proxy.js';
import type { StartedBed } from '../../testbed/bed.js';
import { bedAgentEnv, bedServiceConnection, type ServiceConnectionSpec } from '../../testbed/agent-env.js';
import { agentWorkFolder, runTask, type TaskRun } from '../../testbed/run-task.js';
import { useBed } from '../bed-hooks.js';

let bed: StartedBed;
let parent: string;

useBed(async (started) => {
  bed = started;
  parent = await mkdtemp(join(tmpdir(), 'azp-net-'));
});
afterAll(async () => {
  if (parent) await rm(parent, { recursive: true, force: true });
});

async function task(
  connection: ServiceConnectionSpec,
  inputs: Record<string, string>,
  extra: Record<string, string | undefined> = {},
): Promise<TaskRun> {
  const workFolder = await agentWorkFolder(parent);
  const env = bedAgentEnv(bed, connection, { registry: bed.acrs.target.name, ...inputs }, workFolder);
  return runTask(env, { env: extra });
}

const hostOf = (url: string): string => new URL(url).host;
const errors = (run: TaskRun): string =>
  run.log.issues
    .filter((i) => i.type === 'error')
    .map((i) => i.message)
    .join('\n');
const claimsOf = (jwt: string): Record<string, unknown> =>
  JSON.parse(Buffer.from(jwt.split('.')[1] ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;

async function expectImported(run: TaskRun, repo: string, tag: string, digest: string): Promise<void> {
  expect(errors(run)).toBe('');
  expect(run.log.completions).toEqual([{ result: 'Succeeded', message: 'Imported 1 image' }]);
  expect(run.exitCode).toBe(0);
  expect(run.outputs['digest']).toBe(digest);
  expect(await bed.digestOf(bed.acrs.target, repo, tag)).toBe(digest);
}

const hello = (): Record<string, string> => ({ source: `${bed.sources.hub.host}/library/hello:latest` });

describe('a source ACR in another tenant (sourceTenantId, sourceClientId)', () => {
  it("signs the source tenant's app in with the connection's OIDC token (subject sc://ORG/PROJECT/CONNECTION)", async () => {
    const partner = bed.acrs.otherTenant;
    const image = partner.images['ociSingle']!;
    const foreign = bed.principals.foreign;
    const prod = bed.azureDevOps.connections.prod;
    const run = await task(bedServiceConnection(bed, 'wif'), {
      source: `${partner.loginServer}/${image.repository}:${image.tag}`,
      targetTags: 'azp/partner:1.0',
      sourceTenantId: bed.tenants.other,
      sourceClientId: foreign.clientId,
    });
    await expectImported(run, 'azp/partner', '1.0', image.digest);

    // Entra of the source tenant saw the foreign app sign in with an assertion Azure DevOps issued for acr-prod.
    const entra = (await bed.control.requests({ service: 'entra' })).filter(
      (r) => r.method === 'POST' && r.url.startsWith(`/${bed.tenants.other}/oauth2/`),
    );
    expect(entra.length).toBeGreaterThan(0);
    for (const r of entra) {
      const form = new URLSearchParams(r.body);
      expect(form.get('client_id')).toBe(foreign.clientId);
      expect(form.get('client_secret')).toBeNull();
      expect(form.get('client_assertion_type')).toBe(
        'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      );
      expect(claimsOf(form.get('client_assertion') ?? '')).toMatchObject({
        iss: bed.azureDevOps.issuer,
        sub: prod.subject,
        aud: 'api://AzureADTokenExchange',
      });
    }
    expect(prod.subject).toBe(`sc://${bed.azureDevOps.organization}/${bed.azureDevOps.project}/acr-prod`);
    // The import body carries the ACR token of the source registry, never a configured secret; it is masked.
    const imports = (await bed.control.requests({ service: 'arm' })).filter(
      (r) => r.method === 'POST' && r.url.includes('/importImage'),
    );
    const password = (JSON.parse(imports[0]!.body) as { source: { credentials?: { password?: string } } })
      .source.credentials?.password;
    expect(password).toBeTruthy();
    expect(password).not.toBe(foreign.clientSecret);
    expect(run.log.secrets).toContain(password);
    expect(
      run.stdout.split('\n').filter((l) => l.includes(password!) && !l.startsWith('##vso[task.setsecret]')),
    ).toEqual([]);
  });

  it("a source tenant's app without a federated credential for this connection: names that app and the subject", async () => {
    const partner = bed.acrs.otherTenant;
    const image = partner.images['ociSingle']!;
    const foreign = bed.principals.foreign;
    // acr-entra: trusted by the target tenant's app, not by the partner tenant's.
    const entra = bed.azureDevOps.connections.entra;
    const run = await task(bedServiceConnection(bed, 'wif-entra'), {
      source: `${partner.loginServer}/${image.repository}:${image.tag}`,
      targetTags: 'azp/partner-untrusted:1.0',
      sourceTenantId: bed.tenants.other,
      sourceClientId: foreign.clientId,
    });
    expect(run.log.completions).toHaveLength(1);
    expect(run.log.completions[0]!.result).toBe('Failed');
    const text = errors(run);
    expect(text).toContain(
      `No federated credential of app ${foreign.clientId} matches this service connection`,
    );
    expect(text).toContain(`subject '${entra.subject}'`);
    expect(text).toContain(`az ad app federated-credential create --id ${foreign.clientId}`);
    expect(await bed.digestOf(bed.acrs.target, 'azp/partner-untrusted', '1.0')).toBeUndefined();
  });

  it.each([
    ['secret', 'a service principal with a secret'],
    ['certificate', 'a service principal with a certificate'],
    ['managed-identity', 'a managed identity'],
  ] as const)(
    'with a %s connection: an input error before any request, saying what to use',
    async (kind, how) => {
      await bed.control.clearRequests();
      const run = await task(bedServiceConnection(bed, kind), {
        source: `${bed.acrs.otherTenant.loginServer}/app:1.0`,
        targetTags: 'azp/partner-spn:1.0',
        sourceTenantId: bed.tenants.other,
        sourceClientId: bed.principals.foreign.clientId,
      });
      expect(run.log.completions).toHaveLength(1);
      expect(run.log.completions[0]!.result).toBe('Failed');
      expect(run.exitCode).toBe(1);
      const text = errors(run);
      expect(text).toMatch(/^Invalid input:/);
      expect(text).toContain(
        `sourceTenantId: needs a workload identity federation service connection in azureSubscription`,
      );
      expect(text).toContain(how);
      expect(text).toContain('sourceUsername and sourcePassword');
      expect(text).toContain(bed.tenants.other);
      expect(await bed.control.requests()).toEqual([]);
      expect(await bed.digestOf(bed.acrs.target, 'azp/partner-spn', '1.0')).toBeUndefined();
    },
  );
});

describe("the agent's proxy (AGENT_PROXYURL, AGENT_PROXYUSERNAME, AGENT_PROXYPASSWORD, AGENT_PROXYBYPASSLIST)", () => {
  const credentials = { username: 'agent-svc', password: 'pr0xy;p@ss%]word' };
  let proxy: AuthProxy;
  beforeAll(async () => {
    proxy = await startAuthProxy(credentials);
  });
  afterAll(async () => {
    await proxy?.close();
  });
  beforeEach(() => {
    proxy.connects.length = 0;
  });

  const agentProxy = (bypass?: string[]): Record<string, string> => ({
    AGENT_PROXYURL: proxy.url,
    AGENT_PROXYUSERNAME: credentials.username,
    AGENT_PROXYPASSWORD: credentials.password,
    ...(bypass ? { AGENT_PROXYBYPASSLIST: JSON.stringify(bypass) } : {}),
  });

  it('takes every request of the task through the proxy, with its credentials; the password is masked first', async () => {
    const digest = bed.sources.hub.images['multiArch']!.digest;
    const run = await task(
      bedServiceConnection(bed, 'wif'),
      { ...hello(), targetTags: 'azp/proxy:1' },
      agentProxy(),
    );
    await expectImported(run, 'azp/proxy', '1', digest);
    // ARM (metadata too), Entra ID, Azure DevOps' OIDC endpoint, the target ACR and the source registry.
    const expected = [
      hostOf(bed.arm.endpoint),
      hostOf(bed.entra.authorityHost),
      hostOf(bed.azureDevOps.oidcRequestUri),
      bed.acrs.target.loginServer,
      bed.sources.hub.host,
    ];
    for (const target of expected) expect(proxy.targets()).toContain(target);
    expect(proxy.connects.every((c) => c.authorized)).toBe(true);
    const lines = run.stdout.split('\n');
    expect(lines[0]).toMatch(/^##vso\[task\.setsecret\]/);
    expect(run.log.secrets).toContain(credentials.password);
    expect(
      lines.filter((l) => l.includes(credentials.password) && !l.startsWith('##vso[task.setsecret]')),
    ).toEqual([]);
    expect(run.stderr).not.toContain(credentials.password);
  });

  it('goes direct for URLs the bypass list matches (regular expressions, case-insensitive, on the whole URL)', async () => {
    const digest = bed.sources.hub.images['multiArch']!.digest;
    const arm = hostOf(bed.arm.endpoint);
    const pattern = `^HTTPS://${arm.replace(/\./g, '\\.')}/`;
    const run = await task(
      bedServiceConnection(bed, 'wif'),
      { ...hello(), targetTags: 'azp/bypass:1' },
      agentProxy([pattern]),
    );
    await expectImported(run, 'azp/bypass', '1', digest);
    expect(proxy.targets()).not.toContain(arm);
    expect((await bed.control.requests({ service: 'arm' })).length).toBeGreaterThan(0);
    for (const target of [
      hostOf(bed.entra.authorityHost),
      bed.acrs.target.loginServer,
      bed.sources.hub.host,
    ]) {
      expect(proxy.targets()).toContain(target);
    }
  });

  it('wrong proxy credentials: Failed with the 407 named, the proxy by its origin, never the password', async () => {
    const wrong = 'not-the-password';
    const run = await task(
      bedServiceConnection(bed, 'wif'),
      { ...hello(), targetTags: 'azp/proxy-407:1' },
      { ...agentProxy(), AGENT_PROXYPASSWORD: wrong },
    );
    expect(run.log.completions).toHaveLength(1);
    expect(run.log.completions[0]!.result).toBe('Failed');
    const text = errors(run);
    expect(text).toContain(`the proxy ${proxy.url} refused to connect`);
    expect(text).toContain('407 Proxy Authentication Required');
    // What to do in the agent's terms, not the HTTPS_PROXY advice of the Action and the CLI.
    expect(text).toContain('--proxyusername <user> --proxypassword <password>');
    expect(text).not.toContain('HTTPS_PROXY');
    expect(proxy.connects.length).toBeGreaterThan(0);
    expect(proxy.connects.every((c) => !c.authorized)).toBe(true);
    const lines = run.stdout.split('\n');
    expect(lines.filter((l) => l.includes(wrong) && !l.startsWith('##vso[task.setsecret]'))).toEqual([]);
    expect(await bed.digestOf(bed.acrs.target, 'azp/proxy-407', '1')).toBeUndefined();
  });

  it('a bypass list that is not a JSON array of expressions: fails before any request, naming the variable', async () => {
    await bed.control.clearRequests();
    const run = await task(
      bedServiceConnection(bed, 'wif'),
      { ...hello(), targetTags: 'azp/bypass-bad:1' },
      { ...agentProxy(), AGENT_PROXYBYPASSLIST: '127.0.0.1' },
    );
    expect(run.log.completions[0]!.result).toBe('Failed');
    expect(errors(run)).toContain('AGENT_PROXYBYPASSLIST');
    expect(proxy.connects).toEqual([]);
    expect(await bed.control.requests()).toEqual([]);
  });
});

describe('a custom cloud (environment AzureStack): authority and audience from the ARM metadata', () => {
  it('signs in at the authority /metadata/endpoints names when the connection names none', async () => {
    const base = bedServiceConnection(bed, 'secret');
    const { activeDirectoryAuthority: _omitted, ...data } = base.data;
    const digest = bed.sources.hub.images['multiArch']!.digest;
    const run = await task({ ...base, data }, { ...hello(), targetTags: 'azp/stack:1' });
    await expectImported(run, 'azp/stack', '1', digest);
    expect((await bed.control.requests({ service: 'armmetadata' })).length).toBeGreaterThan(0);
    // The ARM token was asked for the audience the metadata names (the emulator knows no other), at its authority.
    const tokens = (await bed.control.requests({ service: 'entra' })).filter(
      (r) => r.method === 'POST' && r.url.includes('/oauth2/'),
    );
    const scopes = tokens.map((r) => new URLSearchParams(r.body).get('scope') ?? '');
    expect(scopes.some((s) => s.includes('https://management.acrimport.emulator/'))).toBe(true);
    expect(scopes.some((s) => s.includes(bed.arm.endpoint))).toBe(false);
  });

  it('a connection whose activeDirectoryAuthority is not the one the metadata names: Failed, nothing sent to either', async () => {
    const base = bedServiceConnection(bed, 'secret');
    const named = 'https://login.microsoftonline.com/';
    await bed.control.clearRequests();
    const run = await task(
      { ...base, data: { ...base.data, activeDirectoryAuthority: named } },
      { ...hello(), targetTags: 'azp/stack-mismatch:1' },
    );
    expect(run.log.completions).toHaveLength(1);
    expect(run.log.completions[0]!.result).toBe('Failed');
    const text = errors(run);
    expect(text).toContain(
      'names the Entra authority https://login.microsoftonline.com (activeDirectoryAuthority)',
    );
    expect(text).toContain(`names ${bed.entra.authorityHost}`);
    expect(text).toContain('Edit the service connection');
    expect(await bed.control.requests({ service: 'entra' })).toEqual([]);
    expect(await bed.digestOf(bed.acrs.target, 'azp/stack-mismatch', '1')).toBeUndefined();
  });

  it('the same authority spelt differently (case, trailing slash) is the same authority', async () => {
    const base = bedServiceConnection(bed, 'wif');
    const spelt = `${bed.entra.authorityHost.toUpperCase().replace('HTTPS://', 'https://')}//`;
    const digest = bed.sources.hub.images['multiArch']!.digest;
    const run = await task(
      { ...base, data: { ...base.data, activeDirectoryAuthority: spelt } },
      { ...hello(), targetTags: 'azp/stack-same:1' },
    );
    await expectImported(run, 'azp/stack-same', '1', digest);
  });
});
