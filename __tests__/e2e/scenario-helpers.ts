/**
 * Helpers for the end-to-end scenario tests (scenarios, many-images, promotion): reading what a run of
 * `node dist/index.js` showed its user (outputs, failure annotation, summary, log) and what the emulator saw.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { startBed, type StartedBed } from '../../testbed/bed.js';
import type { ActionRun } from '../../testbed/run-action.js';
import type { LoggedRequest } from '../../testbed/types.js';

/** One element of the `results` output. */
export interface ResultJson {
  source: string;
  sourceDigest: string | null;
  mediaType: string | null;
  platforms: { platform: string; digest: string }[];
  targets: { ref: string; digest: string | null }[];
  status: string;
  plan?: string;
  durationMs: number;
  error?: string;
  notes?: string[];
}

/**
 * A bed whose `deployer` also holds Reader on the two subscriptions of the main tenant: what a user grants so that
 * the action can find a source ACR by its login server and read one in another subscription (AcrPull alone does not
 * include `registries/read`). The main subscription then lists three registries, two per page: `nextLink` is followed.
 */
export function startReaderBed(): Promise<StartedBed> {
  return startBed({
    roleAssignments: (defaults, ids) => [
      ...defaults,
      { principal: 'deployer', role: 'reader', scope: `/subscriptions/${ids.subscriptions.main}` },
      { principal: 'deployer', role: 'reader', scope: `/subscriptions/${ids.subscriptions.second}` },
    ],
  });
}

export function results(run: ActionRun): ResultJson[] {
  return JSON.parse(run.outputs['results'] ?? '[]') as ResultJson[];
}

/** What the step's failure annotation says (`core.setFailed`). */
export function failureText(run: ActionRun): string {
  return run.annotations
    .filter((a) => a.level === 'error')
    .map((a) => a.message)
    .join('\n');
}

export function warnings(run: ActionRun): string {
  return run.annotations
    .filter((a) => a.level === 'warning')
    .map((a) => a.message)
    .join('\n');
}

export function expectSuccess(run: ActionRun): void {
  if (run.exitCode !== 0) throw new Error(`action failed (${run.exitCode}):\n${run.stdout}\n${run.stderr}`);
}

export function expectFailure(run: ActionRun): void {
  if (run.exitCode !== 1)
    throw new Error(`action did not fail (${run.exitCode}):\n${run.stdout}\n${run.stderr}`);
}

/** The log as the runner shows it: masked values are replaced, so leave out the `::add-mask::` commands themselves. */
export function visibleLog(run: ActionRun): string {
  return (run.stdout + run.stderr).replace(/^::add-mask::.*$/gm, '');
}

export async function importCalls(bed: StartedBed): Promise<LoggedRequest[]> {
  return (await bed.control.requests({ service: 'arm' })).filter(
    (r) => r.method === 'POST' && /\/importImage\?/i.test(r.url),
  );
}

/** The importImage bodies ARM received, in the order they arrived. */
export async function importBodies(bed: StartedBed): Promise<ImportBody[]> {
  return (await importCalls(bed)).map((r) => JSON.parse(r.body) as ImportBody);
}

export interface ImportBody {
  source: {
    registryUri?: string;
    resourceId?: string;
    sourceImage: string;
    credentials?: { username?: string; password: string };
  };
  targetTags?: string[];
  untaggedTargetRepositories?: string[];
  mode: string;
}

/** Import operations as the emulator ran them (`GET /operations` of the Control API). */
export interface Operation {
  id: string;
  target: string;
  source: string;
  targetTags: string[];
  untagged: string[];
  mode: string;
  status: string;
  digest?: string;
  startedAt: number;
  finishedAt?: number;
}

export async function operations(bed: StartedBed): Promise<Operation[]> {
  const origin = `https://127.0.0.1:${bed.emulatorConfig.ports.control}`;
  const { Agent } = await import('undici');
  const agent = new Agent({ connect: { ca: bed.caPem } });
  try {
    const res = await agent.request({ origin, path: '/operations', method: 'GET' });
    return (await res.body.json()) as Operation[];
  } finally {
    await agent.close();
  }
}

/** The runner's workspace (GITHUB_WORKSPACE), where `images-file` and `lock-file` paths are resolved. */
export function workspace(bed: StartedBed): string {
  const dir = bed.runnerEnv()['GITHUB_WORKSPACE'];
  if (!dir) throw new Error('the bed sets no GITHUB_WORKSPACE');
  return dir;
}

export async function writeWorkspaceFile(bed: StartedBed, path: string, text: string): Promise<void> {
  const file = join(workspace(bed), path);
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, text);
}

export function readWorkspaceFile(bed: StartedBed, path: string): Promise<string> {
  return readFile(join(workspace(bed), path), 'utf8');
}

/** The most operations that were running at the same moment. */
export function maxOverlap(ops: { startedAt: number; finishedAt?: number }[]): number {
  const events = ops.flatMap((o) => [
    { t: o.startedAt, d: 1 },
    { t: o.finishedAt ?? Number.POSITIVE_INFINITY, d: -1 },
  ]);
  // Ends before starts at the same millisecond: touching intervals do not overlap.
  events.sort((a, b) => a.t - b.t || a.d - b.d);
  let now = 0;
  let max = 0;
  for (const e of events) {
    now += e.d;
    max = Math.max(max, now);
  }
  return max;
}
