/**
 * The Azure Pipelines task's sign-in, for real: real @azure/identity over HTTPS to the emulator's Entra, with the
 * environment an agent gives a task (testbed/agent-env.ts), in each service connection scheme. Workload identity
 * federation goes through the emulator's Azure DevOps OIDC endpoint (System.OidcRequestUri).
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { StartedBed } from '../../testbed/bed.js';
import { EMULATOR_ARM_AUDIENCE } from '../../testbed/emulator/state.js';
import {
  bedAgentEnv,
  bedServiceConnection,
  parseAgentLog,
  type AgentLog,
  type ConnectionKind,
  type ServiceConnectionSpec,
} from '../../testbed/agent-env.js';
import { useBed } from '../bed-hooks.js';

const run = promisify(execFile);
const PROBE = fileURLToPath(new URL('./fixtures/pipelines-credential-probe.js', import.meta.url));

let bed: StartedBed;
let workFolder: string;

useBed(async (started) => {
  bed = started;
  workFolder = await mkdtemp(join(tmpdir(), 'agent-work-'));
});
afterAll(async () => {
  if (workFolder) await rm(workFolder, { recursive: true, force: true });
});

interface ProbeResult {
  ok: boolean;
  tokens?: string[];
  presented?: { issuer: string; subject: string; audience: string } | null;
  kind?: string;
  message?: string;
  hint?: string | null;
}

async function probe(
  connection: ServiceConnectionSpec,
  extra: Record<string, string | undefined> = {},
): Promise<{ result: ProbeResult; log: AgentLog; stdout: string }> {
  const env: Record<string, string> = {
    PATH: process.env['PATH'] ?? '/usr/bin:/bin',
    ...bedAgentEnv(bed, connection, { registry: bed.acrs.target.name }, workFolder),
  };
  for (const [k, v] of Object.entries(extra)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  const { stdout } = await run(process.execPath, [PROBE], { env, timeout: 30_000 });
  const line = stdout.split('\n').find((l) => l.startsWith('RESULT '));
  if (!line) throw new Error(`no RESULT line in:\n${stdout}`);
  return {
    result: JSON.parse(line.slice('RESULT '.length)) as ProbeResult,
    log: parseAgentLog(stdout),
    stdout,
  };
}

const connectionOf = (kind: ConnectionKind): ServiceConnectionSpec => bedServiceConnection(bed, kind);

function claims(token: string | undefined): Record<string, unknown> {
  return JSON.parse(Buffer.from((token ?? '').split('.')[1] ?? '', 'base64url').toString('utf8')) as Record<
    string,
    unknown
  >;
}

/** Every token in `tokens` was declared with task.setsecret on a line before the RESULT line. */
function expectMaskedBefore(stdout: string, tokens: string[]): void {
  const resultAt = stdout.indexOf('RESULT ');
  for (const token of tokens) {
    const at = stdout.indexOf(`##vso[task.setsecret]${token}`);
    expect(at).toBeGreaterThanOrEqual(0);
    expect(at).toBeLessThan(resultAt);
  }
}

describe('workload identity federation', () => {
  it('signs in with a fresh Azure DevOps OIDC token per Entra request', async () => {
    const { result, log, stdout } = await probe(connectionOf('wif'));
    expect(result).toMatchObject({ ok: true });
    const [arm, acr] = result.tokens ?? [];
    // An AzureStack-style connection: the ARM audience is the one the connection's ARM names in its metadata.
    expect(claims(arm)).toMatchObject({
      aud: EMULATOR_ARM_AUDIENCE,
      appid: bed.azureDevOps.app.clientId,
      appidacr: '2',
    });
    expect(claims(acr)).toMatchObject({ aud: 'https://containerregistry.azure.net' });
    expect(result.presented).toEqual({
      issuer: bed.azureDevOps.issuer,
      subject: bed.azureDevOps.connections.prod.subject,
      audience: 'api://AzureADTokenExchange',
    });

    const oidc = await bed.control.requests({ service: 'azuredevops' });
    expect(oidc).toHaveLength(2);
    for (const request of oidc) {
      expect(request.method).toBe('POST');
      expect(request.url).toBe(
        `${new URL(bed.azureDevOps.oidcRequestUri).pathname}?api-version=7.1&serviceConnectionId=${bed.azureDevOps.connections.prod.id}`,
      );
      expect(request.headers['authorization']).toBe(`Bearer ${bed.azureDevOps.accessToken}`);
      expect(request.headers['x-tfs-fedauthredirect']).toBe('Suppress');
      expect(request.status).toBe(200);
    }
    const entraPosts = (await bed.control.requests({ service: 'entra' })).filter((r) => r.method === 'POST');
    expect(entraPosts).toHaveLength(2);
    const assertions = entraPosts.map((r) => new URLSearchParams(r.body).get('client_assertion'));
    expect(new Set(assertions).size).toBe(2);

    // The job token is declared first, every OIDC and access token before it could be printed.
    expect(log.commands[0]?.line).toBe(`##vso[task.setsecret]${bed.azureDevOps.accessToken}`);
    expectMaskedBefore(stdout, [...(assertions as string[]), arm ?? '', acr ?? '']);
  });

  it('signs in through a connection whose tokens Entra issues, and reports what it presented', async () => {
    const { result } = await probe(connectionOf('wif-entra'));
    expect(result).toMatchObject({ ok: true });
    expect(result.presented).toEqual({
      issuer: bed.azureDevOps.connections.entra.issuer,
      subject: bed.azureDevOps.connections.entra.subject,
      audience: 'api://AzureADTokenExchange',
    });
  });

  it('names the federated subject to add when the app has none for this connection', async () => {
    const { result } = await probe(connectionOf('wif-staging'));
    expect(result).toMatchObject({ ok: false, kind: 'auth' });
    expect(result.message).toContain('AADSTS70021');
    expect(result.message).toContain(bed.azureDevOps.connections.staging.id);
    expect(result.hint).toContain(`subject '${bed.azureDevOps.connections.staging.subject}'`);
    expect(result.hint).toContain(`issuer '${bed.azureDevOps.issuer}'`);
    expect(result.hint).toContain(
      `az ad app federated-credential create --id ${bed.azureDevOps.app.clientId}`,
    );
  });

  it('the newer AADSTS700213 wording gets the same hint', async () => {
    await bed.control.setFaults({ federatedMismatchCode: 700213 });
    const { result } = await probe(connectionOf('wif-staging'));
    expect(result.message).toContain('AADSTS700213');
    expect(result.hint).toContain(`subject '${bed.azureDevOps.connections.staging.subject}'`);
  });

  it('says a script step cannot use a connection the job does not reference, and never asks Entra', async () => {
    const { result } = await probe(connectionOf('wif-unreferenced'));
    expect(result).toMatchObject({ ok: false, kind: 'auth' });
    expect(result.message).toContain('There is no explicit reference to service connection');
    expect(result.hint).toContain('a `script:` step');
    const entraPosts = (await bed.control.requests({ service: 'entra' })).filter((r) => r.method === 'POST');
    expect(entraPosts).toEqual([]);
  });

  it('a refused job token says to check the pipeline permission on the connection', async () => {
    const connection = connectionOf('wif');
    const { result } = await probe(connection, {
      ENDPOINT_AUTH_SYSTEMVSSCONNECTION: JSON.stringify({
        parameters: { AccessToken: 'stale' },
        scheme: 'OAuth',
      }),
      ENDPOINT_AUTH_PARAMETER_SYSTEMVSSCONNECTION_ACCESSTOKEN: 'stale',
    });
    expect(result.message).toContain('HTTP 401');
    expect(result.hint).toContain('Pipeline permissions');
  });

  it('retries an Azure DevOps 5xx and a dropped connection, then signs in', async () => {
    await bed.control.setFaults({ serverError: { service: 'azuredevops', count: 2, status: 503 } });
    const { result } = await probe(connectionOf('wif'));
    expect(result).toMatchObject({ ok: true });
    const statuses = (await bed.control.requests({ service: 'azuredevops' })).map((r) => r.status);
    expect(statuses).toEqual([503, 503, 200, 200]);
    await bed.control.reset();
    await bed.control.setFaults({ dropConnections: { service: 'azuredevops', count: 1 } });
    expect((await probe(connectionOf('wif'))).result).toMatchObject({ ok: true });
  });

  it("gives up after three failed attempts and says the problem is on Azure DevOps' side", async () => {
    await bed.control.setFaults({ serverError: { service: 'azuredevops', count: 10, status: 500 } });
    const { result } = await probe(connectionOf('wif'));
    expect(result).toMatchObject({ ok: false, kind: 'auth' });
    expect(result.message).toContain('HTTP 500');
    expect(result.message).toContain('(3 attempts)');
    expect(result.hint).toContain("on Azure DevOps' side");
    expect(await bed.control.requests({ service: 'azuredevops' })).toHaveLength(3);
  });

  it("matches Microsoft's AzurePipelinesCredential against the emulated endpoint", async () => {
    const { result } = await probe(connectionOf('wif'), { PROBE_KIND: 'azure-pipelines-credential' });
    expect(result).toMatchObject({ ok: true });
    expect(claims(result.tokens?.[0])).toMatchObject({ appid: bed.azureDevOps.app.clientId });
    const [request] = await bed.control.requests({ service: 'azuredevops' });
    expect(request?.headers['x-tfs-fedauthredirect']).toBe('Suppress');
  });
});

describe('service principal', () => {
  it('signs in with the connection secret, masked first', async () => {
    const { result, log } = await probe(connectionOf('secret'));
    expect(result).toMatchObject({ ok: true });
    expect(claims(result.tokens?.[0])).toMatchObject({ appid: bed.azureDevOps.app.clientId, appidacr: '1' });
    expect(log.secrets).toContain(bed.azureDevOps.app.clientSecret);
    expect(log.commands.findIndex((c) => c.data === bed.azureDevOps.app.clientSecret)).toBeLessThan(2);
    expect(await bed.control.requests({ service: 'azuredevops' })).toEqual([]);
  });

  it('tells to update the service connection for a wrong secret', async () => {
    const connection = connectionOf('secret');
    connection.parameters['serviceprincipalkey'] = 'wrong-secret';
    const { result } = await probe(connection);
    expect(result).toMatchObject({ ok: false, kind: 'auth' });
    expect(result.message).toContain('AADSTS7000215');
    expect(result.hint).toContain('update the service connection');
  });

  it('signs in with the connection PEM certificate (x5t#S256, PS256), every PEM line masked', async () => {
    const { result, log } = await probe(connectionOf('certificate'));
    expect(result).toMatchObject({ ok: true });
    expect(claims(result.tokens?.[0])).toMatchObject({ appid: bed.azureDevOps.app.clientId, appidacr: '2' });
    const [post] = (await bed.control.requests({ service: 'entra' })).filter((r) => r.method === 'POST');
    const assertion = new URLSearchParams(post?.body ?? '').get('client_assertion') ?? '';
    const header = JSON.parse(
      Buffer.from(assertion.split('.')[0] ?? '', 'base64url').toString('utf8'),
    ) as Record<string, unknown>;
    expect(header).toMatchObject({ alg: 'PS256' });
    expect(header['x5t#S256']).toEqual(expect.any(String));
    const pemLines = bed.azureDevOps.app.certificatePem
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean);
    for (const line of pemLines) expect(log.secrets).toContain(line);
  });

  it('names the certificate problem when the app does not hold it', async () => {
    const connection = connectionOf('certificate');
    connection.parameters['serviceprincipalid'] = bed.principals.deployer.clientId;
    const { result } = await probe(connection);
    expect(result.message).toContain('AADSTS700027');
    expect(result.hint).toContain(`app ${bed.principals.deployer.clientId}'s certificates`);
  });
});

describe('managed identity and other schemes', () => {
  it("signs in with the self-hosted agent's managed identity", async () => {
    const { result } = await probe(connectionOf('managed-identity'));
    expect(result).toMatchObject({ ok: true });
    expect(claims(result.tokens?.[0])).toMatchObject({ appid: bed.managedIdentity.clientId });
    expect(await bed.control.requests({ service: 'msi' })).toHaveLength(2);
  });

  it('explains a managed identity connection on an agent without one', async () => {
    const { result } = await probe(connectionOf('managed-identity'), {
      IDENTITY_ENDPOINT: undefined,
      IDENTITY_HEADER: undefined,
      // No IMDS either: an address nothing listens on, so the probe fails fast instead of waiting on 169.254.169.254.
      AZURE_POD_IDENTITY_AUTHORITY_HOST: 'http://127.0.0.1:9',
    });
    expect(result).toMatchObject({ ok: false, kind: 'auth' });
    expect(result.hint).toContain('self-hosted agent');
  });

  it('names a scheme it cannot use, before any request', async () => {
    const connection = { ...connectionOf('secret'), scheme: 'PublishProfile' };
    const { result } = await probe(connection);
    expect(result).toMatchObject({ ok: false, kind: 'auth' });
    expect(result.message).toContain("'PublishProfile'");
    expect(await bed.control.requests()).toEqual([]);
  });
});
