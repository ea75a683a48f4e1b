/**
 * `runCli(bed, args, opts?)`: runs the bundled CLI (`node cli/index.js`) the way a user's shell or a CI script does.
 *
 * - Environment: a minimal base (PATH, HOME, LANG) and the bed's CA (NODE_EXTRA_CA_CERTS), nothing of GitHub's runner
 *   unless `opts.env` adds it (a value of `undefined` removes a variable). The working directory is a fresh directory
 *   under the bed's (or `opts.cwd`): where images-file and lock-file paths are confined.
 * - `opts.stdin` is written to standard input (for --password-stdin); otherwise stdin is empty.
 * - `opts.tty` runs the CLI inside a pseudo-terminal (util-linux `script`), so stderr is a TTY; its output then
 *   arrives as one stream (`stdout`, with stderr merged), as a terminal shows it.
 * - `bedFlags(bed)` turns `bed.baseInputs()` into the CLI's flags (`registry` -> `--name`).
 */
import { mkdtemp } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { runProcess, type ProcessRun } from './run-process.js';
import { REPO_ROOT } from './run-action.js';
import type { Bed } from './types.js';

export interface RunCliOptions {
  env?: Record<string, string | undefined>;
  cwd?: string;
  stdin?: string;
  tty?: boolean;
  timeoutMs?: number;
  /** Script to run instead of `cli/index.js`. */
  script?: string;
}

/** The process run (exit, streams, times), and what this host's run left behind. */
export interface CliRun extends ProcessRun {
  cwd: string;
  env: Record<string, string>;
}

/** The bed's base inputs as CLI flags. */
export function bedFlags(bed: Pick<Bed, 'baseInputs'>): string[] {
  return Object.entries(bed.baseInputs()).flatMap(([name, value]) => [
    `--${name === 'registry' ? 'name' : name}`,
    value,
  ]);
}

/** Quotes one argument for `sh -c`. */
function shellQuote(arg: string): string {
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

export async function runCli(
  bed: Pick<Bed, 'dir' | 'caFile'>,
  args: readonly string[],
  opts: RunCliOptions = {},
): Promise<CliRun> {
  const cwd = opts.cwd ?? (await mkdtemp(join(bed.dir, 'cli-')));
  const env: Record<string, string> = {
    PATH: process.env['PATH'] ?? '/usr/bin:/bin',
    HOME: process.env['HOME'] ?? '/root',
    LANG: 'C.UTF-8',
    NODE_EXTRA_CA_CERTS: bed.caFile,
  };
  for (const [name, value] of Object.entries(opts.env ?? {})) {
    if (value === undefined) delete env[name];
    else env[name] = value;
  }
  const script = resolve(REPO_ROOT, opts.script ?? 'cli/index.js');
  const command = opts.tty ? 'script' : process.execPath;
  const argv = opts.tty
    ? [
        '-qefc',
        [process.execPath, script, ...args].map(shellQuote).join(' ') +
          (opts.stdin === undefined ? '' : ` < ${shellQuote(join(cwd, '.stdin'))}`),
        '/dev/null',
      ]
    : [script, ...args];
  if (opts.tty && opts.stdin !== undefined) {
    const { writeFile } = await import('node:fs/promises');
    await writeFile(join(cwd, '.stdin'), opts.stdin);
  }
  const run = await runProcess(command, argv, {
    cwd,
    env: { ...env, TERM: env['TERM'] ?? 'xterm' },
    ...(opts.tty || opts.stdin === undefined ? {} : { stdin: opts.stdin }),
    ...(opts.timeoutMs === undefined ? {} : { timeoutMs: opts.timeoutMs }),
  });
  return {
    ...run,
    cwd,
    env,
  };
}
