/**
 * Issue 11, through the three bundles as a runner, a shell and an agent run them: the lazily loaded parts (undici's
 * dispatchers alone, @azure/identity once the first requests are out, the Action's own workflow commands, the task's
 * deferred credential and its OIDC request through the run's transport) change nothing a user sees, and each process
 * ends by itself right after its last line: no timer, socket or library left holding the event loop (a lingering
 * keep-alive socket or a request deadline would keep it alive for 10 to 30 s; the harness would only kill it at its
 * own timeout). A bad input still fails before any request, on every bundle.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { StartedBed } from '../../testbed/bed.js';
import { bedAgentEnv, bedServiceConnection } from '../../testbed/agent-env.js';
import { runAction } from '../../testbed/run-action.js';
import { bedFlags, runCli } from '../../testbed/run-cli.js';
import { agentWorkFolder, runTask } from '../../testbed/run-task.js';
import { useBed } from '../bed-hooks.js';

let bed: StartedBed;
let parent: string;

useBed(async (started) => {
  bed = started;
  parent = await mkdtemp(join(tmpdir(), 'startup-'));
});
afterAll(async () => {
  if (parent) await rm(parent, { recursive: true, force: true });
});

/** The most a process may take from its last output line to its exit (it has nothing left to do by then). */
const EXIT_BOUND_MS = 1_000;

interface Ran {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  stdout: string;
  stderr: string;
  closedAt: number;
  lastOutputAt: number;
}

type Bundle = 'Action' | 'CLI' | 'task';

async function run(bundle: Bundle, source: string, tag: string, bad = false): Promise<Ran> {
  if (bundle === 'Action') {
    return runAction(bed, {
      ...bed.baseInputs(),
      source,
      'target-tags': tag,
      ...(bad ? { 'max-parallel': '0' } : {}),
    });
  }
  if (bundle === 'CLI') {
    return runCli(
      bed,
      [...bedFlags(bed), '--source', source, '-t', tag, ...(bad ? ['--max-parallel', '0'] : [])],
      {
        env: { AZURE_CLIENT_SECRET: bed.principals.deployer.clientSecret! },
      },
    );
  }
  const work = await agentWorkFolder(parent);
  const inputs = {
    registry: bed.acrs.target.name,
    source,
    targetTags: tag,
    ...(bad ? { maxParallel: '0' } : {}),
  };
  return runTask(bedAgentEnv(bed, bedServiceConnection(bed, 'wif'), inputs, work));
}

const BUNDLES: Bundle[] = ['Action', 'CLI', 'task'];

describe.each(BUNDLES)('the %s bundle', (bundle) => {
  it('imports one image and exits by itself within 1 s of its last line', async () => {
    const seeded = bed.sources.hub.images['bench0']!;
    const repo = `startup/${bundle.toLowerCase()}`;
    const r = await run(bundle, `${bed.sources.hub.host}/${seeded.repository}:${seeded.tag}`, `${repo}:v1`);
    expect({ exitCode: r.exitCode, signal: r.signal, timedOut: r.timedOut }).toEqual({
      exitCode: 0,
      signal: null,
      timedOut: false,
    });
    expect(await bed.digestOf(bed.acrs.target, repo, 'v1')).toBe(seeded.digest);
    expect(r.closedAt - r.lastOutputAt).toBeLessThan(EXIT_BOUND_MS);
    // Signed in as the bundle does (the ID token / the connection's OIDC token / the secret), then imported.
    const log = await bed.control.requests();
    expect(log.some((e) => e.service === 'entra' && e.method === 'POST')).toBe(true);
    expect(log.some((e) => e.method === 'POST' && /\/importImage/.test(e.url))).toBe(true);
  });

  it('refuses a bad input before any request and exits within 1 s of saying so', async () => {
    await bed.control.clearRequests();
    const r = await run(bundle, `${bed.sources.hub.host}/library/hello:latest`, 'startup/bad:v1', true);
    expect(r.exitCode).not.toBe(0);
    expect(`${r.stdout}\n${r.stderr}`).toMatch(/max-?parallel/i);
    expect(await bed.control.requests()).toEqual([]);
    expect(r.closedAt - r.lastOutputAt).toBeLessThan(EXIT_BOUND_MS);
  });
});
