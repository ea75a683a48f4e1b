/**
 * The CLI's flags: one long flag per input of the input table (same name, except the target registry, which is
 * `--name/-n` as in `az acr import`), the `az acr import` spellings, and the CLI's own flags. Parsing collects every
 * problem (unknown flag, missing value, stray argument) instead of stopping at the first.
 */
import { parseArgs } from 'node:util';
import { INPUT_TABLE, INPUTS, type InputName, type InputProblem } from '../../engine/index.js';
import { closest } from '../common/did-you-mean.js';

export type FlagGroup = 'target' | 'source' | 'sign-in' | 'behaviour' | 'files' | 'output';

export interface Flag {
  long: string;
  short?: string;
  type: 'string' | 'boolean';
  /** May be given more than once (values are joined, one per line). */
  multiple?: boolean;
  /** The input this flag sets. */
  input?: InputName;
  /** The `az acr import` flag this one is (its spelling there), when it is one. */
  az?: string;
  group: FlagGroup;
  help: string;
  /** Shown in --help; for an input flag, the input table's default. */
  default?: string;
  required?: boolean;
  secret?: boolean;
  /** The value placeholder in --help. */
  meta?: string;
}

const GROUP_OF: Partial<Record<InputName, FlagGroup>> = {
  [INPUTS.registry]: 'target',
  [INPUTS.resourceGroup]: 'target',
  [INPUTS.subscriptionId]: 'target',
  [INPUTS.tenantId]: 'sign-in',
  [INPUTS.clientId]: 'sign-in',
  [INPUTS.auth]: 'sign-in',
  [INPUTS.clientSecret]: 'sign-in',
  [INPUTS.audience]: 'sign-in',
  [INPUTS.environment]: 'sign-in',
  [INPUTS.resourceManagerEndpoint]: 'sign-in',
  [INPUTS.authorityHost]: 'sign-in',
  [INPUTS.imagesFile]: 'files',
  [INPUTS.lockFile]: 'files',
  [INPUTS.locked]: 'files',
  [INPUTS.images]: 'source',
  [INPUTS.source]: 'source',
  [INPUTS.targetTags]: 'source',
  [INPUTS.untaggedRepositories]: 'source',
  [INPUTS.sourceRegistryResourceId]: 'source',
  [INPUTS.sourceUsername]: 'source',
  [INPUTS.sourcePassword]: 'source',
  [INPUTS.sourceTenantId]: 'source',
  [INPUTS.sourceClientId]: 'source',
  [INPUTS.platform]: 'source',
  [INPUTS.expectedDigest]: 'source',
};

/** The long flag of an input: its own name, except the target registry (`--name`, as in az). */
export function flagOf(input: string): string {
  return input === INPUTS.registry ? 'name' : input;
}

/** The environment variables the CLI reads for secrets (besides the input table's fallbacks). */
export const SECRET_ENV: Partial<Record<InputName, string>> = {
  [INPUTS.clientSecret]: 'AZURE_CLIENT_SECRET',
  [INPUTS.sourcePassword]: 'ACR_IMPORT_SOURCE_PASSWORD',
};

const INPUT_FLAGS: Flag[] = INPUT_TABLE.map((d) => ({
  long: flagOf(d.name),
  ...(d.name === INPUTS.registry ? { short: 'n', az: '--name -n' } : {}),
  ...(d.name === INPUTS.resourceGroup ? { short: 'g', az: '--resource-group -g' } : {}),
  ...(d.name === INPUTS.source ? { az: '--source' } : {}),
  ...(d.name === INPUTS.force ? { az: '--force' } : {}),
  type: d.type === 'boolean' ? 'boolean' : 'string',
  ...(d.type === 'list' || d.type === 'lines' ? { multiple: true } : {}),
  input: d.name,
  group: GROUP_OF[d.name] ?? 'behaviour',
  help: d.summary,
  ...(d.default ? { default: d.default } : {}),
  ...(d.required ? { required: true } : {}),
  ...(d.secret ? { secret: true } : {}),
}));

/** The `az acr import` spellings that are not input names. */
const AZ_FLAGS: Flag[] = [
  {
    long: 'image',
    short: 't',
    type: 'string',
    multiple: true,
    input: INPUTS.targetTags,
    az: '--image -t',
    group: 'source',
    help: 'Target repo[:tag]; repeat for several (as target-tags).',
  },
  {
    long: 'repository',
    type: 'string',
    multiple: true,
    input: INPUTS.untaggedRepositories,
    az: '--repository',
    group: 'source',
    help: 'Target repository without a tag; repeat for several.',
  },
  {
    long: 'registry',
    short: 'r',
    type: 'string',
    az: '--registry -r',
    group: 'source',
    meta: 'ACR',
    help: 'Source ACR: name, login server or resource ID; --source is then repo:tag in it.',
  },
  {
    long: 'username',
    short: 'u',
    type: 'string',
    input: INPUTS.sourceUsername,
    az: '--username -u',
    group: 'source',
    help: 'Username for the source registry (as source-username).',
  },
  {
    long: 'password',
    short: 'p',
    type: 'string',
    input: INPUTS.sourcePassword,
    az: '--password -p',
    group: 'source',
    secret: true,
    help: 'Password for the source registry; prefer --password-stdin or ACR_IMPORT_SOURCE_PASSWORD.',
  },
  {
    long: 'password-stdin',
    type: 'boolean',
    group: 'source',
    help: 'Read the source password from standard input.',
  },
  {
    long: 'no-wait',
    type: 'boolean',
    az: '--no-wait',
    group: 'behaviour',
    help: 'Submit the imports and do not wait (as --wait=false).',
  },
  {
    long: 'subscription',
    type: 'string',
    input: INPUTS.subscriptionId,
    az: '--subscription',
    group: 'target',
    help: 'Subscription ID of the target (as subscription-id).',
  },
];

const CLI_FLAGS: Flag[] = [
  {
    long: 'output',
    short: 'o',
    type: 'string',
    az: '--output -o',
    group: 'output',
    default: 'text',
    meta: 'text|json',
    help: 'stdout format: one line per target, or the results JSON array.',
  },
  {
    long: 'summary',
    type: 'string',
    group: 'output',
    meta: 'FILE',
    help: 'Write the Markdown summary to FILE.',
  },
  {
    long: 'no-color',
    type: 'boolean',
    group: 'output',
    help: 'Plain progress lines, no escape codes (also NO_COLOR).',
  },
  { long: 'verbose', type: 'boolean', group: 'output', help: 'Also log debug lines.' },
  {
    long: 'allow-outside-cwd',
    type: 'boolean',
    group: 'files',
    help: 'Let images-file and lock-file point outside the current directory.',
  },
  { long: 'help', short: 'h', type: 'boolean', group: 'output', help: 'Show this help.' },
  { long: 'version', type: 'boolean', group: 'output', help: 'Show the version.' },
];

export const FLAGS: readonly Flag[] = [...INPUT_FLAGS, ...AZ_FLAGS, ...CLI_FLAGS];

export interface ParsedFlags {
  /** Values by input name, multiple ones joined by newlines. */
  inputs: Partial<Record<InputName, string>>;
  /** Which flag set each input (for messages), by input name. */
  setBy: Partial<Record<InputName, string>>;
  /** The CLI's own flags, and the source ACR of --registry. */
  output: string;
  summary?: string;
  color: boolean;
  verbose: boolean;
  allowOutsideCwd: boolean;
  passwordStdin: boolean;
  help: boolean;
  version: boolean;
  sourceRegistry?: string;
  /** Secret flags given on the command line (each gets a warning). */
  secretsOnArgv: string[];
  problems: InputProblem[];
}

const BY_LONG = new Map(FLAGS.map((f) => [f.long, f]));

export function parseFlags(argv: readonly string[]): ParsedFlags {
  const options: Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }> = {};
  for (const f of FLAGS) {
    // `--no-wait` and `--no-color` are read as the negations of `--wait` and `color`.
    if (f.long === 'no-wait' || f.long === 'no-color') continue;
    options[f.long] = {
      type: f.type,
      ...(f.short ? { short: f.short } : {}),
      ...(f.multiple ? { multiple: true } : {}),
    };
  }
  options['color'] = { type: 'boolean' };
  const { tokens } = parseArgs({
    args: [...argv],
    options,
    strict: false,
    allowPositionals: true,
    allowNegative: true,
    tokens: true,
  });

  const out: ParsedFlags = {
    inputs: {},
    setBy: {},
    output: 'text',
    color: true,
    verbose: false,
    allowOutsideCwd: false,
    passwordStdin: false,
    help: false,
    version: false,
    secretsOnArgv: [],
    problems: [],
  };
  const problem = (flag: string, value: string, message: string): void => {
    out.problems.push({ input: flag, value, message });
  };
  const setInput = (input: InputName, value: string, flag: string, multiple: boolean): void => {
    const before = out.inputs[input];
    const by = out.setBy[input];
    if (before !== undefined && !multiple) {
      problem(flag, value, `is given twice${by && by !== flag ? ` (also as ${by})` : ''}; give it once`);
      return;
    }
    out.inputs[input] = before === undefined ? value : `${before}\n${value}`;
    out.setBy[input] = by ?? flag;
  };

  let afterUnknown = false;
  for (const token of tokens) {
    if (token.kind === 'option-terminator') continue;
    if (token.kind === 'positional') {
      if (!afterUnknown) {
        problem(
          token.value,
          token.value,
          'is not a flag: acr-import takes flags only (no subcommand), e.g. --source IMAGE --name REGISTRY',
        );
      }
      afterUnknown = false;
      continue;
    }
    afterUnknown = false;
    const negated = token.rawName.startsWith('--no-');
    const flag = BY_LONG.get(token.name === 'color' ? 'no-color' : token.name);
    const shown = token.rawName;
    if (!flag || (negated && flag.type !== 'boolean')) {
      const guess = closest(
        token.rawName.replace(/^-+/, ''),
        FLAGS.map((f) => f.long),
      );
      problem(
        shown,
        '***',
        `is not a flag of acr-import; ${guess ? `did you mean '--${guess}'?` : 'see acr-import --help.'} Remove or rename it`,
      );
      afterUnknown = !token.inlineValue;
      continue;
    }
    if (flag.type === 'string') {
      if (token.value === undefined) {
        problem(shown, '', `needs a value, e.g. ${shown} ${flag.meta ?? 'VALUE'}`);
        continue;
      }
      if (flag.secret) out.secretsOnArgv.push(shown);
      if (flag.input) setInput(flag.input, token.value, `--${flag.long}`, flag.multiple ?? false);
      else if (flag.long === 'output') out.output = token.value;
      else if (flag.long === 'summary') out.summary = token.value;
      else if (flag.long === 'registry') out.sourceRegistry = token.value;
      continue;
    }
    // A boolean: `--force`, `--force=false`, or a negation: `--no-wait`, `--no-dry-run`, `--no-color`.
    let value = true;
    if (token.inlineValue && token.value !== undefined) {
      const text = token.value.trim().toLowerCase();
      if (negated || (text !== 'true' && text !== 'false')) {
        problem(
          shown,
          token.value,
          `takes no value here: write ${shown} alone${negated ? '' : `, or ${shown}=true / ${shown}=false`}`,
        );
        continue;
      }
      value = text === 'true';
    }
    if (negated) value = false;
    switch (flag.long) {
      case 'no-color':
        out.color = value;
        break;
      case 'verbose':
        out.verbose = value;
        break;
      case 'allow-outside-cwd':
        out.allowOutsideCwd = value;
        break;
      case 'password-stdin':
        out.passwordStdin = value;
        break;
      case 'help':
        out.help = value;
        break;
      case 'version':
        out.version = value;
        break;
      default:
        if (flag.input) setInput(flag.input, String(value), shown.replace(/=.*$/, ''), false);
    }
  }
  if (out.output !== 'text' && out.output !== 'json') {
    problem('--output', out.output, "must be 'text' or 'json' (default 'text')");
  }
  return out;
}
