/**
 * The runner's interface as the Action uses it: the step's inputs (`INPUT_<NAME>`, spaces as `_`, trimmed), workflow
 * commands on stdout (`::name::data`, data escaped so a line break cannot end the command early), the outputs file
 * (GITHUB_OUTPUT, `name<<delimiter` blocks), the job summary file (GITHUB_STEP_SUMMARY) and the exit code. This is
 * what @actions/core writes for these calls. @actions/core itself is not used: it is 0.9 MB of bundle (it statically
 * imports its HTTP client and a second copy of undici for getIDToken, which the engine does through its own client),
 * about 25 ms of compile before the first request and memory at the end (issue 11: cold start < 150 ms, peak RSS).
 */
import { randomUUID } from 'node:crypto';
import { access, appendFile, constants } from 'node:fs/promises';
import { appendFileSync } from 'node:fs';
import { EOL } from 'node:os';

/** The runner's escaping of a command's data part. */
function escapeData(text: string): string {
  return text.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}

function command(name: string, data: string): void {
  process.stdout.write(`::${name}::${escapeData(data)}${EOL}`);
}

/** The value of a step input (`with:`), '' when not given. */
export function getInput(
  name: string,
  env: Readonly<Record<string, string | undefined>> = process.env,
): string {
  return (env[`INPUT_${name.replace(/ /g, '_').toUpperCase()}`] ?? '').trim();
}

export function setSecret(secret: string): void {
  command('add-mask', secret);
}

export function debug(message: string): void {
  command('debug', message);
}

export function warning(message: string): void {
  command('warning', message);
}

export function info(message: string): void {
  process.stdout.write(message + EOL);
}

/** A foldable group in the step's log around `fn`. */
export async function group<T>(name: string, fn: () => Promise<T>): Promise<T> {
  command('group', name);
  try {
    return await fn();
  } finally {
    process.stdout.write(`::endgroup::${EOL}`);
  }
}

/** A command property's escaping (`name=value` pairs). */
function escapeProperty(text: string): string {
  return escapeData(text).replace(/:/g, '%3A').replace(/,/g, '%2C');
}

/** Sets a step output: a block in the GITHUB_OUTPUT file, or the old `set-output` command without one. */
export function setOutput(
  name: string,
  value: string,
  env: Readonly<Record<string, string | undefined>> = process.env,
): void {
  const file = env['GITHUB_OUTPUT'];
  if (!file) {
    process.stdout.write(`${EOL}::set-output name=${escapeProperty(name)}::${escapeData(value)}${EOL}`);
    return;
  }
  const delimiter = `ghadelimiter_${randomUUID()}`;
  if (name.includes(delimiter) || value.includes(delimiter))
    throw new Error(`output ${name}: holds its own delimiter`);
  appendFileSync(file, `${name}<<${delimiter}${EOL}${value}${EOL}${delimiter}${EOL}`, 'utf8');
}

/** Appends markdown to the job summary (GITHUB_STEP_SUMMARY); fails when there is none or it cannot be written. */
export async function appendSummary(
  markdown: string,
  env: Readonly<Record<string, string | undefined>> = process.env,
): Promise<void> {
  const file = env['GITHUB_STEP_SUMMARY'];
  if (!file) throw new Error('GITHUB_STEP_SUMMARY is not set: this runner offers no job summary.');
  try {
    await access(file, constants.R_OK | constants.W_OK);
  } catch {
    throw new Error(`the summary file ${file} cannot be read and written.`);
  }
  await appendFile(file, markdown + EOL, 'utf8');
}

/** Fails the step: an error annotation with the message, and exit code 1. */
export function setFailed(message: string): void {
  process.exitCode = 1;
  command('error', message);
}
