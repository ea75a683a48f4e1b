/**
 * A bed must not outlive the process that started it, however that process ends: killed outright (SIGKILL, no
 * handler runs: the kernel's parent-death signal does it), or crashed on an uncaught error (the exit handler does it).
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { emulatorMainPath } from '../../testbed/bed.js';

const BED_MODULE = fileURLToPath(new URL('../../testbed/bed.js', import.meta.url));

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

async function waitUntilGone(pids: number[], limitMs: number): Promise<number[]> {
  const end = Date.now() + limitMs;
  let left = pids.filter(alive);
  while (left.length > 0 && Date.now() < end) {
    await new Promise((r) => setTimeout(r, 25));
    left = pids.filter(alive);
  }
  return left;
}

/** Starts a bed in a child process and returns its process and the bed's PIDs once it is up. */
async function bedInChild(dir: string, ending: 'hang' | 'throw', emulator: boolean) {
  const script = join(dir, `owner-${ending}.mjs`);
  await writeFile(
    script,
    `import { startBed } from ${JSON.stringify(BED_MODULE)};
const bed = await startBed({ emulator: ${emulator}, seed: false, parentDir: ${JSON.stringify(dir)} });
const pids = [...Object.values(bed.registries).map((r) => r.pid), ...(bed.emulatorPid ? [bed.emulatorPid] : [])];
console.log('PIDS ' + JSON.stringify({ pids, dir: bed.dir }));
${ending === 'hang' ? 'setInterval(() => {}, 1000);' : "setTimeout(() => { throw new Error('test crashed'); }, 50);"}
`,
  );
  const child = spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const line = await new Promise<string>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout });
    lines.on('line', (l) => {
      if (l.startsWith('PIDS ')) resolve(l.slice(5));
    });
    child.once('exit', (code) => reject(new Error(`owner exited early (${code}): ${stderr}`)));
  });
  const { pids, dir: bedDir } = JSON.parse(line) as { pids: number[]; dir: string };
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, pids, bedDir, exited };
}

describe('bed processes die with their owner', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'bed-lifecycle-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('owner killed with SIGKILL: registries and emulator follow', async () => {
    const emulator = existsSync(emulatorMainPath());
    const { child, pids, exited } = await bedInChild(dir, 'hang', emulator);
    expect(pids.length).toBe(emulator ? 9 : 8);
    expect(pids.every(alive)).toBe(true);
    child.kill('SIGKILL');
    await exited;
    expect(await waitUntilGone(pids, 5000)).toEqual([]);
  });

  test('owner crashing on an uncaught error: the exit handler ends the bed', async () => {
    const { pids, exited } = await bedInChild(dir, 'throw', false);
    expect(await exited).toBe(1);
    expect(await waitUntilGone(pids, 5000)).toEqual([]);
  });

  test('the next bed reaps the directory of a bed whose owner died', async () => {
    const { child, bedDir, exited } = await bedInChild(dir, 'hang', false);
    child.kill('SIGKILL');
    await exited;
    expect(existsSync(bedDir)).toBe(true);
    // A new bed in the same parent directory reaps it.
    const { child: next, exited: nextExited } = await bedInChild(dir, 'hang', false);
    expect(existsSync(bedDir)).toBe(false);
    next.kill('SIGKILL');
    await nextExited;
  });
});
