/**
 * The workflow commands the Action needs before its first request, written the way the runner reads them (stdout
 * lines `::name::data`, data escaped so a line break cannot end the command early) and the step's inputs read the way
 * @actions/core reads them (`INPUT_<NAME>`, spaces as `_`, trimmed). Loading @actions/core costs a megabyte of bundle
 * (it statically imports its HTTP client and a second undici for getIDToken): it is imported only where its file
 * commands are needed, at the end of the step (outputs, summary, failure), see `actionsCore` (issue 11: cold start).
 */
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

let core: Promise<typeof import('@actions/core')> | undefined;

/** @actions/core, loaded on first use (outputs, summary, failure, getIDToken without the engine's client). */
export function actionsCore(): Promise<typeof import('@actions/core')> {
  core ??= import('@actions/core');
  return core;
}
