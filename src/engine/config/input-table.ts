/**
 * The input table: every input of the engine with its default, whether it is required, whether it is a secret, its
 * environment fallback and a one-line description. It is the source of truth for every host: action.yml's `inputs`,
 * the CLI's flags and `--help`, and README's inputs table are checked against it (__tests__/unit/input-table.test.ts).
 */
import { DEFAULTS, ENV_FALLBACKS, INPUTS, SECRET_INPUTS, type InputName } from './model.js';

export type InputType = 'string' | 'boolean' | 'list' | 'lines';

export interface InputDeclaration {
  readonly name: InputName;
  /** The default as the host states it ('' when there is none, or when it is computed). */
  readonly default: string;
  readonly required: boolean;
  readonly secret: boolean;
  /** boolean: true/false; list: comma or newline separated; lines: one entry per line. */
  readonly type: InputType;
  /** The environment variable read when the input is not given. */
  readonly env?: string;
  /** One line for `--help`. */
  readonly summary: string;
}

type Row = Omit<InputDeclaration, 'name' | 'secret' | 'env' | 'required' | 'default'> &
  Partial<Pick<InputDeclaration, 'required' | 'default'>>;

// A Record over every input name: an input added to INPUTS without a row here does not compile.
const ROWS: Record<InputName, Row> = {
  [INPUTS.registry]: {
    type: 'string',
    required: true,
    summary: 'Target registry: name, login server or resource ID.',
  },
  [INPUTS.resourceGroup]: { type: 'string', summary: 'Resource group of the target (skips the lookup).' },
  [INPUTS.subscriptionId]: { type: 'string', summary: 'Subscription of the target registry (a GUID).' },
  [INPUTS.tenantId]: { type: 'string', summary: 'Entra ID tenant (a GUID).' },
  [INPUTS.clientId]: { type: 'string', summary: 'Client ID of the app registration or managed identity.' },
  [INPUTS.auth]: {
    type: 'string',
    default: DEFAULTS.auth,
    summary: 'Sign-in: auto, oidc, client-secret, managed-identity or azure-cli.',
  },
  [INPUTS.clientSecret]: { type: 'string', summary: 'Client secret, for auth client-secret.' },
  [INPUTS.audience]: {
    type: 'string',
    default: DEFAULTS.audience,
    summary: 'Audience of the OIDC ID token (the federated credential).',
  },
  [INPUTS.environment]: {
    type: 'string',
    default: DEFAULTS.environment,
    summary: 'Azure cloud: AzureCloud, AzureUSGovernment, AzureChinaCloud.',
  },
  [INPUTS.resourceManagerEndpoint]: { type: 'string', summary: 'ARM endpoint override (https URL).' },
  [INPUTS.authorityHost]: { type: 'string', summary: 'Entra authority host override (https URL).' },
  [INPUTS.source]: {
    type: 'string',
    summary: 'Source image, e.g. docker.io/library/nginx:1.27 or ...@sha256:...',
  },
  [INPUTS.targetTags]: {
    type: 'list',
    summary: 'Target repo[:tag] list. Default: the source repository and tag.',
  },
  [INPUTS.untaggedRepositories]: {
    type: 'list',
    summary: 'Repositories that get the manifest without a tag.',
  },
  [INPUTS.sourceRegistryResourceId]: {
    type: 'string',
    summary: 'Source ACR by resource ID; source is then repo:tag.',
  },
  [INPUTS.sourceUsername]: { type: 'string', summary: 'Username for the source registry.' },
  [INPUTS.sourcePassword]: { type: 'string', summary: 'Password or access token for the source registry.' },
  [INPUTS.sourceTenantId]: {
    type: 'string',
    summary: 'Tenant of a source ACR in another tenant (federated).',
  },
  [INPUTS.sourceClientId]: {
    type: 'string',
    summary: 'Client ID of the federated identity in source-tenant-id.',
  },
  [INPUTS.force]: {
    type: 'boolean',
    default: String(DEFAULTS.force),
    summary: 'Move target tags that point elsewhere.',
  },
  [INPUTS.pinDigest]: {
    type: 'string',
    default: String(DEFAULTS.pinDigest),
    summary: 'Import the digest read from the source: true, false, or strict (no fallback to the tag).',
  },
  [INPUTS.wait]: {
    type: 'boolean',
    default: String(DEFAULTS.wait),
    summary: 'Wait for each import and verify the target.',
  },
  [INPUTS.timeout]: {
    type: 'string',
    default: DEFAULTS.timeout,
    summary: 'Time limit per image, e.g. 90s, 10m, 1h.',
  },
  [INPUTS.apiVersion]: {
    type: 'string',
    default: DEFAULTS.apiVersion,
    summary: 'ARM API version for registry calls.',
  },
  [INPUTS.images]: { type: 'lines', summary: 'Several imports, one per line: SOURCE [-> TARGET, ...].' },
  [INPUTS.imagesFile]: { type: 'string', summary: 'YAML or JSON file listing the imports.' },
  [INPUTS.maxParallel]: {
    type: 'string',
    default: String(DEFAULTS.maxParallel),
    summary: 'How many imports run at once, 1 to 64.',
  },
  [INPUTS.dryRun]: {
    type: 'boolean',
    default: String(DEFAULTS.dryRun),
    summary: 'Print the plan; import nothing.',
  },
  [INPUTS.lockFile]: { type: 'string', summary: 'JSON lock file to write (or, with locked, to check).' },
  [INPUTS.locked]: {
    type: 'boolean',
    default: String(DEFAULTS.locked),
    summary: 'Fail before importing if a source drifted from lock-file.',
  },
  [INPUTS.platform]: {
    type: 'string',
    summary: 'Import only this platform (os/arch[/variant]) of an index.',
  },
  [INPUTS.expectedDigest]: { type: 'string', summary: 'Fail unless the source resolves to this digest.' },
  [INPUTS.referrers]: {
    type: 'string',
    default: 'none',
    summary: 'Copy signatures, SBOMs, attestations: none, all, or artifact types.',
  },
};

const ENV: Partial<Record<InputName, string>> = { ...ENV_FALLBACKS };

/** Every input, in the order of INPUTS. */
export const INPUT_TABLE: readonly InputDeclaration[] = (Object.values(INPUTS) as InputName[]).map((name) => {
  const row = ROWS[name];
  const env = ENV[name];
  return {
    name,
    default: row.default ?? '',
    required: row.required ?? false,
    secret: SECRET_INPUTS.includes(name),
    type: row.type,
    summary: row.summary,
    ...(env ? { env } : {}),
  };
});
