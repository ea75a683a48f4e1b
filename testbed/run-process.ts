/**
 * `runProcess(command, argv, opts)`: runs one process the way the harnesses need it (run-action, run-cli, run-task):
 * stdout and stderr collected, stdin given (or empty), and a SIGKILL after `timeoutMs` (default 120 s) so a hung run
 * ends the test instead of jest's limit.
 */
import { spawn } from 'node:child_process';

export interface ProcessRun {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  durationMs: number;
  /** Date.now() just before the spawn and at the close (comparable with the emulator's request log times). */
  spawnedAt: number;
  closedAt: number;
  /** Date.now() when the last stdout or stderr chunk arrived (the step's last line); the spawn time if none came. */
  lastOutputAt: number;
  timedOut: boolean;
}

export async function runProcess(
  command: string,
  argv: readonly string[],
  opts: { cwd: string; env: NodeJS.ProcessEnv; stdin?: string; timeoutMs?: number },
): Promise<ProcessRun> {
  const started = performance.now();
  const spawnedAt = Date.now();
  const child = spawn(command, argv, { cwd: opts.cwd, env: opts.env, stdio: 'pipe' });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  let lastOutputAt = spawnedAt;
  child.stdout.on('data', (chunk: Buffer) => {
    out.push(chunk);
    lastOutputAt = Date.now();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    err.push(chunk);
    lastOutputAt = Date.now();
  });
  child.stdin.end(opts.stdin ?? '');
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, opts.timeoutMs ?? 120_000);
  const [exitCode, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((done, reject) => {
    child.once('error', reject);
    child.once('close', (code, sig) => done([code, sig]));
  }).finally(() => clearTimeout(timer));
  return {
    exitCode,
    signal,
    stdout: Buffer.concat(out).toString('utf8'),
    stderr: Buffer.concat(err).toString('utf8'),
    durationMs: Math.round(performance.now() - started),
    spawnedAt,
    closedAt: Date.now(),
    lastOutputAt,
    timedOut,
  };
}
