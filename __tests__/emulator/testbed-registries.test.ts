/**
 * The bed's registry processes on their own (no emulator): they start with the generated config, answer on
 * 127.0.0.1, enforce their auth, and leave no process behind once stopped.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent } from 'undici';
import { RegistryClient, OciError } from '../../testbed/oci.js';
import { generatePki, type Pki } from '../../testbed/pki.js';
import {
  freePorts,
  PRIVATE_REGISTRY_BCRYPT,
  PRIVATE_REGISTRY_PASSWORD,
  PRIVATE_REGISTRY_USER,
  startRegistries,
  trackedPids,
  type RunningRegistry,
} from '../../testbed/registries.js';

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

const accepts = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });

describe('testbed registries', () => {
  let dir: string;
  let pki: Pki;
  let plain: RunningRegistry;
  let secured: RunningRegistry;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'registries-test-'));
    pki = await generatePki(join(dir, 'pki'));
    const [plainPort, securedPort] = await freePorts(2);
    [plain, secured] = (await startRegistries([
      { name: 'plain', dir, port: plainPort ?? 0 },
      {
        name: 'secured',
        dir,
        port: securedPort ?? 0,
        tls: { certFile: pki.certFile, keyFile: pki.keyFile },
        ca: pki.caPem,
        auth: {
          kind: 'htpasswd',
          realm: 'private-registry',
          users: { [PRIVATE_REGISTRY_USER]: PRIVATE_REGISTRY_BCRYPT },
        },
      },
    ])) as [RunningRegistry, RunningRegistry];
  });

  afterAll(async () => {
    await plain?.stop();
    await secured?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  test('they listen on 127.0.0.1 with the generated config', async () => {
    expect(plain.url).toBe(`http://127.0.0.1:${plain.port}`);
    expect(secured.url).toBe(`https://127.0.0.1:${secured.port}`);
    const config = await readFile(secured.configFile, 'utf8');
    expect(config).toContain(`addr: "127.0.0.1:${secured.port}"`);
    expect(config).toContain('htpasswd:');
    expect(config).toContain('level: warn');
    const response = await fetch(`${plain.url}/v2/`);
    expect(response.status).toBe(200);
    expect(response.headers.get('docker-distribution-api-version')).toBe('registry/2.0');
  });

  test('the private registry refuses anonymous requests with a Basic challenge', async () => {
    const agent = new Agent({ connect: { ca: pki.caPem } });
    try {
      const response = await agent.request({ origin: secured.url, path: '/v2/', method: 'GET' });
      await response.body.dump();
      expect(response.statusCode).toBe(401);
      expect(String(response.headers['www-authenticate'])).toMatch(/^Basic realm="private-registry"/);
    } finally {
      await agent.close();
    }
    const anonymous = new RegistryClient({ url: secured.url, ca: pki.caPem });
    await expect(anonymous.listTags('team/app')).rejects.toMatchObject({ status: 401 });
    await anonymous.close();
  });

  test('the private registry accepts Basic credentials and refuses a wrong password', async () => {
    const client = new RegistryClient({
      url: secured.url,
      ca: pki.caPem,
      username: PRIVATE_REGISTRY_USER,
      password: PRIVATE_REGISTRY_PASSWORD,
    });
    const digest = await client.putBlob('team/app', Buffer.from('hello private registry'));
    expect(await client.hasBlob('team/app', digest)).toBe(true);
    await client.close();

    const wrong = new RegistryClient({
      url: secured.url,
      ca: pki.caPem,
      username: PRIVATE_REGISTRY_USER,
      password: 'nope',
    });
    const error = await wrong.hasBlob('team/app', digest).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OciError);
    expect((error as OciError).status).toBe(401);
    await wrong.close();
  });

  test('stop() ends the processes by PID and frees the ports', async () => {
    const [port] = await freePorts(1);
    const [extra] = await startRegistries([{ name: 'extra', dir, port: port ?? 0 }]);
    if (!extra) throw new Error('no registry');
    expect(alive(extra.pid)).toBe(true);
    expect(trackedPids()).toContain(extra.pid);
    await extra.stop();
    expect(alive(extra.pid)).toBe(false);
    expect(trackedPids()).not.toContain(extra.pid);
    expect(await accepts(extra.port)).toBe(false);
  });

  test('a registry that cannot start fails with its log', async () => {
    // The port is answered by the plain registry: the bed must notice it is not its own process answering.
    await expect(
      startRegistries([{ name: 'clash', dir, port: plain.port, timeoutMs: 3000 }]),
    ).rejects.toThrow(/registry clash did not start[\s\S]*address already in use/);
    expect(trackedPids().sort()).toEqual([plain.pid, secured.pid].sort());
  });
});
