/**
 * `runAction(bed, inputs, opts?)`: runs the bundled action (`node dist/index.js`) the way a GitHub runner does.
 *
 * - Environment: a minimal base (PATH without any `az` directory, HOME, LANG), the bed's `runnerEnv()`, fresh `GITHUB_OUTPUT`,
 *   `GITHUB_STEP_SUMMARY`, `GITHUB_ENV`, `GITHUB_PATH` and `GITHUB_STATE` files, one `INPUT_<NAME>` per input (the
 *   runner's rule: upper-case, spaces to `_`, dashes kept: `target-tags` -> `INPUT_TARGET-TAGS`), then `opts.env`
 *   (a value of `undefined` removes a variable, e.g. `ACTIONS_ID_TOKEN_REQUEST_URL` for a job without `id-token: write`).
 * - Result: exit code, stdout, stderr, `outputs` (parsed from GITHUB_OUTPUT: `name<<DELIMITER` heredocs and plain
 *   `name=value` lines), the step summary, the exported env, masks (`::add-mask::`), annotations (`::error`,
 *   `::warning`, `::notice`) and `durationMs`.
 * - `opts.script` runs another file instead of dist/index.js (tests of this harness); `opts.timeoutMs` (default
 *   120 s) kills the run.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { delimiter, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runProcess, type ProcessRun } from './run-process.js';
import type { Bed } from './types.js';

/** The repository root (this file runs from build/testbed/). */
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface RunActionOptions {
  env?: Record<string, string | undefined>;
  /** Working directory (default: the repository root). */
  cwd?: string;
  /** Script to run instead of `dist/index.js` (absolute, or relative to the repository root). */
  script?: string;
  timeoutMs?: number;
}

export interface Annotation {
  level: 'error' | 'warning' | 'notice';
  /** Properties of the command (file, line, title ...). */
  properties: Record<string, string>;
  message: string;
}

/** The process run (exit, streams, times), and what this host's run left behind. */
export interface ActionRun extends ProcessRun {
  outputs: Record<string, string>;
  summary: string;
  /** Variables written to GITHUB_ENV. */
  exportedEnv: Record<string, string>;
  /** Values passed to `::add-mask::`. */
  masks: string[];
  annotations: Annotation[];
  /** The environment the action ran with (for assertions on what it was given). */
  env: Record<string, string>;
}

/**
 * `PATH` without the directories that hold an `az` (or `az.cmd`): whether the machine has the Azure CLI installed must
 * not change what a test sees. The action needs nothing else from PATH (node is run by its absolute path).
 */
export function pathWithoutAz(pathVariable: string): string {
  return pathVariable
    .split(delimiter)
    .filter((dir) => dir && !['az', 'az.cmd'].some((name) => existsSync(join(dir, name))))
    .join(delimiter);
}

/** The runner's input-to-variable rule. */
export function inputEnvName(name: string): string {
  return `INPUT_${name.replace(/ /g, '_').toUpperCase()}`;
}

/** Parses a GITHUB_OUTPUT / GITHUB_ENV file: `name<<DELIM\nvalue\nDELIM` blocks and `name=value` lines. */
export function parseCommandFile(text: string): Record<string, string> {
  const result: Record<string, string> = {};
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] ?? '').replace(/\r$/, '');
    if (!line) continue;
    const heredoc = /^([^=<]+)<<(.+)$/.exec(line);
    if (heredoc) {
      const [, name = '', delimiter = ''] = heredoc;
      const value: string[] = [];
      i++;
      while (i < lines.length && (lines[i] ?? '').replace(/\r$/, '') !== delimiter) {
        value.push((lines[i] ?? '').replace(/\r$/, ''));
        i++;
      }
      if (i >= lines.length) throw new Error(`unterminated heredoc for ${name} (delimiter ${delimiter})`);
      result[name] = value.join('\n');
      continue;
    }
    const eq = line.indexOf('=');
    if (eq > 0) result[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return result;
}

const unescapeData = (s: string): string =>
  s.replace(/%0D/g, '\r').replace(/%0A/g, '\n').replace(/%25/g, '%');
const unescapeProperty = (s: string): string => unescapeData(s).replace(/%3A/g, ':').replace(/%2C/g, ',');

function parseWorkflowCommands(stdout: string): { masks: string[]; annotations: Annotation[] } {
  const masks: string[] = [];
  const annotations: Annotation[] = [];
  for (const line of stdout.split('\n')) {
    const m = /^::([a-z-]+)( [^:]*)?::(.*)$/.exec(line.replace(/\r$/, ''));
    if (!m) continue;
    const [, command = '', props = '', data = ''] = m;
    if (command === 'add-mask') masks.push(unescapeData(data));
    if (command === 'error' || command === 'warning' || command === 'notice') {
      const properties: Record<string, string> = {};
      for (const pair of props.trim().split(',').filter(Boolean)) {
        const eq = pair.indexOf('=');
        if (eq > 0) properties[pair.slice(0, eq)] = unescapeProperty(pair.slice(eq + 1));
      }
      annotations.push({ level: command, properties, message: unescapeData(data) });
    }
  }
  return { masks, annotations };
}

export async function runAction(
  bed: Pick<Bed, 'runnerEnv' | 'dir'>,
  inputs: Record<string, string>,
  opts: RunActionOptions = {},
): Promise<ActionRun> {
  const work = await mkdtemp(join(bed.dir, 'step-'));
  const files = {
    GITHUB_OUTPUT: join(work, 'output'),
    GITHUB_STEP_SUMMARY: join(work, 'step_summary'),
    GITHUB_ENV: join(work, 'env'),
    GITHUB_PATH: join(work, 'path'),
    GITHUB_STATE: join(work, 'state'),
  };
  await Promise.all(Object.values(files).map((f) => writeFile(f, '')));

  const env: Record<string, string> = {
    PATH: process.env['PATH'] ?? '/usr/bin:/bin',
    HOME: process.env['HOME'] ?? '/root',
    LANG: 'C.UTF-8',
    ...bed.runnerEnv(),
    ...files,
  };
  // No real Azure CLI: a test that needs one puts a stand-in first on PATH (az-stand-in.ts) through opts.env.
  env['PATH'] = pathWithoutAz(env['PATH'] ?? '');
  for (const [name, value] of Object.entries(inputs)) env[inputEnvName(name)] = value;
  for (const [name, value] of Object.entries(opts.env ?? {})) {
    if (value === undefined) delete env[name];
    else env[name] = value;
  }

  const script = resolve(REPO_ROOT, opts.script ?? 'dist/index.js');
  const { stdout, stderr, exitCode, signal, durationMs, spawnedAt, closedAt, lastOutputAt, timedOut } =
    await runProcess(process.execPath, [script], {
      cwd: opts.cwd ?? REPO_ROOT,
      env,
      ...(opts.timeoutMs === undefined ? {} : { timeoutMs: opts.timeoutMs }),
    });

  const [output, summary, exported] = await Promise.all([
    readFile(files.GITHUB_OUTPUT, 'utf8'),
    readFile(files.GITHUB_STEP_SUMMARY, 'utf8'),
    readFile(files.GITHUB_ENV, 'utf8'),
  ]);
  await rm(work, { recursive: true, force: true });
  const { masks, annotations } = parseWorkflowCommands(stdout);
  return {
    exitCode,
    signal,
    stdout,
    stderr,
    outputs: parseCommandFile(output),
    summary,
    exportedEnv: parseCommandFile(exported),
    masks,
    annotations,
    durationMs,
    spawnedAt,
    closedAt,
    lastOutputAt,
    timedOut,
    env,
  };
}
