/**
 * The `acr-import` command: flags in, the shared host runner in the middle, results on stdout, the log on stderr,
 * and an exit code a script can act on (see help.ts).
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  INPUTS,
  VERSION,
  type InputName,
  type InputProblem,
} from '../../engine/index.js';
import { runHost, type HostResult, type Outcome } from '../common/runner.js';
import { flagOf, parseFlags, SECRET_ENV, type ParsedFlags } from './flags.js';
import { helpText } from './help.js';
import { CliLog, type Sink } from './progress.js';
import { cliSignIn } from './sign-in.js';
import { CLI_WORDING } from './wording.js';

export interface CliIo {
  argv: readonly string[];
  env: Readonly<Record<string, string | undefined>>;
  cwd: string;
  stdout: Sink;
  stderr: Sink & { isTTY?: boolean };
  /** Reads all of standard input (for --password-stdin). */
  readStdin(): Promise<string>;
}

export const EXIT: Record<Outcome, number> = { done: 0, failed: 1, input: 2, 'sign-in': 3 };

export async function main(io: CliIo): Promise<number> {
  const flags = parseFlags(io.argv);
  if (flags.help) {
    io.stdout.write(helpText());
    return 0;
  }
  if (flags.version) {
    io.stdout.write(`acr-import ${VERSION}\n`);
    return 0;
  }
  const live = Boolean(io.stderr.isTTY) && flags.color && !io.env['NO_COLOR'] && io.env['TERM'] !== 'dumb';
  const log = new CliLog(io.stderr, { live, verbose: flags.verbose });

  const problems: InputProblem[] = [...flags.problems];
  const inputs = { ...flags.inputs };
  if (flags.passwordStdin) {
    if (inputs[INPUTS.sourcePassword] !== undefined) {
      problems.push({
        input: '--password-stdin',
        value: '',
        message: `and ${flags.setBy[INPUTS.sourcePassword]} both give the source password; keep one`,
      });
    } else {
      const text = (await io.readStdin()).replace(/\r?\n$/, '');
      if (!text)
        problems.push({ input: '--password-stdin', value: '', message: 'read an empty password from stdin' });
      else inputs[INPUTS.sourcePassword] = text;
    }
  }
  // Secrets also from the environment, which is where they belong.
  for (const [input, variable] of Object.entries(SECRET_ENV) as [InputName, string][]) {
    const value = io.env[variable];
    if (inputs[input] === undefined && value) inputs[input] = value;
  }
  for (const [input, value] of Object.entries(inputs)) {
    if (value && (input === INPUTS.clientSecret || input === INPUTS.sourcePassword)) log.mask(value);
  }
  for (const flag of flags.secretsOnArgv) {
    const env = flag === '--client-secret' ? 'AZURE_CLIENT_SECRET' : 'ACR_IMPORT_SOURCE_PASSWORD';
    log.warning(
      `${flag} on the command line is visible to other users (process list) and in shell history: set ${env}${flag === '--client-secret' ? '' : ' or use --password-stdin'} instead.`,
    );
  }
  const sourceRegistryName = applySourceRegistry(flags, inputs, problems);

  const signIn = cliSignIn(io.env, {
    auth: inputs[INPUTS.auth] ?? '',
    clientSecret: inputs[INPUTS.clientSecret] ?? '',
  });
  if (signIn.auth) inputs[INPUTS.auth] = signIn.auth;

  let tracked = false;
  const outcome: HostResult = await runHost({
    input: (name) => inputs[name as InputName] ?? '',
    ...(sourceRegistryName !== undefined && { sourceRegistryName }),
    problems,
    // A problem names the flag the user typed (`--subscription` or `--subscription-id`), else the input's own flag.
    inputLabel: (name) => flags.setBy[name as InputName] ?? `--${flagOf(name)}`,
    env: io.env,
    files: {
      root: io.cwd,
      rootName: 'the current directory',
      allowOutside: flags.allowOutsideCwd,
      allowOutsideHint: 'pass --allow-outside-cwd',
    },
    mask: (secret) => log.mask(secret),
    logger: log,
    authHost: signIn.authHost,
    wording: CLI_WORDING,
    userAgentHost: 'CLI',
    onStart: (config) => {
      log.track(config.images.map((i) => i.sourceText));
      tracked = true;
    },
    summarySubtitle: async () => `acr-import ${VERSION} (CLI)`,
  });
  if (tracked && outcome.result) log.settle(outcome.result.images);
  log.stop();

  if (outcome.outputs)
    io.stdout.write(flags.output === 'json' ? jsonResults(outcome.outputs.results) : textResults(outcome));
  if (flags.summary && outcome.summary !== undefined) {
    try {
      await writeFile(path.resolve(io.cwd, flags.summary), outcome.summary);
    } catch (err) {
      log.warning(
        `Could not write the summary ${flags.summary}: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
  }
  if (outcome.outcome !== 'done') io.stderr.write(`${log.redact(`error: ${outcome.failure ?? 'failed'}`)}\n`);
  return EXIT[outcome.outcome];
}

/**
 * az's --registry: the source ACR by resource ID or by name (then --source is repo:tag in it; a name is looked up
 * among the subscription's registries, as az does, since its login server need not be NAME.azurecr.io), or by login
 * server (then --source is prefixed with it). Returns the name, when a name was given.
 */
function applySourceRegistry(
  flags: ParsedFlags,
  inputs: Partial<Record<InputName, string>>,
  problems: InputProblem[],
): string | undefined {
  const registry = flags.sourceRegistry?.trim();
  if (!registry) return undefined;
  if (registry.startsWith('/') || !/[.:/]/.test(registry)) {
    if (inputs[INPUTS.sourceRegistryResourceId] !== undefined) {
      problems.push({
        input: '--registry',
        value: registry,
        message: 'and --source-registry-resource-id both name the source registry; keep one',
      });
      return undefined;
    }
    if (!registry.startsWith('/')) {
      if (!/^[a-zA-Z0-9]{5,50}$/.test(registry)) {
        problems.push({
          input: '--registry',
          value: registry,
          message:
            'is not a registry name (5 to 50 letters and digits), login server (myregistry.azurecr.io) or resource ID (/subscriptions/...)',
        });
        return undefined;
      }
      if (inputs[INPUTS.source] === undefined) problems.push(noSource(registry));
      return registry;
    }
    inputs[INPUTS.sourceRegistryResourceId] = registry;
    return undefined;
  }
  const source = inputs[INPUTS.source];
  if (source === undefined) {
    problems.push(noSource(registry));
    return undefined;
  }
  inputs[INPUTS.source] = `${registry.replace(/\/+$/, '')}/${source.replace(/^\/+/, '')}`;
  return undefined;
}

function noSource(registry: string): InputProblem {
  return {
    input: '--registry',
    value: registry,
    message: 'names the source registry of --source, but --source is not given; add --source REPO:TAG',
  };
}

function jsonResults(results: string): string {
  return `${JSON.stringify(JSON.parse(results), null, 2)}\n`;
}

/** One line per target: `STATUS  <loginServer>/<repo>:<tag>  sha256:...` (a failed image: its source). */
function textResults(outcome: HostResult): string {
  const lines: string[] = [];
  for (const image of outcome.result?.images ?? []) {
    const status = image.plan ? `${image.status}(${image.plan})` : image.status;
    if (!image.targets.length) {
      lines.push(`${status.padEnd(9)}  ${image.source}  ${image.sourceDigest ?? '-'}`);
      continue;
    }
    for (const t of image.targets)
      lines.push(`${status.padEnd(9)}  ${t.ref}  ${t.digest ?? image.sourceDigest ?? '-'}`);
  }
  return lines.length ? `${lines.join('\n')}\n` : '';
}

/** Reads standard input to its end. */
export async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream)
    chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string));
  return Buffer.concat(chunks).toString('utf8');
}
