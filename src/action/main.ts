/**
 * The GitHub Action adapter: reads the step's inputs and the runner's environment, runs the engine, and writes the
 * outputs, the job summary and the step's status.
 */
import * as core from '@actions/core';
import {
  checkInputVariables,
  checkWorkspaceWrite,
  createUndiciTransport,
  ENV_FALLBACKS,
  ImportError,
  InputError,
  INPUTS,
  parseConfig,
  parseLockFile,
  proxySettingsFromEnv,
  readWorkspaceFile,
  renderLockFile,
  requestGithubIdToken,
  renderSummary,
  runImports,
  SECRET_INPUTS,
  secretSink,
  systemClock,
  toOutputs,
  userAgent,
  writeWorkspaceFile,
  type AuthHost,
  type Logger,
  type RawInputs,
  type RunResult,
  type WorkspaceRules,
} from '../engine/index.js';
import { probeAzureCli } from './azure-cli.js';
import { OUTPUTS } from './constants.js';

export async function run(): Promise<void> {
  // Secrets first: nothing may be logged before they are masked. Each secret is masked once, however often it arrives.
  const mask = secretSink((secret) => core.setSecret(secret));
  for (const name of SECRET_INPUTS) {
    const value = core.getInput(name);
    if (value) mask(value);
  }
  const raw: RawInputs = Object.fromEntries(Object.values(INPUTS).map((name) => [name, core.getInput(name)]));

  const env = process.env;
  const workspace = env['GITHUB_WORKSPACE'] ?? process.cwd();
  // images-file and lock-file: regular files of at most 1 MiB inside the workspace, never in .git/.
  const files: WorkspaceRules = { root: workspace, rootName: 'the workspace (GITHUB_WORKSPACE)' };
  const inputVariables = checkInputVariables(Object.keys(env), Object.values(INPUTS));
  for (const warning of inputVariables.warnings) core.warning(warning);
  const unknown = inputVariables.problems;
  let config;
  try {
    config = parseConfig(raw, {
      env: pick(env, Object.values(ENV_FALLBACKS)),
      readFile: (file) => readWorkspaceFile(files, INPUTS.imagesFile, file),
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
  try {
    if (config.locked && config.lockFile) lock = readLockFile(files, config.lockFile);
    // A lock file to write must land in the workspace: checked now, before anything is imported.
    else if (config.lockFile) checkWorkspaceWrite(files, INPUTS.lockFile, config.lockFile);
  } catch (err) {
    fail(err);
    return;
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
  // Fetched through the engine's client (a deadline, the run's proxy decision), as @actions/core would fetch it.
  const idToken: AuthHost['idToken'] =
    oidcUrl && oidcToken
      ? async (audience, engineHttp) => {
          const token = engineHttp
            ? await requestGithubIdToken(engineHttp, { url: oidcUrl, token: oidcToken }, audience)
            : await core.getIDToken(audience);
          core.setSecret(token);
          return token;
        }
      : undefined;
  // auth: auto asks the Azure CLI only after OIDC and a client secret: probe it (about a second) only then.
  const cli =
    config.auth === 'auto' && !(idToken && config.clientId && config.tenantId) && !config.clientSecret
      ? await probeAzureCli()
      : { signedIn: false };
  const authHost: AuthHost = {
    idToken,
    azureCliAvailable: cli.signedIn,
    ...(cli.reason ? { azureCliNote: cli.reason } : {}),
    // GitHub-hosted runners have no managed identity; probing for one would only wait for a timeout.
    managedIdentityPossible: env['RUNNER_ENVIRONMENT'] !== 'github-hosted',
  };

  let result: RunResult;
  try {
    const count = config.images.length;
    result = await core.group(`Import ${count} image${count === 1 ? '' : 's'}`, () =>
      runImports(config, { logger, mask, transport, clock: systemClock, authHost }, lock ? { lock } : {}),
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
  if (config.lockFile && !config.locked) writeLock(result, files, config.lockFile);

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
      ...landed.map((i) =>
        `- ${i.source} -> ${i.targets.map((t) => t.ref).join(', ') || '(no target)'}: ${i.status} ${i.sourceDigest ?? ''}`.trimEnd(),
      ),
    );
  }
  return lines.join('\n');
}

function readLockFile(files: WorkspaceRules, given: string): ReadonlyMap<string, string> {
  const text = readWorkspaceFile(files, INPUTS.lockFile, given, {
    missing:
      'cannot be read with locked: true (it does not exist); write it first with lock-file and locked: false, commit it, and check out the repository before this step',
  });
  return parseLockFile(text, given);
}

/** Writes the lock file, but only for a run in which every image succeeded: it never records half a run. */
function writeLock(result: RunResult, files: WorkspaceRules, given: string): void {
  const failed = result.images.filter((i) => i.status === 'failed').length;
  if (failed > 0) {
    core.warning(`Lock file ${given} not written: ${failed} of ${result.images.length} images failed.`);
    return;
  }
  try {
    const file = writeWorkspaceFile(files, INPUTS.lockFile, given, renderLockFile(result));
    core.info(
      `Wrote lock file ${file} (${result.images.length} image${result.images.length === 1 ? '' : 's'}).`,
    );
  } catch (err) {
    core.setFailed(`Could not write lock file ${given}: ${err instanceof Error ? err.message : String(err)}`);
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
