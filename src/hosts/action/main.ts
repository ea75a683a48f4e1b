/**
 * The GitHub Action adapter: reads the step's inputs and the runner's environment, runs the engine, and writes the
 * outputs, the job summary and the step's status.
 */
import * as core from '@actions/core';
import { access } from 'node:fs/promises';
import path from 'node:path';
import { type AuthHost, type Logger } from '../../engine/index.js';
import { runHost } from '../common/runner.js';
import { GITHUB_WORDING } from './wording.js';
import { OUTPUTS } from './constants.js';

export async function run(): Promise<void> {
  const env = process.env;
  const workspace = env['GITHUB_WORKSPACE'] ?? process.cwd();
  const logger: Logger = {
    debug: (m) => core.debug(m),
    info: (m) => core.info(inert(m)),
    warning: (m) => core.warning(m),
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

  const outcome = await runHost({
    input: (name) => core.getInput(name),
    given: givenInputs(env),
    unknown: { noun: 'an input of this action', listedIn: 'action.yml' },
    env,
    resolvePath: (file) => path.resolve(workspace, file),
    mask: (secret) => core.setSecret(secret),
    logger,
    authHost,
    wording: GITHUB_WORDING,
    userAgentHost: actionHost(),
    group: (name, fn) => core.group(name, fn),
    summarySubtitle,
  });

  if (outcome.outputs) {
    core.setOutput(OUTPUTS.digest, outcome.outputs.digest);
    core.setOutput(OUTPUTS.images, outcome.outputs.images);
    core.setOutput(OUTPUTS.results, outcome.outputs.results);
  }
  if (outcome.summary !== undefined) await writeSummary(outcome.summary);
  if (outcome.outcome !== 'done') core.setFailed(outcome.failure ?? 'failed');
}

async function summarySubtitle(): Promise<string | undefined> {
  const { context } = await import('@actions/github');
  return context.runId && context.repo.owner
    ? `${context.repo.owner}/${context.repo.repo} · ${context.workflow} #${context.runNumber}`
    : undefined;
}

async function writeSummary(markdown: string): Promise<void> {
  try {
    await core.summary.addRaw(markdown, true).write();
  } catch (err) {
    core.warning(`Could not write the job summary: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** The input names the runner set (from its INPUT_* variables), known or not. */
function givenInputs(env: NodeJS.ProcessEnv): string[] {
  return Object.keys(env)
    .filter((key) => key.startsWith('INPUT_'))
    .map((key) => key.slice('INPUT_'.length).toLowerCase());
}

/**
 * Log text may quote remote services (an ARM error, a registry's answer). The runner reads any stdout line that starts
 * with `::` (after spaces) as a workflow command, so such a line gets a zero-width space in front: shown the same,
 * never run. (Warnings, errors and debug lines are escaped by @actions/core itself.)
 */
export function inert(text: string): string {
  return text.replace(/^(\s*)::/gm, '$1\u200b::');
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
