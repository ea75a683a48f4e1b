/**
 * The GitHub Action adapter: reads the step's inputs and the runner's environment, runs the engine, and writes the
 * outputs, the job summary and the step's status.
 */
import {
  checkInputVariables,
  requestGithubIdToken,
  type AuthHost,
  type ImportConfig,
  type Logger,
} from '../../engine/index.js';
import { azureCliFor } from '../common/azure-cli.js';
import { runHost } from '../common/runner.js';
import * as core from './commands.js';
import { GITHUB_INPUT_VARIABLES, GITHUB_WORDING } from './wording.js';
import { OUTPUTS } from './constants.js';

export async function run(): Promise<void> {
  const env = process.env;
  const workspace = env['GITHUB_WORKSPACE'] ?? process.cwd();
  const logger: Logger = {
    debug: (m) => core.debug(m),
    info: (m) => core.info(inert(m)),
    warning: (m) => core.warning(m),
  };
  const oidcUrl = env['ACTIONS_ID_TOKEN_REQUEST_URL'];
  const oidcToken = env['ACTIONS_ID_TOKEN_REQUEST_TOKEN'];
  // Fetched through the engine's client (a deadline, the run's proxy decision), as @actions/core's getIDToken would.
  const idToken: AuthHost['idToken'] =
    oidcUrl && oidcToken
      ? async (audience, engineHttp) => {
          core.debug(`Requesting a GitHub ID token for audience ${audience}`);
          const token = await requestGithubIdToken(engineHttp, { url: oidcUrl, token: oidcToken }, audience);
          core.setSecret(token);
          return token;
        }
      : undefined;
  const authHost = async (config: ImportConfig): Promise<AuthHost> => {
    return {
      idToken,
      ...(await azureCliFor(config, Boolean(idToken), {
        path: env['PATH'] ?? '',
        platform: process.platform,
      })),
      // GitHub-hosted runners have no managed identity; probing for one would only wait for a timeout.
      managedIdentityPossible: env['RUNNER_ENVIRONMENT'] !== 'github-hosted',
    };
  };

  const outcome = await runHost({
    input: (name) => core.getInput(name),
    // A runner turns with: keys and a job's env: INPUT_* alike into variables: near misses fail, others warn.
    checkGiven: (inputs) => checkInputVariables(Object.keys(env), inputs, GITHUB_INPUT_VARIABLES),
    env,
    // images-file and lock-file: regular files of at most 1 MiB inside the workspace, never in .git/.
    files: { root: workspace, rootName: 'the workspace (GITHUB_WORKSPACE)' },
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

/**
 * The workflow run, from the variables every runner sets (what @actions/github's context reads them from; that
 * library and its Octokit are not loaded for four variables).
 */
export async function summarySubtitle(
  env: Readonly<Record<string, string | undefined>> = process.env,
): Promise<string | undefined> {
  const [owner, repo] = (env['GITHUB_REPOSITORY'] ?? '').split('/');
  const runId = Number.parseInt(env['GITHUB_RUN_ID'] ?? '', 10);
  return runId && owner && repo
    ? `${owner}/${repo} · ${env['GITHUB_WORKFLOW']} #${Number.parseInt(env['GITHUB_RUN_NUMBER'] ?? '', 10)}`
    : undefined;
}

async function writeSummary(markdown: string): Promise<void> {
  try {
    await core.appendSummary(markdown);
  } catch (err) {
    core.warning(`Could not write the job summary: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/**
 * Log text may quote remote services (an ARM error, a registry's answer). The runner reads any stdout line that starts
 * with `::` (after spaces) as a workflow command, so such a line gets a zero-width space in front: shown the same,
 * never run. (Warnings, errors and debug lines are escaped by commands.ts.)
 */
export function inert(text: string): string {
  return text.replace(/^(\s*)::/gm, '$1\u200b::');
}

function actionHost(): string {
  const repo = process.env['GITHUB_REPOSITORY'];
  return repo ? `GitHub Actions; ${repo}` : 'GitHub Actions';
}
