/**
 * What the task publishes to the agent once the engine has run, through the logging commands of ./logging.ts: the
 * engine's Logger port, the output variables, the summary file (uploaded as a tab of the run), one issue per failed
 * image, and the step's result.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger, RunOutputs, RunResult } from '../../engine/index.js';
import type { AgentLog, TaskResult } from './logging.js';

/** The engine's logger on the agent's log: debug only with system.debug, warnings as issues. */
export function agentLogger(log: AgentLog): Logger {
  return {
    debug: (message) => log.debug(message),
    info: (message) => log.info(message),
    warning: (message) => log.warning(message),
  };
}

/** The runner's phases (its Host `group`) as foldable `##[group]` sections, closed also when a phase throws. */
export function agentGroup(log: AgentLog): <T>(name: string, fn: () => Promise<T>) => Promise<T> {
  return (name, fn) => log.inGroup(name, fn);
}

/** The output variables (`$(step.digest)`, `dependencies.<job>.outputs['step.digest']`). */
export function publishOutputs(log: AgentLog, outputs: RunOutputs): void {
  log.setOutput('digest', outputs.digest);
  log.setOutput('images', outputs.images);
  log.setOutput('results', outputs.results);
}

/** The tab the summary appears under is the file's name. */
export const SUMMARY_FILE_NAME = 'ACR Import.md';

/**
 * Writes the summary markdown (UTF-8) into its own folder of Agent.TempDirectory, so two steps of one job never share
 * a file, and uploads it. A summary that cannot be written is a warning, never a failed step.
 */
export async function publishSummary(
  log: AgentLog,
  tempDirectory: string | undefined,
  markdown: string,
): Promise<string | undefined> {
  if (!tempDirectory) {
    log.warning('No summary: the agent gave no Agent.TempDirectory (AGENT_TEMPDIRECTORY).');
    return undefined;
  }
  const file = join(tempDirectory, `acr-import-${randomUUID()}`, SUMMARY_FILE_NAME);
  try {
    await mkdir(join(file, '..'), { recursive: true });
    await writeFile(file, markdown, 'utf8');
  } catch (err) {
    log.warning(`Could not write the summary: ${err instanceof Error ? err.message : String(err)}`);
    return undefined;
  }
  log.uploadSummary(file);
  return file;
}

/** One error issue per failed image (with its hint), so the run's page lists each. */
export function reportImageErrors(log: AgentLog, result: RunResult): void {
  for (const image of result.images) {
    if (image.status !== 'failed') continue;
    log.error(`${image.source}: ${image.error ?? 'failed'}${image.hint ? ` ${image.hint}` : ''}`);
  }
}

/** Failed when an image failed; SucceededWithIssues when warnings were logged; else Succeeded. */
export function taskResult(result: RunResult, log: AgentLog): TaskResult {
  if (!result.ok) return 'Failed';
  return log.hasIssues ? 'SucceededWithIssues' : 'Succeeded';
}

/** The one-line message of task.complete. */
export function completionMessage(result: RunResult): string {
  const failed = result.images.filter((i) => i.status === 'failed').length;
  const total = result.images.length;
  const noun = total === 1 ? 'image' : 'images';
  if (failed) return `${failed} of ${total} ${noun} failed`;
  return result.dryRun ? `Planned ${total} ${noun} (dry run)` : `Imported ${total} ${noun}`;
}
