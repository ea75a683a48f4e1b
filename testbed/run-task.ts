/**
 * `runTask(env, opts?)`: runs the bundled Azure Pipelines task (`node azure-pipelines/AcrImportV1/index.js`) the way
 * the agent's Node24 handler does: a minimal base (PATH, HOME, LANG), then `env` (from testbed/agent-env.ts, e.g.
 * `bedAgentEnv(bed, bedServiceConnection(bed, 'wif'), inputs, workFolder)`), then `opts.env` (`undefined` removes a
 * variable). The result: exit code, stdout/stderr, the parsed logging commands (`log`), the output variables, and
 * every uploaded summary file with its text (read before the work folder is removed).
 * `opts.script` runs another file (tests of this harness); `opts.timeoutMs` (default 120 s) kills the run.
 */
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseAgentLog, type AgentLog } from './agent-env.js';
import { REPO_ROOT } from './run-action.js';
import { runProcess, type ProcessRun } from './run-process.js';

/** The task's entry, as task.json's execution.Node24.target names it. */
export const TASK_ENTRY = 'azure-pipelines/AcrImportV1/index.js';

export interface RunTaskOptions {
  env?: Record<string, string | undefined>;
  script?: string;
  cwd?: string;
  timeoutMs?: number;
}

/** The process run (exit, streams, times), and what this host's run left behind. */
export interface TaskRun extends ProcessRun {
  log: AgentLog;
  /** Output variables (`isOutput=true`) by name. */
  outputs: Record<string, string>;
  /** Uploaded summaries in order, with their text ('' when the file was missing). */
  summaries: { path: string; text: string }[];
  env: Record<string, string>;
}

/** A fresh agent work folder under `parent` (its `_temp` exists, as on an agent). */
export async function agentWorkFolder(parent: string): Promise<string> {
  const dir = await mkdtemp(join(parent, 'agent-work-'));
  await Promise.all([mkdir(join(dir, '_temp')), mkdir(join(dir, '1', 's'), { recursive: true })]);
  return dir;
}

export async function runTask(env: Record<string, string>, opts: RunTaskOptions = {}): Promise<TaskRun> {
  const full: Record<string, string> = {
    PATH: process.env['PATH'] ?? '/usr/bin:/bin',
    HOME: process.env['HOME'] ?? '/root',
    LANG: 'C.UTF-8',
    ...env,
  };
  for (const [name, value] of Object.entries(opts.env ?? {})) {
    if (value === undefined) delete full[name];
    else full[name] = value;
  }
  const script = resolve(REPO_ROOT, opts.script ?? TASK_ENTRY);
  const { stdout, stderr, exitCode, signal, durationMs, spawnedAt, closedAt, lastOutputAt, timedOut } =
    await runProcess(process.execPath, [script], {
      cwd: opts.cwd ?? full['SYSTEM_DEFAULTWORKINGDIRECTORY'] ?? REPO_ROOT,
      env: full,
      ...(opts.timeoutMs === undefined ? {} : { timeoutMs: opts.timeoutMs }),
    });
  const log = parseAgentLog(stdout);
  const outputs = Object.fromEntries(
    Object.entries(log.variables)
      .filter(([, v]) => v.isOutput)
      .map(([name, v]) => [name, v.value]),
  );
  const summaries = await Promise.all(
    log.summaries.map(async (path) => ({ path, text: await readFile(path, 'utf8').catch(() => '') })),
  );
  return {
    exitCode,
    signal,
    stdout,
    stderr,
    log,
    outputs,
    summaries,
    durationMs,
    spawnedAt,
    closedAt,
    lastOutputAt,
    timedOut,
    env: full,
  };
}

/** Removes a work folder made by agentWorkFolder. */
export async function removeWorkFolder(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}
