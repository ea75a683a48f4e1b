/**
 * `startBed()`: the whole test bed on 127.0.0.1, returned as the `Bed` of types.ts.
 *
 *   const bed = await startBed();
 *   try {
 *     const result = await runAction(bed, { ...bed.baseInputs(), source: `${bed.sources.hub.host}/library/hello:latest` });
 *     expect(await bed.digestOf(bed.acrs.target, 'library/hello', 'latest')).toBe(bed.sources.hub.images['multiArch']?.digest);
 *   } finally {
 *     await bed.stop();
 *   }
 *
 * Start-up: a temp dir, every port allocated up front, the PKI (testbed/pki.ts), the emulator's config
 * (testbed/emulator/config.ts), then the eight registries (testbed/registries.ts) and the emulator process in
 * parallel; seeding (testbed/seed.ts) starts as soon as the registries answer, while the emulator may still be
 * starting (the hub is seeded with tokens the bed signs itself). `timings` on the result says where the time went.
 *
 * Who is who (see types.ts): tenants main/other; subscriptions main and second (tenant main), otherTenant; principals
 * deployer (federated subject `repo:acme/app:ref:refs/heads/main` + client secret; importer on target, pull on source,
 * locked, otherSub), reader (same federated subject, no role), foreign (tenant other; pull on otherTenant; also a
 * federated credential for the Azure DevOps connection acr-prod's subject) and a managed identity (importer on target),
 * and pipelines (the Azure DevOps service connections' app, importer on target; see testbed/azure-devops-bed.ts). ACRs:
 * target (empty), source, locked (public network access off), otherSub (subscription second), otherTenant. Sources: hub
 * (TLS, Bearer token auth through the emulator, anonymous pulls, account `hubuser`), mcr (TLS, anonymous), private
 * (TLS, htpasswd Basic).
 *
 * Processes never outlive the bed's owner: see `spawnTracked` in testbed/registries.ts. `stop()` kills them by PID and
 * removes the directory. Beds whose owner died without stopping are reaped by the next `startBed()`.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { createWriteStream, existsSync, openSync, closeSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, statfs, writeFile, appendFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSecureContext } from 'node:tls';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Agent } from 'undici';
import type { EmulatorConfig } from './emulator/config.js';
import { appCertificate, azureDevOpsSetup, type AzureDevOpsBed } from './azure-devops-bed.js';
import { RegistryClient } from './oci.js';
import { generatePki, type Pki } from './pki.js';
import {
  freePorts,
  PRIVATE_REGISTRY_BCRYPT,
  PRIVATE_REGISTRY_PASSWORD,
  PRIVATE_REGISTRY_USER,
  spawnTracked,
  startRegistries,
  stopProcess,
  type RegistrySpec,
  type RunningRegistry,
} from './registries.js';
import { registryTokenMinter, seedRegistry, SEED_PLAN, type SeedTarget } from './seed.js';
import type {
  Bed,
  EmulatedAcr,
  EmulatorControl,
  Faults,
  LoggedRequest,
  Principal,
  SeededImage,
  SourceRegistry,
} from './types.js';

export interface BedOptions {
  /**
   * Where the bed's temp dir is made. Default: `$TESTBED_DIR`, else /dev/shm when it has 1 GiB free (registry
   * storage on tmpfs halves the time of each upload), else the OS temp dir.
   */
  parentDir?: string;
  /** Start the emulator (default true). Without it the registries, PKI and seeding still work, not `control` etc. */
  emulator?: boolean;
  /** Push the seed images (default true). */
  seed?: boolean;
  /** Keep the directory on `stop()` (default false), e.g. to read the logs. */
  keepDir?: boolean;
  /** The emulator's default Retry-After for 202 answers, in seconds (default 10, as real ACR). */
  retryAfterSeconds?: number;
  /**
   * Changes the role assignments the emulator starts with. Gets the defaults (see the header) and the resource IDs of
   * the subscriptions and registries; returns the list to use. E.g. Reader for `deployer` on a subscription, so the
   * action can find source registries by login server, as it can for a user whose identity has Reader there.
   */
  roleAssignments?: (
    defaults: EmulatorConfig['roleAssignments'],
    ids: { subscriptions: Bed['subscriptions']; acrs: Record<keyof Bed['acrs'], string> },
  ) => EmulatorConfig['roleAssignments'];
  /** Limit for the whole start-up (default 30 s). */
  timeoutMs?: number;
}

export interface BedTimings {
  pkiMs: number;
  registriesMs: number;
  emulatorMs: number;
  seedMs: number;
  totalMs: number;
}

/** The bed, plus what only the harness needs. */
export interface StartedBed extends Bed {
  timings: BedTimings;
  /** The running registry processes by name: hub, mcr, private, target, source, locked, otherSub, otherTenant. */
  registries: Record<string, RunningRegistry>;
  emulatorPid: number | undefined;
  /** The emulator's generated config (ports, principals, accounts ...). */
  emulatorConfig: EmulatorConfig;
  pki: Pki;
  /** Mints hub registry tokens in-process (push included): for tests that must write to the hub. */
  hubToken: (scope: string) => string;
  /** A client for any of the bed's registries (CA preset); `close()` it when done. */
  client(url: string, credentials?: { username: string; password: string }): RegistryClient;
  /** The Azure DevOps organization, job and service connections (see testbed/azure-devops-bed.ts). */
  azureDevOps: AzureDevOpsBed;
}

// ---------------------------------------------------------------------------------------------------------------
// Fixed identities. GUIDs are stable (derived from a label) so logs read the same from run to run; secrets are not.

/** A v4-shaped GUID derived from a label. */
function guid(label: string): string {
  const h = createHash('sha256').update(`acr-import-bed:${label}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}
const secret = (): string => randomBytes(24).toString('base64url');

export const BED_REPOSITORY = 'acme/app';
export const BED_SUBJECT = `repo:${BED_REPOSITORY}:ref:refs/heads/main`;
const FEDERATED_AUDIENCE = 'api://AzureADTokenExchange';
const HUB_SERVICE = 'hub.testbed.local';
const HUB_ISSUER = 'testbed-hub-auth';
const LOCATION = 'westeurope';

type AcrKey = keyof Bed['acrs'];
const ACR_LAYOUT: Record<
  AcrKey,
  {
    name: string;
    subscription: keyof Bed['subscriptions'];
    resourceGroup: string;
    publicNetworkAccess: boolean;
  }
> = {
  target: { name: 'targetacr', subscription: 'main', resourceGroup: 'rg-app', publicNetworkAccess: true },
  source: { name: 'sourceacr', subscription: 'main', resourceGroup: 'rg-shared', publicNetworkAccess: true },
  locked: { name: 'lockedacr', subscription: 'main', resourceGroup: 'rg-locked', publicNetworkAccess: false },
  otherSub: {
    name: 'othersubacr',
    subscription: 'second',
    resourceGroup: 'rg-second',
    publicNetworkAccess: true,
  },
  otherTenant: {
    name: 'othertenantacr',
    subscription: 'otherTenant',
    resourceGroup: 'rg-partner',
    publicNetworkAccess: true,
  },
};
const ACR_KEYS = Object.keys(ACR_LAYOUT) as AcrKey[];
const SOURCE_KEYS = ['hub', 'mcr', 'private'] as const;

// ---------------------------------------------------------------------------------------------------------------
// Where beds live

async function defaultParentDir(): Promise<string> {
  const fromEnv = process.env['TESTBED_DIR'];
  if (fromEnv) return fromEnv;
  try {
    const stats = await statfs('/dev/shm');
    if (stats.bavail * stats.bsize >= 1024 ** 3) return '/dev/shm';
  } catch {
    // no /dev/shm
  }
  return tmpdir();
}

// ---------------------------------------------------------------------------------------------------------------
// Stale beds

const BED_PREFIX = 'acr-import-bed-';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Kills the processes of beds whose owner process is gone (a SIGKILLed test run) and removes their directories. */
async function reapStaleBeds(parent: string): Promise<void> {
  let names: string[];
  try {
    names = (await readdir(parent)).filter((n) => n.startsWith(BED_PREFIX));
  } catch {
    return;
  }
  await Promise.all(
    names.map(async (name) => {
      const dir = join(parent, name);
      const owner = Number((await readFile(join(dir, 'owner.pid'), 'utf8').catch(() => '')).trim());
      if (!owner || alive(owner)) return;
      const pids = (await readFile(join(dir, 'pids'), 'utf8').catch(() => ''))
        .split('\n')
        .map(Number)
        .filter((p) => p > 0);
      for (const pid of pids) {
        // Only a process that still runs from this bed's directory: the PID may have been reused.
        const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
        if (cmdline.includes(dir)) {
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            // gone
          }
        }
      }
      await rm(dir, { recursive: true, force: true }).catch(() => undefined);
    }),
  );
}

// ---------------------------------------------------------------------------------------------------------------
// Emulator process

const EMULATOR_MAIN = fileURLToPath(new URL('./emulator/main.js', import.meta.url));

/** Path of the compiled emulator entry point (build/testbed/emulator/main.js). */
export function emulatorMainPath(): string {
  return EMULATOR_MAIN;
}

async function startEmulator(
  dir: string,
  configFile: string,
  caFile: string,
  timeoutMs: number,
): Promise<{ pid: number; stop: () => Promise<void> }> {
  if (!existsSync(EMULATOR_MAIN)) {
    throw new Error(`the emulator is not built: ${EMULATOR_MAIN} is missing (run npm run compile)`);
  }
  const logFile = join(dir, 'emulator.log');
  const errFd = openSync(logFile, 'a');
  const child = spawnTracked(process.execPath, [EMULATOR_MAIN, '--config', configFile], {
    env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', NODE_EXTRA_CA_CERTS: caFile },
    stdio: ['ignore', 'pipe', errFd],
  });
  closeSync(errFd);
  const pid = child.pid;
  const stop = async (): Promise<void> => {
    if (pid !== undefined) await stopProcess(pid);
  };
  if (pid === undefined || !child.stdout) throw new Error('could not spawn the emulator');
  const stdout = child.stdout;
  // The pipe must not keep the parent alive either (see spawnTracked).
  (stdout as unknown as { unref?: () => void }).unref?.();
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no READY line within ${timeoutMs} ms`)), timeoutMs);
      const lines = createInterface({ input: stdout });
      const out = createWriteStream(join(dir, 'emulator.out.log'), { flags: 'a' });
      let ready = false;
      lines.on('line', (line) => {
        out.write(`${line}\n`);
        if (!ready && line.startsWith('READY')) {
          ready = true;
          clearTimeout(timer);
          resolve();
        }
      });
      lines.once('close', () => out.end());
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        if (!ready) reject(new Error(`the emulator exited before READY (code ${code}, signal ${signal})`));
      });
    });
  } catch (error) {
    await stop();
    const log = existsSync(logFile) ? readFileSync(logFile, 'utf8').trim() : '';
    throw new Error(`emulator did not start: ${(error as Error).message}${log ? `\n${log}` : ''}`, {
      cause: error,
    });
  }
  return { pid, stop };
}

// ---------------------------------------------------------------------------------------------------------------
// Control API client

/** Client of the emulator's Control API: `POST /faults`, `POST /reset`, `GET /requests`, `DELETE /requests`, `GET /secrets`. */
export function controlClient(baseUrl: string, ca: string): EmulatorControl & { close(): Promise<void> } {
  const agent = new Agent({ connect: { secureContext: createSecureContext({ ca }) } });
  const call = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const response = await agent.request({
      origin: baseUrl,
      path,
      method: method as 'GET',
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? null : JSON.stringify(body),
    });
    const text = await response.body.text();
    if (response.statusCode >= 300) {
      throw new Error(`emulator control ${method} ${path} -> ${response.statusCode}: ${text}`);
    }
    return (text ? JSON.parse(text) : undefined) as T;
  };
  return {
    async setFaults(faults: Faults): Promise<void> {
      await call('POST', '/faults', faults);
    },
    async reset(): Promise<void> {
      await call('POST', '/reset');
    },
    async requests(filter?: { service?: string }): Promise<LoggedRequest[]> {
      const query = filter?.service ? `?service=${encodeURIComponent(filter.service)}` : '';
      return call<LoggedRequest[]>('GET', `/requests${query}`);
    },
    async clearRequests(): Promise<void> {
      await call('DELETE', '/requests');
    },
    async issuedSecrets(): Promise<string[]> {
      return call<string[]>('GET', '/secrets');
    },
    async close(): Promise<void> {
      await agent.close().catch(() => undefined);
    },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// startBed

export async function startBed(options: BedOptions = {}): Promise<StartedBed> {
  const t0 = performance.now();
  const since = (t: number): number => Math.round(performance.now() - t);
  const parent = options.parentDir ?? (await defaultParentDir());
  await mkdir(parent, { recursive: true });
  const dir = await mkdtemp(join(parent, BED_PREFIX));
  await writeFile(join(dir, 'owner.pid'), `${process.pid}\n`);
  const reaping = reapStaleBeds(parent);

  const stoppers: (() => Promise<void>)[] = [];
  const pidsFile = join(dir, 'pids');
  const remember = (pid: number | undefined): Promise<void> =>
    pid === undefined ? Promise.resolve() : appendFile(pidsFile, `${pid}\n`);
  let stopped = false;
  const teardown = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await Promise.all(stoppers.map((s) => s().catch(() => undefined)));
    if (!options.keepDir) await rm(dir, { recursive: true, force: true }).catch(() => undefined);
  };

  // The pipelines app's RSA certificate takes openssl a while: made alongside everything else.
  const appCert = appCertificate(dir);
  appCert.catch(() => undefined);
  try {
    // -- ports, PKI ---------------------------------------------------------------------------------------------
    const registryNames = [...SOURCE_KEYS, ...ACR_KEYS];
    const [portList, pki] = await Promise.all([
      freePorts(6 + ACR_KEYS.length + registryNames.length),
      (async () => {
        const t = performance.now();
        const result = await generatePki(join(dir, 'pki'));
        return { result, ms: since(t) };
      })(),
    ]);
    const ports = [...portList];
    const take = (): number => {
      const port = ports.shift();
      if (port === undefined) throw new Error('port allocation ran short');
      return port;
    };
    const emulatorPorts = { oidc: take(), entra: take(), arm: take(), hubAuth: take(), control: take() };
    const azureDevOpsPort = take();
    const dataPlanePorts = Object.fromEntries(ACR_KEYS.map((k) => [k, take()])) as Record<AcrKey, number>;
    const registryPorts = Object.fromEntries(registryNames.map((k) => [k, take()])) as Record<
      (typeof registryNames)[number],
      number
    >;
    const { caFile, caPem } = pki.result;
    const origin = (port: number): string => `https://127.0.0.1:${port}`;

    // -- identities ---------------------------------------------------------------------------------------------
    const tenants = { main: guid('tenant:main'), other: guid('tenant:other') };
    const subscriptions = {
      main: guid('sub:main'),
      second: guid('sub:second'),
      otherTenant: guid('sub:otherTenant'),
    };
    const subscriptionTenant: Record<keyof typeof subscriptions, string> = {
      main: tenants.main,
      second: tenants.main,
      otherTenant: tenants.other,
    };
    const principal = (name: string, tenantId: string): Principal => ({
      clientId: guid(`app:${name}`),
      tenantId,
      objectId: guid(`sp:${name}`),
      clientSecret: secret(),
      federatedSubjects: [BED_SUBJECT],
    });
    const principals = {
      deployer: principal('deployer', tenants.main),
      reader: principal('reader', tenants.main),
      foreign: principal('foreign', tenants.other),
    };
    const azureDevOps = azureDevOpsSetup(
      azureDevOpsPort,
      tenants.main,
      await appCert,
      origin(emulatorPorts.entra),
    );
    const identity = {
      clientId: guid('app:identity'),
      objectId: guid('sp:identity'),
      tenantId: tenants.main,
    };
    const requestToken = secret();
    const managedIdentityHeader = secret();
    const hubAccount = { username: 'hubuser', password: secret() };
    const hubPusher = { username: 'hubpusher', password: secret() };

    const roleAssignments = options.roleAssignments ?? ((defaults) => defaults);
    const acrResource = (key: AcrKey): { id: string; subscriptionId: string } => {
      const layout = ACR_LAYOUT[key];
      const subscriptionId = subscriptions[layout.subscription];
      return {
        subscriptionId,
        id: `/subscriptions/${subscriptionId}/resourceGroups/${layout.resourceGroup}/providers/Microsoft.ContainerRegistry/registries/${layout.name}`,
      };
    };

    // -- emulator config ----------------------------------------------------------------------------------------
    const emulatorConfig: EmulatorConfig = {
      tls: { certFile: pki.result.certFile, keyFile: pki.result.keyFile, caFile },
      ports: emulatorPorts,
      github: { requestToken, subject: BED_SUBJECT, repository: BED_REPOSITORY },
      tenants: [tenants.main, tenants.other],
      principals: [
        ...(Object.entries(principals) as [string, Principal][]).map(([name, p]) => ({
          name,
          clientId: p.clientId,
          tenantId: p.tenantId,
          objectId: p.objectId,
          ...(p.clientSecret ? { clientSecret: p.clientSecret } : {}),
          federated: [
            ...p.federatedSubjects.map((subject) => ({ subject, audiences: [FEDERATED_AUDIENCE] })),
            // The partner tenant's app also trusts the acr-prod service connection (the task's cross-tenant source).
            ...(name === 'foreign' ? [azureDevOps.crossTenantFederation] : []),
          ],
        })),
        { name: 'identity', ...identity, federated: [], managedIdentity: true },
        azureDevOps.principal,
      ],
      subscriptions: (Object.keys(subscriptions) as (keyof typeof subscriptions)[]).map((k) => ({
        id: subscriptions[k],
        tenantId: subscriptionTenant[k],
        displayName: {
          main: 'Acme Production',
          second: 'Acme Shared Services',
          otherTenant: 'Partner Subscription',
        }[k],
      })),
      registries: ACR_KEYS.map((key) => ({
        name: ACR_LAYOUT[key].name,
        subscriptionId: acrResource(key).subscriptionId,
        resourceGroup: ACR_LAYOUT[key].resourceGroup,
        location: LOCATION,
        port: dataPlanePorts[key],
        backendUrl: `http://127.0.0.1:${registryPorts[key]}`,
        storageDir: join(dir, key, 'storage'),
        publicNetworkAccess: ACR_LAYOUT[key].publicNetworkAccess,
        exportPolicyEnabled: true,
        armTokenAuth: true,
        sku: 'Premium' as const,
      })),
      roleAssignments: roleAssignments(
        [
          { principal: 'deployer', role: 'importer', scope: acrResource('target').id },
          { principal: 'deployer', role: 'pull', scope: acrResource('source').id },
          { principal: 'deployer', role: 'pull', scope: acrResource('locked').id },
          { principal: 'deployer', role: 'pull', scope: acrResource('otherSub').id },
          { principal: 'foreign', role: 'pull', scope: acrResource('otherTenant').id },
          { principal: 'identity', role: 'importer', scope: acrResource('target').id },
          { principal: 'pipelines', role: 'importer', scope: acrResource('target').id },
        ],
        {
          subscriptions,
          acrs: Object.fromEntries(ACR_KEYS.map((k) => [k, acrResource(k).id])) as Record<AcrKey, string>,
        },
      ),
      hub: {
        service: HUB_SERVICE,
        issuer: HUB_ISSUER,
        signingKeyFile: pki.result.signingKeyFile,
        signingCertFile: pki.result.signingCertFile,
        accounts: [
          { ...hubAccount, push: false },
          { ...hubPusher, push: true },
        ],
      },
      retryAfterSeconds: options.retryAfterSeconds ?? 10,
      managedIdentityHeader,
      azureDevOps: azureDevOps.config,
    };
    const configFile = join(dir, 'emulator.json');
    await writeFile(configFile, JSON.stringify(emulatorConfig, null, 2));

    // -- registries and emulator, in parallel; seeding as soon as the registries answer --------------------------
    const tls = { certFile: pki.result.certFile, keyFile: pki.result.keyFile };
    const specs: RegistrySpec[] = [
      {
        name: 'hub',
        dir,
        port: registryPorts.hub,
        tls,
        ca: caPem,
        auth: {
          kind: 'token',
          realm: `${origin(emulatorPorts.hubAuth)}/token`,
          service: HUB_SERVICE,
          issuer: HUB_ISSUER,
          rootCertBundle: pki.result.signingCertFile,
        },
      },
      { name: 'mcr', dir, port: registryPorts.mcr, tls, ca: caPem },
      {
        name: 'private',
        dir,
        port: registryPorts.private,
        tls,
        ca: caPem,
        auth: {
          kind: 'htpasswd',
          realm: 'private-registry',
          users: { [PRIVATE_REGISTRY_USER]: PRIVATE_REGISTRY_BCRYPT },
        },
      },
      ...ACR_KEYS.map((key) => ({ name: key, dir, port: registryPorts[key] })),
    ];
    const timeoutMs = options.timeoutMs ?? 30_000;
    const hubToken = registryTokenMinter({
      signingKeyPem: pki.result.signingKeyPem,
      signingCertPem: pki.result.signingCertPem,
      issuer: HUB_ISSUER,
      service: HUB_SERVICE,
    });

    const timings: BedTimings = { pkiMs: pki.ms, registriesMs: 0, emulatorMs: 0, seedMs: 0, totalMs: 0 };
    const tParallel = performance.now();

    const registriesAndSeed = (async () => {
      const running = await startRegistries(specs.map((s) => ({ ...s, timeoutMs })));
      for (const r of running) {
        stoppers.push(r.stop);
        await remember(r.pid);
      }
      timings.registriesMs = since(tParallel);
      const byName = Object.fromEntries(running.map((r) => [r.name, r])) as Record<string, RunningRegistry>;
      const tSeed = performance.now();
      const seeded: Partial<Record<SeedTarget, Record<string, SeededImage>>> = {};
      if (options.seed !== false) {
        await Promise.all(
          (Object.keys(SEED_PLAN) as SeedTarget[]).map(async (target) => {
            const plan = SEED_PLAN[target];
            const registry = byName[target];
            if (!registry || plan.length === 0) {
              seeded[target] = {};
              return;
            }
            const client = new RegistryClient({
              url: registry.url,
              ca: caPem,
              ...(target === 'hub' ? { tokenProvider: hubToken } : {}),
              ...(target === 'private'
                ? { username: PRIVATE_REGISTRY_USER, password: PRIVATE_REGISTRY_PASSWORD }
                : {}),
            });
            try {
              seeded[target] = await seedRegistry(client, plan);
            } finally {
              await client.close();
            }
          }),
        );
      }
      timings.seedMs = since(tSeed);
      return { byName, seeded };
    })();

    const emulator = (async () => {
      if (options.emulator === false) return undefined;
      const started = await startEmulator(dir, configFile, caFile, timeoutMs);
      stoppers.push(started.stop);
      await remember(started.pid);
      timings.emulatorMs = since(tParallel);
      return started;
    })();

    const [rs, em] = await Promise.allSettled([registriesAndSeed, emulator]);
    if (rs.status === 'rejected') throw rs.reason;
    if (em.status === 'rejected') throw em.reason;
    const { byName, seeded } = rs.value;
    await reaping;

    // -- the Bed ------------------------------------------------------------------------------------------------
    const registryOf = (name: string): RunningRegistry => {
      const r = byName[name];
      if (!r) throw new Error(`registry ${name} missing`);
      return r;
    };
    const source = (
      key: (typeof SOURCE_KEYS)[number],
      credentials?: { username: string; password: string },
    ): SourceRegistry => {
      const r = registryOf(key);
      return { host: r.host, url: r.url, ...(credentials ?? {}), images: seeded[key] ?? {} };
    };
    const acrs = Object.fromEntries(
      ACR_KEYS.map((key) => {
        const layout = ACR_LAYOUT[key];
        const resource = acrResource(key);
        const acr: EmulatedAcr = {
          name: layout.name,
          resourceId: resource.id,
          subscriptionId: resource.subscriptionId,
          resourceGroup: layout.resourceGroup,
          tenantId: subscriptionTenant[layout.subscription],
          loginServer: `127.0.0.1:${dataPlanePorts[key]}`,
          backendUrl: registryOf(key).url,
          publicNetworkAccess: layout.publicNetworkAccess,
          images: seeded[key] ?? {},
        };
        return [key, acr];
      }),
    ) as Record<AcrKey, EmulatedAcr>;

    const control = controlClient(origin(emulatorPorts.control), caPem);
    stoppers.push(() => control.close());

    const runnerDir = join(dir, 'runner');
    await Promise.all([
      mkdir(join(runnerDir, 'temp'), { recursive: true }),
      mkdir(join(runnerDir, 'workspace'), { recursive: true }),
      mkdir(join(runnerDir, 'tool-cache'), { recursive: true }),
    ]);
    const eventPath = join(runnerDir, 'event.json');
    await writeFile(
      eventPath,
      JSON.stringify({
        ref: 'refs/heads/main',
        repository: { full_name: BED_REPOSITORY, name: 'app', owner: { login: 'acme' } },
        sender: { login: 'octocat' },
      }),
    );
    const jobId = randomUUID();
    const oidcRequestUrl =
      `${origin(emulatorPorts.oidc)}/00000000-0000-0000-0000-000000000000/_apis/distributedtask/hubs/Actions/plans/` +
      `${randomUUID()}/jobs/${jobId}/idtoken?api-version=2.0`;

    const witnesses = new Map<string, RegistryClient>();
    const witness = (acr: EmulatedAcr): RegistryClient => {
      let client = witnesses.get(acr.backendUrl);
      if (!client) {
        client = new RegistryClient({ url: acr.backendUrl });
        witnesses.set(acr.backendUrl, client);
      }
      return client;
    };
    stoppers.push(async () => {
      await Promise.all([...witnesses.values()].map((c) => c.close()));
    });

    timings.totalMs = since(t0);
    const bed: StartedBed = {
      caFile,
      caPem,
      dir,
      oidc: {
        requestUrl: oidcRequestUrl,
        requestToken,
        issuer: origin(emulatorPorts.oidc),
        subject: BED_SUBJECT,
      },
      entra: { authorityHost: origin(emulatorPorts.entra) },
      arm: { endpoint: origin(emulatorPorts.arm) },
      managedIdentity: {
        endpoint: `${origin(emulatorPorts.entra)}/msi/token`,
        header: managedIdentityHeader,
        clientId: identity.clientId,
      },
      tenants,
      subscriptions,
      principals,
      sources: {
        hub: source('hub', hubAccount),
        mcr: source('mcr'),
        private: source('private', { username: PRIVATE_REGISTRY_USER, password: PRIVATE_REGISTRY_PASSWORD }),
      },
      acrs,
      control,
      runnerEnv: () => ({
        NODE_EXTRA_CA_CERTS: caFile,
        CI: 'true',
        GITHUB_ACTIONS: 'true',
        ACTIONS_ID_TOKEN_REQUEST_URL: oidcRequestUrl,
        ACTIONS_ID_TOKEN_REQUEST_TOKEN: requestToken,
        RUNNER_ENVIRONMENT: 'github-hosted',
        RUNNER_OS: 'Linux',
        RUNNER_ARCH: 'X64',
        RUNNER_NAME: 'GitHub Actions 2',
        RUNNER_TEMP: join(runnerDir, 'temp'),
        RUNNER_TOOL_CACHE: join(runnerDir, 'tool-cache'),
        GITHUB_WORKSPACE: join(runnerDir, 'workspace'),
        GITHUB_EVENT_PATH: eventPath,
        GITHUB_EVENT_NAME: 'push',
        GITHUB_REPOSITORY: BED_REPOSITORY,
        GITHUB_REPOSITORY_OWNER: 'acme',
        GITHUB_REPOSITORY_ID: '2000002',
        GITHUB_REPOSITORY_OWNER_ID: '1000001',
        GITHUB_RUN_ID: '3000003',
        GITHUB_RUN_NUMBER: '7',
        GITHUB_RUN_ATTEMPT: '1',
        GITHUB_JOB: 'import',
        GITHUB_WORKFLOW: 'import',
        GITHUB_WORKFLOW_REF: `${BED_REPOSITORY}/.github/workflows/import.yml@refs/heads/main`,
        GITHUB_WORKFLOW_SHA: 'a'.repeat(40),
        GITHUB_ACTION: '__acme_acr-import',
        GITHUB_ACTION_REPOSITORY: 'acme/acr-import',
        GITHUB_ACTION_REF: 'v1',
        GITHUB_ACTOR: 'octocat',
        GITHUB_ACTOR_ID: '583231',
        GITHUB_TRIGGERING_ACTOR: 'octocat',
        GITHUB_REF: 'refs/heads/main',
        GITHUB_REF_NAME: 'main',
        GITHUB_REF_TYPE: 'branch',
        GITHUB_REF_PROTECTED: 'false',
        GITHUB_SHA: 'a'.repeat(40),
        GITHUB_HEAD_REF: '',
        GITHUB_BASE_REF: '',
        GITHUB_SERVER_URL: 'https://github.com',
        GITHUB_API_URL: 'https://api.github.com',
        GITHUB_GRAPHQL_URL: 'https://api.github.com/graphql',
        GITHUB_RETENTION_DAYS: '90',
      }),
      baseInputs: () => ({
        registry: acrs.target.name,
        'subscription-id': acrs.target.subscriptionId,
        'tenant-id': tenants.main,
        'client-id': principals.deployer.clientId,
        'resource-manager-endpoint': origin(emulatorPorts.arm),
        'authority-host': origin(emulatorPorts.entra),
      }),
      async digestOf(acr: EmulatedAcr, repository: string, tagOrDigest: string): Promise<string | undefined> {
        return (await witness(acr).headManifest(repository, tagOrDigest))?.digest;
      },
      stop: teardown,
      timings,
      registries: byName,
      emulatorPid: em.value?.pid,
      emulatorConfig,
      pki: pki.result,
      hubToken,
      client: (url: string, credentials?: { username: string; password: string }): RegistryClient =>
        new RegistryClient({ url, ca: caPem, ...(credentials ?? {}) }),
      azureDevOps: azureDevOps.bed,
    };
    return bed;
  } catch (error) {
    await teardown();
    throw error;
  }
}
