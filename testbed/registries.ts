/**
 * Real registries for the bed: `docker-registry serve <config.yml>` (CNCF distribution 2.8.2, Debian package
 * `docker-registry`) on 127.0.0.1, one process per registry, with a generated config, filesystem storage in the bed's
 * directory and logs in a file beside it.
 *
 * Exported API:
 * - `startRegistry(spec)` / `startRegistries(specs)`: write the config, spawn, and resolve once `GET /v2/` answers
 *   (polled every 20 ms). The result carries `host` (`127.0.0.1:PORT`), `url`, `pid`, `logFile` and `stop()`.
 * - `freePorts(n)`: n distinct free TCP ports on 127.0.0.1, below the ephemeral range (checked by listening on each).
 * - `spawnTracked(...)`, `stopProcess(pid)`, `trackedPids()`: every child of the bed is spawned through
 *   `spawnTracked`, which (1) asks the kernel to SIGKILL the child when its parent dies (`setpriv --pdeathsig`,
 *   util-linux), and (2) records the PID so that a process `exit` handler kills whatever is left when the parent exits
 *   without calling `stop()` (a failed test, an uncaught error). `stopProcess` sends SIGTERM, then SIGKILL after 2 s.
 * - `PRIVATE_REGISTRY_USER`, `PRIVATE_REGISTRY_PASSWORD`, `PRIVATE_REGISTRY_BCRYPT`: the htpasswd account of the
 *   bed's `private` registry (see the note beside them).
 */
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, openSync, closeSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { createSecureContext } from 'node:tls';
import { Agent } from 'undici';

export const DOCKER_REGISTRY_BIN = '/usr/bin/docker-registry';

/**
 * The `private` registry's only account. docker-registry's htpasswd auth accepts bcrypt hashes only, and the machine
 * has no bcrypt tool, so the hash is a fixture. It was made once with Python's `crypt` module, which calls the
 * system's libxcrypt (Debian 12, cost 5 so each Basic request stays cheap):
 *   python3 -c "import crypt; print(crypt.crypt('s3cret-private-registry-pass', crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=32)))"
 */
export const PRIVATE_REGISTRY_USER = 'ci-puller';
export const PRIVATE_REGISTRY_PASSWORD = 's3cret-private-registry-pass';
export const PRIVATE_REGISTRY_BCRYPT = '$2b$05$TCu7RjgxUujsTvBCHWl9SOUYREwVc7CK53.3TZgimuKbQo3xWGQdC';

export type RegistryAuth =
  | { kind: 'none' }
  /** Basic auth against an htpasswd file: `users` maps user name to bcrypt hash. */
  | { kind: 'htpasswd'; realm: string; users: Record<string, string> }
  /** Bearer tokens from an external token server (here: the emulator's hub token server). */
  | { kind: 'token'; realm: string; service: string; issuer: string; rootCertBundle: string };

export interface RegistrySpec {
  /** Short name: used for the sub-directory (storage, config, log). */
  name: string;
  /** Directory under which `<name>/` is made. */
  dir: string;
  port: number;
  /** Serve HTTPS with this certificate (the bed's server cert); otherwise plain HTTP. */
  tls?: { certFile: string; keyFile: string };
  auth?: RegistryAuth;
  /** PEM CA used to poll `/v2/` when `tls` is set (else the default trust store). */
  ca?: string;
  /** Start-up time limit (default 10 s). */
  timeoutMs?: number;
}

export interface RunningRegistry {
  name: string;
  port: number;
  /** `127.0.0.1:PORT` */
  host: string;
  /** `https://127.0.0.1:PORT` or `http://...` */
  url: string;
  pid: number;
  configFile: string;
  logFile: string;
  storageDir: string;
  stop(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------------------------
// Process tracking

const tracked = new Map<number, ChildProcess>();
let exitHandlerInstalled = false;

function killAllTrackedSync(): void {
  for (const pid of tracked.keys()) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  tracked.clear();
}

function installExitHandler(): void {
  if (exitHandlerInstalled) return;
  exitHandlerInstalled = true;
  process.on('exit', killAllTrackedSync);
  // A signal would end the process without 'exit': kill the children, then die of the same signal.
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = (): void => {
      killAllTrackedSync();
      process.removeListener(signal, onSignal);
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    };
    process.on(signal, onSignal);
  }
}

/** PIDs of the children started by this process that have not been stopped yet. */
export function trackedPids(): number[] {
  return [...tracked.keys()];
}

const SETPRIV = '/usr/bin/setpriv';

/**
 * Spawns a child that dies with its parent: through `setpriv --pdeathsig KILL` (which then execs the command, so the
 * PID is the command's own), and through the process `exit` handler.
 */
export function spawnTracked(
  command: string,
  args: string[],
  options: { env: Record<string, string>; stdio: StdioOptions; cwd?: string },
): ChildProcess {
  installExitHandler();
  const [cmd, argv] = existsSync(SETPRIV)
    ? [SETPRIV, ['--pdeathsig', 'KILL', '--', command, ...args]]
    : [command, args];
  const child = spawn(cmd, argv, {
    env: options.env,
    stdio: options.stdio,
    cwd: options.cwd,
    detached: false,
  });
  if (child.pid !== undefined) {
    const pid = child.pid;
    tracked.set(pid, child);
    child.once('exit', () => tracked.delete(pid));
  }
  // A forgotten child must not keep the parent alive: the parent exits, and the exit handler kills the child.
  child.unref();
  child.on('error', () => {
    // reported by the caller through its own wait (exit/close); never an unhandled 'error' event
  });
  return child;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** SIGTERM, then SIGKILL if the process still lives after `graceMs`; resolves once it is gone. */
export async function stopProcess(pid: number, graceMs = 2000): Promise<void> {
  const child = tracked.get(pid);
  const exited =
    child && child.exitCode === null && child.signalCode === null
      ? new Promise<void>((resolve) => child.once('exit', () => resolve()))
      : Promise.resolve();
  if (!alive(pid)) {
    tracked.delete(pid);
    return;
  }
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    tracked.delete(pid);
    return;
  }
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), graceMs);
  });
  const result = await Promise.race([child ? exited : waitGone(pid, graceMs), timedOut]);
  clearTimeout(timer);
  if (result === 'timeout' && alive(pid)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone in between
    }
    if (child) await exited;
    else await waitGone(pid, 2000);
  }
  tracked.delete(pid);
}

async function waitGone(pid: number, limitMs: number): Promise<void> {
  const end = Date.now() + limitMs;
  while (alive(pid) && Date.now() < end) await sleep(10);
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

// ---------------------------------------------------------------------------------------------------------------
// Ports

/**
 * Ports for the bed's listeners are taken below Linux's ephemeral range (32768-60999 by default): a port picked by
 * `listen(0)` and released can be taken a moment later by an outgoing connection of the tests themselves (the local
 * end of a socket), and the server that was meant to get it then fails with EADDRINUSE. Each process walks its own
 * stretch of the range (its start derived from the pid) and never hands out a port twice.
 */
const PORT_RANGE = { from: 20_000, to: 32_000 } as const;
const handedOut = new Set<number>();
let nextPort = PORT_RANGE.from + ((process.pid * 7_919) % (PORT_RANGE.to - PORT_RANGE.from));

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** `n` distinct free ports on 127.0.0.1, each checked by listening on it, outside the ephemeral range. */
export async function freePorts(n: number): Promise<number[]> {
  const ports: number[] = [];
  for (let tried = 0; ports.length < n; tried++) {
    if (tried > PORT_RANGE.to - PORT_RANGE.from)
      throw new Error(`no ${n} free ports in ${PORT_RANGE.from}-${PORT_RANGE.to}`);
    const port = nextPort;
    nextPort = nextPort + 1 >= PORT_RANGE.to ? PORT_RANGE.from : nextPort + 1;
    if (handedOut.has(port) || !(await canListen(port))) continue;
    handedOut.add(port);
    ports.push(port);
  }
  return ports;
}

// ---------------------------------------------------------------------------------------------------------------
// Config

const q = (value: string): string => JSON.stringify(value); // a JSON string is a valid YAML double-quoted scalar

/** Response header that carries each registry process' nonce: proves that `/v2/` was answered by this process. */
export const INSTANCE_HEADER = 'X-Testbed-Instance';

/** The YAML config of one registry (exported for tests and for reading). */
export function registryConfigYaml(
  spec: RegistrySpec,
  paths: { storageDir: string; htpasswdFile: string; instance: string },
): string {
  const lines = [
    'version: 0.1',
    'log:',
    '  level: warn',
    '  formatter: text',
    '  accesslog:',
    '    disabled: true',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${q(paths.storageDir)}`,
    '  delete:',
    '    enabled: true',
    '  maintenance:',
    '    uploadpurging:',
    '      enabled: false',
    'http:',
    `  addr: ${q(`127.0.0.1:${spec.port}`)}`,
    `  secret: ${q(randomBytes(16).toString('hex'))}`,
    '  headers:',
    '    X-Content-Type-Options: ["nosniff"]',
    `    ${INSTANCE_HEADER}: [${q(paths.instance)}]`,
  ];
  if (spec.tls) {
    lines.push('  tls:', `    certificate: ${q(spec.tls.certFile)}`, `    key: ${q(spec.tls.keyFile)}`);
  }
  lines.push('health:', '  storagedriver:', '    enabled: false');
  const auth = spec.auth ?? { kind: 'none' };
  if (auth.kind === 'htpasswd') {
    lines.push('auth:', '  htpasswd:', `    realm: ${q(auth.realm)}`, `    path: ${q(paths.htpasswdFile)}`);
  } else if (auth.kind === 'token') {
    lines.push(
      'auth:',
      '  token:',
      `    realm: ${q(auth.realm)}`,
      `    service: ${q(auth.service)}`,
      `    issuer: ${q(auth.issuer)}`,
      `    rootcertbundle: ${q(auth.rootCertBundle)}`,
    );
  }
  return lines.join('\n') + '\n';
}

// ---------------------------------------------------------------------------------------------------------------
// Start / stop

/** Starts one registry and resolves when `/v2/` answers (any HTTP status: 200, or 401 with auth). */
export async function startRegistry(spec: RegistrySpec): Promise<RunningRegistry> {
  if (!existsSync(DOCKER_REGISTRY_BIN)) {
    throw new Error(
      `${DOCKER_REGISTRY_BIN} is missing: install the Debian package (apt-get install -y docker-registry; do not start its service)`,
    );
  }
  const base = join(spec.dir, spec.name);
  const storageDir = join(base, 'storage');
  await mkdir(storageDir, { recursive: true });
  const configFile = join(base, 'config.yml');
  const logFile = join(base, 'registry.log');
  const htpasswdFile = join(base, 'htpasswd');
  if (spec.auth?.kind === 'htpasswd') {
    const text = Object.entries(spec.auth.users)
      .map(([user, hash]) => `${user}:${hash}\n`)
      .join('');
    await writeFile(htpasswdFile, text);
  }
  const instance = randomBytes(8).toString('hex');
  await writeFile(configFile, registryConfigYaml(spec, { storageDir, htpasswdFile, instance }));

  const logFd = openSync(logFile, 'a');
  // A clean environment: REGISTRY_* variables of the caller would override the generated config.
  const child = spawnTracked(DOCKER_REGISTRY_BIN, ['serve', configFile], {
    env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin' },
    stdio: ['ignore', logFd, logFd],
  });
  closeSync(logFd);
  const pid = child.pid;
  const scheme = spec.tls ? 'https' : 'http';
  const url = `${scheme}://127.0.0.1:${spec.port}`;
  const stop = async (): Promise<void> => {
    if (pid !== undefined) await stopProcess(pid);
  };
  try {
    if (pid === undefined) throw new Error(`could not spawn ${DOCKER_REGISTRY_BIN}`);
    await waitForV2(url, instance, child, spec.ca, spec.timeoutMs ?? 10_000);
  } catch (error) {
    await stop();
    const log = existsSync(logFile) ? readFileSync(logFile, 'utf8').trim() : '';
    throw new Error(
      `registry ${spec.name} did not start on ${url}: ${(error as Error).message}${log ? `\n${log}` : ''}`,
      {
        cause: error,
      },
    );
  }
  return {
    name: spec.name,
    port: spec.port,
    host: `127.0.0.1:${spec.port}`,
    url,
    pid,
    configFile,
    logFile,
    storageDir,
    stop,
  };
}

async function waitForV2(
  url: string,
  instance: string,
  child: ChildProcess,
  ca: string | undefined,
  timeoutMs: number,
): Promise<void> {
  const dispatcher = new Agent({
    connect: ca ? { secureContext: createSecureContext({ ca }) } : {},
    pipelining: 0,
  });
  let exited: string | undefined;
  const onExit = (code: number | null, signal: string | null): void => {
    exited = `process exited (code ${code}, signal ${signal})`;
  };
  child.once('exit', onExit);
  const end = Date.now() + timeoutMs;
  let lastError: string;
  try {
    for (;;) {
      if (exited) throw new Error(exited);
      try {
        const response = await dispatcher.request({ origin: url, path: '/v2/', method: 'GET' });
        await response.body.dump();
        const answeredBy = response.headers[INSTANCE_HEADER.toLowerCase()];
        if (answeredBy !== instance) {
          // Another process holds the port; ours will fail to bind and exit (caught above on the next round).
          lastError = 'GET /v2/ was answered by another process';
        } else if (response.statusCode === 200 || response.statusCode === 401) {
          return;
        } else {
          lastError = `GET /v2/ answered ${response.statusCode}`;
        }
      } catch (error) {
        lastError = (error as Error).message;
      }
      if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms (${lastError})`);
      await sleep(20);
    }
  } finally {
    child.removeListener('exit', onExit);
    await dispatcher.close().catch(() => undefined);
  }
}

/** Starts several registries in parallel; if one fails, the others are stopped and the error is thrown. */
export async function startRegistries(specs: RegistrySpec[]): Promise<RunningRegistry[]> {
  const results = await Promise.allSettled(specs.map((spec) => startRegistry(spec)));
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) {
    await Promise.all(results.map((r) => (r.status === 'fulfilled' ? r.value.stop() : undefined)));
    throw failed.reason;
  }
  return results.map((r) => (r as PromiseFulfilledResult<RunningRegistry>).value);
}
