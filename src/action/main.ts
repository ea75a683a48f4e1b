/**
 * The GitHub Action adapter: reads the step's inputs and the runner's environment, runs the engine, and writes the
 * outputs, the job summary and the step's status.
 */
import * as core from '@actions/core';
import { readFileSync } from 'node:fs';
import { access, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  createUndiciTransport,
  ENV_FALLBACKS,
  ImportError,
  InputError,
  INPUTS,
  parseConfig,
  parseLockFile,
  proxySettingsFromEnv,
  renderLockFile,
  requestGithubIdToken,
  renderSummary,
  runImports,
  SECRET_INPUTS,
  systemClock,
  toOutputs,
  userAgent,
  type AuthHost,
  type InputProblem,
  type Logger,
  type RawInputs,
  type RunResult,
} from '../engine/index.js';
import { OUTPUTS } from './constants.js';

export async function run(): Promise<void> {
  // Secrets first: nothing may be logged before they are masked.
  for (const name of SECRET_INPUTS) {
    const value = core.getInput(name);
    if (value) core.setSecret(value);
  }
  const raw: RawInputs = Object.fromEntries(Object.values(INPUTS).map((name) => [name, core.getInput(name)]));

  const env = process.env;
  const workspace = env['GITHUB_WORKSPACE'] ?? process.cwd();
  const unknown = unknownInputs(env);
  let config;
  try {
    config = parseConfig(raw, {
      env: pick(env, Object.values(ENV_FALLBACKS)),
      readFile: (file) => readFileSync(path.resolve(workspace, file), 'utf8'),
    });
  } catch (err) {
    fail(unknown.length && err instanceof InputError ? new InputError([...unknown, ...err.problems]) : err);
    return;
  }
  if (unknown.length) {
    fail(new InputError(unknown));
    return;
  }

  // locked: true checks every source against the committed lock file before anything is imported.
  let lock: ReadonlyMap<string, string> | undefined;
  if (config.locked && config.lockFile) {
    try {
      lock = readLockFile(path.resolve(workspace, config.lockFile), config.lockFile);
    } catch (err) {
      fail(err);
      return;
    }
  }

  // One proxy decision for every request of the run (ARM, registries, Entra ID, GitHub's OIDC endpoint).
  let http;
  try {
    http = createUndiciTransport({ userAgent: userAgent(actionHost()), proxy: proxySettingsFromEnv(env) });
  } catch (err) {
    fail(err);
    return;
  }
  const { transport, close } = http;
  const logger: Logger = {
    debug: (m) => core.debug(m),
    info: (m) => core.info(inert(m)),
    warning: (m) => core.warning(m),
    group: (name, fn) => core.group(name, fn),
  };
  const oidcUrl = env['ACTIONS_ID_TOKEN_REQUEST_URL'];
  const oidcToken = env['ACTIONS_ID_TOKEN_REQUEST_TOKEN'];
  const authHost: AuthHost = {
    // Fetched through the engine's client (a deadline, the run's proxy decision), as @actions/core would fetch it.
    idToken:
      oidcUrl && oidcToken
        ? async (audience, engineHttp) => {
            core.debug(`Requesting a GitHub ID token for audience ${audience}`);
            const token = engineHttp
              ? await requestGithubIdToken(engineHttp, { url: oidcUrl, token: oidcToken }, audience)
              : await core.getIDToken(audience);
            core.setSecret(token);
            return token;
          }
        : undefined,
    azureCliAvailable: await onPath('az'),
    // GitHub-hosted runners have no managed identity; probing for one would only wait for a timeout.
    managedIdentityPossible: env['RUNNER_ENVIRONMENT'] !== 'github-hosted',
  };

  let result: RunResult;
  try {
    const count = config.images.length;
    result = await core.group(`Import ${count} image${count === 1 ? '' : 's'}`, () =>
      runImports(
        config,
        { logger, mask: core.setSecret, transport, clock: systemClock, authHost },
        lock ? { lock } : {},
      ),
    );
  } catch (err) {
    fail(err);
    return;
  } finally {
    await close();
  }

  const outputs = toOutputs(result);
  core.setOutput(OUTPUTS.digest, outputs.digest);
  core.setOutput(OUTPUTS.images, outputs.images);
  core.setOutput(OUTPUTS.results, outputs.results);
  await writeSummary(result);
  // With locked: true the lock file is the reference the run was checked against; it is never rewritten.
  if (config.lockFile && !config.locked) await writeLock(result, path.resolve(workspace, config.lockFile));

  if (!result.ok) core.setFailed(failureReport(result));
}

/** What landed and what did not, and why: the step's failure message. */
function failureReport(result: RunResult): string {
  const failed = result.images.filter((i) => i.status === 'failed');
  const landed = result.images.filter((i) => i.status !== 'failed');
  const describe = (i: (typeof failed)[number]): string =>
    `${i.error ?? 'failed'}${i.hint ? `\n  ${i.hint}` : ''}`;
  const reasons = new Set(failed.map(describe));
  // One cause for many images (signing in, the target) is said once, not once per image.
  const lines =
    failed.length > 1 && failed.length === result.images.length && reasons.size === 1
      ? [
          `All ${failed.length} images failed (${failed.map((i) => i.source).join(', ')}):`,
          `- ${[...reasons][0]}`,
        ]
      : [
          `${failed.length} of ${result.images.length} image${result.images.length === 1 ? '' : 's'} failed:`,
          ...failed.map((i) => `- ${i.source}: ${describe(i)}`),
        ];
  if (landed.length) {
    lines.push(
      'Landed:',
      ...landed.map((i) => `- ${i.source}: ${i.status} ${i.sourceDigest ?? ''}`.trimEnd()),
    );
  }
  return lines.join('\n');
}

function readLockFile(file: string, given: string): ReadonlyMap<string, string> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new InputError([
      {
        input: INPUTS.lockFile,
        value: given,
        message: `cannot be read with locked: true (${reason}); write it first with lock-file and locked: false, commit it, and check out the repository before this step`,
      },
    ]);
  }
  return parseLockFile(text, given);
}

/** Writes the lock file, but only for a run in which every image succeeded: it never records half a run. */
async function writeLock(result: RunResult, file: string): Promise<void> {
  const failed = result.images.filter((i) => i.status === 'failed').length;
  if (failed > 0) {
    core.warning(`Lock file ${file} not written: ${failed} of ${result.images.length} images failed.`);
    return;
  }
  try {
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, renderLockFile(result));
    core.info(
      `Wrote lock file ${file} (${result.images.length} image${result.images.length === 1 ? '' : 's'}).`,
    );
  } catch (err) {
    core.setFailed(`Could not write lock file ${file}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

async function writeSummary(result: RunResult): Promise<void> {
  try {
    const { context } = await import('@actions/github');
    const subtitle =
      context.runId && context.repo.owner
        ? `${context.repo.owner}/${context.repo.repo} · ${context.workflow} #${context.runNumber}`
        : undefined;
    await core.summary.addRaw(renderSummary(result, subtitle ? { subtitle } : {}), true).write();
  } catch (err) {
    core.warning(`Could not write the job summary: ${err instanceof Error ? err.message : String(err)}`);
  }
}

function fail(err: unknown): void {
  if (err instanceof ImportError) {
    core.setFailed(err.describe());
  } else {
    core.setFailed(err instanceof Error ? (err.stack ?? err.message) : String(err));
  }
}

/**
 * `with:` keys the action does not declare: the runner only warns about them, and a misspelt `target-tag` or `timout`
 * would silently run with the default. Their values are not shown: a misspelt `client-secrets` holds a secret.
 */
function unknownInputs(env: NodeJS.ProcessEnv): InputProblem[] {
  const known = Object.values(INPUTS) as string[];
  const envName = (name: string): string => `INPUT_${name.replace(/ /g, '_').toUpperCase()}`;
  const knownEnv = new Set(known.map(envName));
  const problems: InputProblem[] = [];
  for (const key of Object.keys(env).sort()) {
    if (!key.startsWith('INPUT_') || knownEnv.has(key)) continue;
    const name = key.slice('INPUT_'.length).toLowerCase();
    const closest = known.map((k) => ({ k, d: editDistance(k, name) })).sort((a, b) => a.d - b.d)[0];
    const guess =
      closest && closest.d <= 3 ? `did you mean '${closest.k}'?` : 'see the inputs in action.yml.';
    problems.push({
      input: name,
      value: '***',
      message: `is not an input of this action; ${guess} Remove or rename it`,
    });
  }
  return problems;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = row;
  }
  return prev[b.length]!;
}

/**
 * Log text may quote remote services (an ARM error, a registry's answer). The runner reads any stdout line that starts
 * with `::` (after spaces) as a workflow command, so such a line gets a zero-width space in front: shown the same,
 * never run. (Warnings, errors and debug lines are escaped by @actions/core itself.)
 */
export function inert(text: string): string {
  return text.replace(/^(\s*)::/gm, '$1\u200b::');
}

function pick(env: NodeJS.ProcessEnv, names: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of names) {
    const value = env[name];
    if (value) out[name] = value;
  }
  return out;
}

function actionHost(): string {
  const repo = process.env['GITHUB_REPOSITORY'];
  return repo ? `GitHub Actions; ${repo}` : 'GitHub Actions';
}

async function onPath(command: string): Promise<boolean> {
  const dirs = (process.env['PATH'] ?? '').split(path.delimiter).filter(Boolean);
  for (const dir of dirs) {
    try {
      await access(path.join(dir, command));
      return true;
    } catch {
      // not here
    }
  }
  return false;
}
