/**
 * Keeps a test bed running until it is stopped (SIGTERM / SIGINT), for trying the action by hand or from a workflow
 * (`uses: ./` against the emulator, see .github/workflows/ci.yml).
 *
 *   node build/testbed/serve.js [--env-file FILE] [--outputs-file FILE]
 *
 * --env-file gets the runner variables the action needs (NODE_EXTRA_CA_CERTS, ACTIONS_ID_TOKEN_REQUEST_*), in the
 * GITHUB_ENV format; --outputs-file gets the inputs (registry, subscription-id, ...) and the seeded sources, in the
 * GITHUB_OUTPUT format. Without them both are printed. "READY" is printed when the bed is up.
 */
import { appendFile } from 'node:fs/promises';
import { startBed } from './bed.js';

const args = process.argv.slice(2);
const option = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i === -1 ? undefined : args[i + 1];
};

const bed = await startBed();
const env = bed.runnerEnv();
const exported = {
  NODE_EXTRA_CA_CERTS: env['NODE_EXTRA_CA_CERTS']!,
  ACTIONS_ID_TOKEN_REQUEST_URL: env['ACTIONS_ID_TOKEN_REQUEST_URL']!,
  ACTIONS_ID_TOKEN_REQUEST_TOKEN: env['ACTIONS_ID_TOKEN_REQUEST_TOKEN']!,
};
const hub = bed.sources.hub;
const multiArch = hub.images['multiArch']!;
const outputs: Record<string, string> = {
  ...bed.baseInputs(),
  'hub-source': `${hub.host}/${multiArch.repository}:${multiArch.tag}`,
  'hub-digest': multiArch.digest,
  'target-login-server': bed.acrs.target.loginServer,
  'target-backend': bed.acrs.target.backendUrl,
};
const lines = (values: Record<string, string>): string =>
  Object.entries(values)
    .map(([k, v]) => `${k}=${v}\n`)
    .join('');

const envFile = option('--env-file');
const outputsFile = option('--outputs-file');
if (envFile) await appendFile(envFile, lines(exported));
else process.stdout.write(lines(exported));
if (outputsFile) await appendFile(outputsFile, lines(outputs));
else process.stdout.write(lines(outputs));
console.log(`READY (bed up in ${bed.timings.totalMs} ms, pid ${process.pid})`);

let stopping = false;
const stop = async (): Promise<void> => {
  if (stopping) return;
  stopping = true;
  await bed.stop();
  process.exit(0);
};
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());
setInterval(() => undefined, 60_000);
