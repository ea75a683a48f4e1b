/**
 * The GitHub Action adapter: reads the step's inputs and the runner's environment, runs the engine, and writes the
 * outputs, the job summary and the step's status.
 */
import * as core from '@actions/core';
import { readFileSync } from 'node:fs';
import { access } from 'node:fs/promises';
import path from 'node:path';
import {
  createUndiciTransport,
  ENV_FALLBACKS,
  ImportError,
  INPUTS,
  parseConfig,
  renderSummary,
  runImports,
  SECRET_INPUTS,
  systemClock,
  toOutputs,
  userAgent,
  type AuthHost,
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
  let config;
  try {
    config = parseConfig(raw, {
      env: pick(env, Object.values(ENV_FALLBACKS)),
      readFile: (file) => readFileSync(path.resolve(workspace, file), 'utf8'),
    });
  } catch (err) {
    fail(err);
    return;
  }

  const { transport, close } = createUndiciTransport({ userAgent: userAgent(actionHost()) });
  const logger: Logger = {
    debug: (m) => core.debug(m),
    info: (m) => core.info(m),
    warning: (m) => core.warning(m),
    group: (name, fn) => core.group(name, fn),
  };
  const authHost: AuthHost = {
    idToken:
      env['ACTIONS_ID_TOKEN_REQUEST_URL'] && env['ACTIONS_ID_TOKEN_REQUEST_TOKEN']
        ? (audience) => core.getIDToken(audience)
        : undefined,
    azureCliAvailable: await onPath('az'),
    // GitHub-hosted runners have no managed identity; probing for one would only wait for a timeout.
    managedIdentityPossible: env['RUNNER_ENVIRONMENT'] !== 'github-hosted',
  };

  let result: RunResult;
  try {
    result = await runImports(config, {
      logger,
      mask: core.setSecret,
      transport,
      clock: systemClock,
      authHost,
    });
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

  if (!result.ok) {
    const failed = result.images.filter((i) => i.status === 'failed');
    const landed = result.images.filter((i) => i.status !== 'failed');
    const lines = [
      `${failed.length} of ${result.images.length} image${result.images.length === 1 ? '' : 's'} failed:`,
      ...failed.map((i) => `- ${i.source}: ${i.error ?? 'failed'}${i.hint ? `\n  ${i.hint}` : ''}`),
    ];
    if (landed.length) {
      lines.push(
        'Landed:',
        ...landed.map((i) => `- ${i.source}: ${i.status} ${i.sourceDigest ?? ''}`.trimEnd()),
      );
    }
    core.setFailed(lines.join('\n'));
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
