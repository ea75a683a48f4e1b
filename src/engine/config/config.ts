/**
 * The engine's configuration: built from raw string inputs (the Action's `with:`, the CLI's flags, the Pipelines
 * task's inputs), validated all at once, and returned as one typed object. Every problem is reported together in one
 * `InputError`, each naming the input, the bad value (secrets as `***`) and the fix.
 */

import { isMap, isNode, isScalar, isSeq, LineCounter, parseDocument } from 'yaml';
import { suspiciousCharacter } from './characters.js';
import { InputError, type InputProblem } from '../errors.js';
import { maskedExcerpt } from './workspace-files.js';
import { NEUTRAL_WORDING, type HostWording } from '../ports.js';
import {
  checkDigest,
  checkImageReference,
  checkRepository,
  checkTargetTag,
  formatTarget,
  quote,
  registryHostOf,
  type ImageReference,
  type ParseResult,
  type TargetTag,
} from '../reference.js';
import { checkReferrers, type ReferrerSelection } from '../run/referrers.js';

// ---------------------------------------------------------------------------------------------------------------------
// Names, defaults, public types

/** The public input names, shared by every adapter (the CLI turns them into `--flags`). */
export const INPUTS = {
  registry: 'registry',
  resourceGroup: 'resource-group',
  subscriptionId: 'subscription-id',
  tenantId: 'tenant-id',
  clientId: 'client-id',
  auth: 'auth',
  clientSecret: 'client-secret',
  audience: 'audience',
  environment: 'environment',
  resourceManagerEndpoint: 'resource-manager-endpoint',
  authorityHost: 'authority-host',
  source: 'source',
  targetTags: 'target-tags',
  untaggedRepositories: 'untagged-repositories',
  sourceRegistryResourceId: 'source-registry-resource-id',
  sourceUsername: 'source-username',
  sourcePassword: 'source-password',
  sourceTenantId: 'source-tenant-id',
  sourceClientId: 'source-client-id',
  force: 'force',
  pinDigest: 'pin-digest',
  wait: 'wait',
  timeout: 'timeout',
  apiVersion: 'api-version',
  images: 'images',
  imagesFile: 'images-file',
  maxParallel: 'max-parallel',
  dryRun: 'dry-run',
  lockFile: 'lock-file',
  locked: 'locked',
  platform: 'platform',
  expectedDigest: 'expected-digest',
  referrers: 'referrers',
} as const;

export type InputName = (typeof INPUTS)[keyof typeof INPUTS];

/** Inputs whose values are secrets: adapters mask them before anything else, and problems show them as `***`. */
export const SECRET_INPUTS: readonly InputName[] = [INPUTS.clientSecret, INPUTS.sourcePassword];

/** Raw inputs by public name, as the adapter read them; an empty string means "not given". */
export type RawInputs = Readonly<Record<string, string | undefined>>;

/** Environment variables that stand in for missing inputs. */
export const ENV_FALLBACKS = {
  [INPUTS.subscriptionId]: 'AZURE_SUBSCRIPTION_ID',
  [INPUTS.tenantId]: 'AZURE_TENANT_ID',
  [INPUTS.clientId]: 'AZURE_CLIENT_ID',
} as const;

export type EnvFallbacks = Readonly<
  Partial<Record<(typeof ENV_FALLBACKS)[keyof typeof ENV_FALLBACKS], string>>
>;

export const AUTH_MODES = ['auto', 'oidc', 'client-secret', 'managed-identity', 'azure-cli'] as const;
export type AuthMode = (typeof AUTH_MODES)[number];

export type CloudName = 'AzureCloud' | 'AzureUSGovernment' | 'AzureChinaCloud';

/** Endpoints and token scopes of one Azure cloud. URLs have no trailing slash. */
export interface CloudSettings {
  readonly name: CloudName;
  /** ARM endpoint, e.g. `https://management.azure.com`. */
  readonly armEndpoint: string;
  /** Entra authority host, e.g. `https://login.microsoftonline.com`. */
  readonly authorityHost: string;
  /** Scope of the ARM token, e.g. `https://management.azure.com/.default`. */
  readonly armScope: string;
  /** Scope of an Entra token for the ACR data plane. */
  readonly acrScope: string;
  /** Login server suffix of the cloud's registries, e.g. `.azurecr.io` (for messages; never used to build a host). */
  readonly loginSuffix: string;
  /** True for a non-Microsoft authority host: MSAL must not ask the public cloud to discover it. */
  readonly disableInstanceDiscovery: boolean;
  /**
   * Set with resource-manager-endpoint: the token audience (and, unless `authorityGiven`, the authority) are read
   * from that ARM's `/metadata/endpoints` at the start of each run (cloud.ts), since a custom cloud's ARM audience is
   * not its URL.
   */
  readonly discoverMetadata?: boolean;
  /** authority-host was given: it wins over the loginEndpoint of the cloud metadata. */
  readonly authorityGiven?: boolean;
}

const ACR_SCOPE = 'https://containerregistry.azure.net/.default';

export const CLOUDS: Readonly<Record<CloudName, CloudSettings>> = {
  AzureCloud: {
    name: 'AzureCloud',
    armEndpoint: 'https://management.azure.com',
    authorityHost: 'https://login.microsoftonline.com',
    armScope: 'https://management.azure.com/.default',
    acrScope: ACR_SCOPE,
    loginSuffix: '.azurecr.io',
    disableInstanceDiscovery: false,
  },
  AzureUSGovernment: {
    name: 'AzureUSGovernment',
    armEndpoint: 'https://management.usgovcloudapi.net',
    authorityHost: 'https://login.microsoftonline.us',
    armScope: 'https://management.usgovcloudapi.net/.default',
    acrScope: ACR_SCOPE,
    loginSuffix: '.azurecr.us',
    disableInstanceDiscovery: false,
  },
  AzureChinaCloud: {
    name: 'AzureChinaCloud',
    armEndpoint: 'https://management.chinacloudapi.cn',
    authorityHost: 'https://login.chinacloudapi.cn',
    armScope: 'https://management.chinacloudapi.cn/.default',
    acrScope: ACR_SCOPE,
    loginSuffix: '.azurecr.cn',
    disableInstanceDiscovery: false,
  },
};

/** Authority hosts MSAL knows without asking the network. Any other host disables instance discovery. */
export const MICROSOFT_AUTHORITY_HOSTS: ReadonlySet<string> = new Set([
  'login.microsoftonline.com',
  'login.windows.net',
  'login.microsoft.com',
  'login.chinacloudapi.cn',
  'login.partner.microsoftonline.cn',
  'login.microsoftonline.us',
  'login.usgovcloudapi.net',
  'login.microsoftonline.de',
  'login-us.microsoftonline.com',
]);

/** Defaults of the optional inputs (action.yml and the CLI's help state the same). */
export const DEFAULTS = {
  auth: 'auto' as AuthMode,
  audience: 'api://AzureADTokenExchange',
  environment: 'AzureCloud' as CloudName,
  force: false,
  pinDigest: true,
  wait: true,
  timeout: '10m',
  timeoutMs: 600_000,
  apiVersion: '2025-04-01',
  maxParallel: 8,
  dryRun: false,
  locked: false,
  referrers: 'none' as ReferrerSelection,
} as const;

export const MAX_PARALLEL_LIMIT = 64;
export const TIMEOUT_LIMIT_MS = 6 * 3600_000;

/** An ACR resource ID, split into its parts. `resourceId` uses the canonical casing of the fixed segments. */
export interface RegistryResourceId {
  readonly resourceId: string;
  readonly subscriptionId: string;
  readonly resourceGroup: string;
  readonly name: string;
}

/** The target registry as the user gave it. */
export type RegistryRef =
  | { readonly kind: 'name'; readonly name: string }
  | { readonly kind: 'loginServer'; readonly loginServer: string }
  | ({ readonly kind: 'resourceId' } & RegistryResourceId);

export interface Platform {
  readonly os: string;
  readonly architecture: string;
  readonly variant?: string;
}

/** One image to import, with everything an importer needs to run it on its own. */
export interface ImageSpec {
  /** Where it was given, for messages: `source`, `images line 3`, `images-file entry 2`. */
  readonly origin: string;
  readonly source: ImageReference;
  /** The source as the user wrote it. */
  readonly sourceText: string;
  /** Tags to set in the target registry; empty when only untagged repositories are wanted. */
  readonly targets: readonly TargetTag[];
  readonly untaggedRepositories: readonly string[];
  /** Import only this platform's manifest out of an index. */
  readonly platform?: Platform;
  /** Fail unless the source resolves to this digest. */
  readonly expectedDigest?: string;
}

export interface ImportConfig {
  readonly target: RegistryRef;
  readonly resourceGroup?: string;
  readonly subscriptionId: string;
  readonly tenantId?: string;
  readonly clientId?: string;
  readonly auth: AuthMode;
  readonly clientSecret?: string;
  readonly audience: string;
  readonly cloud: CloudSettings;
  readonly images: readonly ImageSpec[];
  /** Source ACR by resource ID; the images' sources are then host-less. */
  readonly sourceRegistryResourceId?: RegistryResourceId;
  readonly sourceCredentials?: { readonly username: string; readonly password: string };
  /** A second federated identity in the source's tenant; its Entra token becomes the import password. */
  readonly sourceFederation?: { readonly tenantId: string; readonly clientId: string };
  readonly force: boolean;
  readonly pinDigest: boolean;
  /** pin-digest: strict: a source the runner cannot reach fails instead of being imported by tag. */
  readonly pinDigestStrict?: boolean;
  readonly wait: boolean;
  /** Per image. */
  readonly timeoutMs: number;
  readonly apiVersion: string;
  readonly maxParallel: number;
  readonly dryRun: boolean;
  readonly lockFile?: string;
  readonly locked: boolean;
  /** Signatures, SBOMs and attestations to copy with each image (OCI referrers and cosign tags). */
  readonly referrers: ReferrerSelection;
}

/** What the adapter lends to `parseConfig`. */
export interface ConfigPorts {
  /** Reads a file given by a user path (relative to the workspace); throws when it cannot. */
  readonly readFile?: (path: string) => string;
  /** Fallbacks for subscription, tenant and client ids. */
  readonly env?: EnvFallbacks;
  /** How the host's users pass a secret, for the message when one is missing. */
  readonly wording?: Pick<HostWording, 'secretFrom'>;
}

// ---------------------------------------------------------------------------------------------------------------------
// parseConfig

/** Builds the typed configuration, or throws one `InputError` listing every problem. */
export function parseConfig(raw: RawInputs, ports: ConfigPorts = {}): ImportConfig {
  const p = new Problems();
  const get = (name: InputName): string | undefined => {
    const value = raw[name]?.trim();
    if (value === undefined || value === '') return undefined;
    if (!(SECRET_INPUTS as readonly string[]).includes(name)) {
      p.characters(name, value, !(FREE_TEXT_INPUTS as readonly string[]).includes(name));
    }
    return value;
  };
  const bool = (name: InputName, fallback: boolean): boolean => {
    const text = get(name);
    if (text === undefined) return fallback;
    const parsed = parseBoolean(text);
    if (parsed === undefined) p.add(name, text, `must be 'true' or 'false' (default '${fallback}')`);
    return parsed ?? fallback;
  };

  // Target registry and Azure identity.
  const registryText = get(INPUTS.registry);
  let target: RegistryRef | undefined;
  if (registryText === undefined) {
    p.add(
      INPUTS.registry,
      '',
      "is required: the target registry's name (myregistry), login server (myregistry.azurecr.io) or resource ID",
    );
  } else {
    target = p.check(INPUTS.registry, registryText, checkRegistry(registryText));
  }

  const resourceGroup = get(INPUTS.resourceGroup);
  if (resourceGroup !== undefined) {
    p.check(INPUTS.resourceGroup, resourceGroup, checkResourceGroup(resourceGroup));
    if (target?.kind === 'resourceId' && target.resourceGroup.toLowerCase() !== resourceGroup.toLowerCase()) {
      p.add(
        INPUTS.resourceGroup,
        resourceGroup,
        `differs from the resource group '${target.resourceGroup}' in the registry's resource ID; remove resource-group (the ID already says it)`,
      );
    }
  }

  const fromEnv = (name: keyof typeof ENV_FALLBACKS): string | undefined => {
    const given = get(name);
    if (given !== undefined) {
      p.check(name, given, checkGuid(given, name));
      return given.toLowerCase();
    }
    const variable = ENV_FALLBACKS[name];
    const value = ports.env?.[variable]?.trim();
    if (value === undefined || value === '') return undefined;
    p.check(name, value, checkGuid(value, `${variable} (the fallback for ${name})`));
    return value.toLowerCase();
  };
  const subscriptionId =
    fromEnv(INPUTS.subscriptionId) ?? (target?.kind === 'resourceId' ? target.subscriptionId : undefined);
  // A resource ID carries its subscription; when registry is a malformed one, its own problem says enough.
  if (subscriptionId === undefined && !registryText?.startsWith('/')) {
    p.add(
      INPUTS.subscriptionId,
      '',
      'is required: set subscription-id (or AZURE_SUBSCRIPTION_ID), or give registry as a resource ID',
    );
  }
  const tenantId = fromEnv(INPUTS.tenantId);
  const clientId = fromEnv(INPUTS.clientId);

  const authText = get(INPUTS.auth);
  let auth: AuthMode = DEFAULTS.auth;
  if (authText !== undefined) {
    const mode = AUTH_MODES.find((m) => m === authText.toLowerCase());
    if (mode === undefined)
      p.add(INPUTS.auth, authText, `must be one of ${AUTH_MODES.join(', ')} (default 'auto')`);
    else auth = mode;
  }
  const clientSecret = get(INPUTS.clientSecret);
  checkAuthNeeds(p, { auth, clientSecret, clientId, tenantId }, ports.wording ?? NEUTRAL_WORDING);

  const audience = get(INPUTS.audience) ?? DEFAULTS.audience;
  if (/\s/.test(audience)) {
    p.add(INPUTS.audience, audience, `must not contain whitespace; the default is '${DEFAULTS.audience}'`);
  }

  const cloud = buildCloud(
    p,
    get(INPUTS.environment),
    get(INPUTS.resourceManagerEndpoint),
    get(INPUTS.authorityHost),
  );

  // Source side.
  const sourceRegistryText = get(INPUTS.sourceRegistryResourceId);
  const sourceRegistryResourceId =
    sourceRegistryText === undefined
      ? undefined
      : p.check(
          INPUTS.sourceRegistryResourceId,
          sourceRegistryText,
          checkRegistryResourceId(sourceRegistryText, 'the source registry'),
        );
  const hostless = sourceRegistryText !== undefined;

  const platformText = get(INPUTS.platform);
  const platform =
    platformText === undefined
      ? undefined
      : p.check(INPUTS.platform, platformText, checkPlatform(platformText));
  const expectedText = get(INPUTS.expectedDigest);
  const expectedDigest =
    expectedText === undefined
      ? undefined
      : p.check(INPUTS.expectedDigest, expectedText, checkDigest(expectedText));

  const images = collectImages(p, {
    source: get(INPUTS.source),
    targetTags: get(INPUTS.targetTags),
    untagged: get(INPUTS.untaggedRepositories),
    // Untrimmed, so that line numbers count from the first line the user wrote.
    images: raw[INPUTS.images]?.trim() ? raw[INPUTS.images] : undefined,
    imagesFile: get(INPUTS.imagesFile),
    hostless,
    platform,
    expectedDigest,
    readFile: ports.readFile,
  });
  if (expectedDigest !== undefined && images.length > 1) {
    p.add(
      INPUTS.expectedDigest,
      expectedDigest,
      `applies to one image, but ${images.length} are listed; set expected-digest per entry in images-file`,
    );
  }

  const credentials = checkSourceCredentials(p, {
    username: get(INPUTS.sourceUsername),
    password: get(INPUTS.sourcePassword),
    tenantId: get(INPUTS.sourceTenantId),
    clientId: get(INPUTS.sourceClientId),
    hostless,
    images,
  });

  // Behaviour.
  const force = bool(INPUTS.force, DEFAULTS.force);
  const pinText = get(INPUTS.pinDigest);
  const pinDigestStrict = pinText?.trim().toLowerCase() === 'strict';
  let pinDigest: boolean = DEFAULTS.pinDigest;
  if (pinText !== undefined && !pinDigestStrict) {
    const parsed = parseBoolean(pinText);
    if (parsed === undefined)
      p.add(INPUTS.pinDigest, pinText, "must be 'true', 'false' or 'strict' (default 'true')");
    pinDigest = parsed ?? DEFAULTS.pinDigest;
  }
  const wait = bool(INPUTS.wait, DEFAULTS.wait);
  const dryRun = bool(INPUTS.dryRun, DEFAULTS.dryRun);
  const locked = bool(INPUTS.locked, DEFAULTS.locked);

  const timeoutText = get(INPUTS.timeout);
  const timeoutMs =
    timeoutText === undefined
      ? DEFAULTS.timeoutMs
      : (p.check(INPUTS.timeout, timeoutText, checkTimeout(timeoutText)) ?? DEFAULTS.timeoutMs);

  const apiVersion = get(INPUTS.apiVersion) ?? DEFAULTS.apiVersion;
  p.check(INPUTS.apiVersion, apiVersion, checkApiVersion(apiVersion));

  const parallelText = get(INPUTS.maxParallel);
  const maxParallel =
    parallelText === undefined
      ? DEFAULTS.maxParallel
      : (p.check(INPUTS.maxParallel, parallelText, checkMaxParallel(parallelText)) ?? DEFAULTS.maxParallel);

  const lockFile = get(INPUTS.lockFile);
  if (lockFile !== undefined && /[\r\n\0]/.test(lockFile)) {
    p.add(INPUTS.lockFile, lockFile, 'must be one file path (no line breaks)');
  }
  if (locked && lockFile === undefined) {
    p.add(
      INPUTS.locked,
      'true',
      'needs lock-file: set lock-file to the lock file to check against, or remove locked',
    );
  }

  const referrersText = get(INPUTS.referrers);
  const referrers =
    referrersText === undefined
      ? DEFAULTS.referrers
      : (p.check(INPUTS.referrers, referrersText, checkReferrers(referrersText)) ?? DEFAULTS.referrers);
  if (referrers !== 'none' && !wait) {
    p.add(
      INPUTS.referrers,
      referrersText ?? '',
      'needs wait: true (referrers are copied once their image has landed, and verified); remove wait: false or set referrers: none',
    );
  }

  p.throwIfAny();
  // No problems: every required value is present.
  return {
    target: target!,
    ...(resourceGroup !== undefined && { resourceGroup }),
    subscriptionId: subscriptionId!,
    ...(tenantId !== undefined && { tenantId }),
    ...(clientId !== undefined && { clientId }),
    auth,
    ...(clientSecret !== undefined && { clientSecret }),
    audience,
    cloud,
    images,
    ...(sourceRegistryResourceId !== undefined && { sourceRegistryResourceId }),
    ...credentials,
    force,
    pinDigest,
    ...(pinDigestStrict && { pinDigestStrict }),
    wait,
    timeoutMs,
    apiVersion,
    maxParallel,
    dryRun,
    ...(lockFile !== undefined && { lockFile }),
    locked,
    referrers,
  };
}

/** Inputs whose values may hold any printable character (file paths, free text): only invisible ones are refused. */
const FREE_TEXT_INPUTS: readonly InputName[] = [
  INPUTS.imagesFile,
  INPUTS.lockFile,
  INPUTS.audience,
  INPUTS.sourceUsername,
];

/** Collects problems; redacts secret values. */
class Problems {
  readonly list: InputProblem[] = [];
  /** Inputs with an invisible or look-alike character: that problem is the one to fix, the others follow from it. */
  private readonly badCharacters = new Set<string>();

  /** Records an invisible or look-alike character in `value`, once per input; true when there was one. */
  characters(input: string, value: string, asciiOnly = true, what = ''): boolean {
    if (this.badCharacters.has(input)) return true;
    const problem = suspiciousCharacter(value, { asciiOnly });
    if (problem === undefined) return false;
    this.add(input, value, `${what}${problem}`);
    this.badCharacters.add(input);
    return true;
  }

  add(input: string, value: string, message: string): void {
    if (this.badCharacters.has(input)) return;
    const secret = (SECRET_INPUTS as readonly string[]).includes(input);
    this.list.push({ input, value: secret && value !== '' ? '***' : value, message });
  }

  /** Records a failed check; returns the value of a good one. */
  check<T>(input: string, value: string, result: ParseResult<T>): T | undefined {
    if (result.ok) return result.value;
    this.add(input, value, result.error);
    return undefined;
  }

  throwIfAny(): void {
    if (this.list.length > 0) throw new InputError(this.list);
  }
}

// ---------------------------------------------------------------------------------------------------------------------
// Cross-input rules

function checkAuthNeeds(
  p: Problems,
  given: {
    auth: AuthMode;
    clientSecret?: string | undefined;
    clientId?: string | undefined;
    tenantId?: string | undefined;
  },
  wording: Pick<HostWording, 'secretFrom'>,
): void {
  const { auth, clientSecret, clientId, tenantId } = given;
  const needIdAndTenant = (why: string): void => {
    if (clientId === undefined) {
      p.add(INPUTS.clientId, '', `is required ${why}: the application (client) ID, or set AZURE_CLIENT_ID`);
    }
    if (tenantId === undefined) {
      p.add(INPUTS.tenantId, '', `is required ${why}: the directory (tenant) ID, or set AZURE_TENANT_ID`);
    }
  };
  if (auth === 'client-secret') {
    if (clientSecret === undefined) {
      p.add(
        INPUTS.clientSecret,
        '',
        `is required with auth 'client-secret': ${wording.secretFrom(INPUTS.clientSecret, 'AZURE_CLIENT_SECRET')}`,
      );
    }
    needIdAndTenant("with auth 'client-secret'");
  } else if (auth === 'oidc') {
    needIdAndTenant("with auth 'oidc' (the app registration that holds the federated credential)");
  } else if (auth === 'auto') {
    if (clientSecret !== undefined) needIdAndTenant('when client-secret is given');
  }
  if (clientSecret !== undefined && auth !== 'auto' && auth !== 'client-secret') {
    p.add(
      INPUTS.clientSecret,
      clientSecret,
      `is not used with auth '${auth}'; remove it, or set auth to 'client-secret'`,
    );
  }
}

function checkSourceCredentials(
  p: Problems,
  given: {
    username: string | undefined;
    password: string | undefined;
    tenantId: string | undefined;
    clientId: string | undefined;
    hostless: boolean;
    images: readonly ImageSpec[];
  },
): Pick<ImportConfig, 'sourceCredentials' | 'sourceFederation'> {
  const { username, password, tenantId, clientId, hostless, images } = given;
  if (username !== undefined && password === undefined) {
    p.add(
      INPUTS.sourceUsername,
      username,
      'needs source-password as well (a password or access token for that user)',
    );
  }
  if (password !== undefined && username === undefined) {
    p.add(
      INPUTS.sourcePassword,
      password,
      'needs source-username as well (the user the password belongs to)',
    );
  }
  if (tenantId !== undefined)
    p.check(INPUTS.sourceTenantId, tenantId, checkGuid(tenantId, INPUTS.sourceTenantId));
  if (clientId !== undefined)
    p.check(INPUTS.sourceClientId, clientId, checkGuid(clientId, INPUTS.sourceClientId));
  if (tenantId !== undefined && clientId === undefined) {
    p.add(
      INPUTS.sourceClientId,
      '',
      "is required with source-tenant-id: the source tenant's app with a federated credential",
    );
  }
  if (clientId !== undefined && tenantId === undefined) {
    p.add(INPUTS.sourceTenantId, '', "is required with source-client-id: the source registry's tenant ID");
  }
  const federated = tenantId !== undefined || clientId !== undefined;
  if (federated && password !== undefined) {
    p.add(
      INPUTS.sourcePassword,
      password,
      'conflicts with source-tenant-id/source-client-id (they obtain the password); keep one of the two',
    );
  }
  // The first source credential input given, to name in the problems below.
  const named = (
    [
      [INPUTS.sourceUsername, username],
      [INPUTS.sourcePassword, password],
      [INPUTS.sourceTenantId, tenantId],
      [INPUTS.sourceClientId, clientId],
    ] as const
  ).find(([, value]) => value !== undefined);
  if (named !== undefined && hostless) {
    p.add(
      named[0],
      named[1] ?? '',
      'is not used with source-registry-resource-id (Azure authorises that source by role, not by credentials); remove one of them',
    );
  }
  const hosts = [...new Set(images.map((i) => i.source.registry))];
  if (named !== undefined && !hostless && hosts.length > 1) {
    p.add(
      named[0],
      named[1] ?? '',
      `source credentials belong to one registry, but the images come from ${hosts.join(', ')}; ` +
        'import each registry in its own step so credentials reach only their registry',
    );
  }
  return {
    ...(username !== undefined && password !== undefined && { sourceCredentials: { username, password } }),
    ...(tenantId !== undefined && clientId !== undefined && { sourceFederation: { tenantId, clientId } }),
  };
}

function buildCloud(
  p: Problems,
  environment: string | undefined,
  armOverride: string | undefined,
  authorityOverride: string | undefined,
): CloudSettings {
  let cloud: CloudSettings = CLOUDS[DEFAULTS.environment];
  if (environment !== undefined) {
    const name = (Object.keys(CLOUDS) as CloudName[]).find(
      (n) => n.toLowerCase() === environment.toLowerCase(),
    );
    if (name === undefined) {
      p.add(
        INPUTS.environment,
        environment,
        `must be one of ${Object.keys(CLOUDS).join(', ')} (default 'AzureCloud'); for another cloud set resource-manager-endpoint and authority-host`,
      );
    } else {
      cloud = CLOUDS[name];
    }
  }
  if (armOverride !== undefined) {
    const url = p.check(INPUTS.resourceManagerEndpoint, armOverride, checkHttpsUrl(armOverride));
    if (url !== undefined)
      cloud = { ...cloud, armEndpoint: url.text, armScope: `${url.text}/.default`, discoverMetadata: true };
  }
  if (authorityOverride !== undefined) {
    const url = p.check(INPUTS.authorityHost, authorityOverride, checkHttpsUrl(authorityOverride));
    if (url !== undefined) {
      cloud = {
        ...cloud,
        authorityHost: url.text,
        disableInstanceDiscovery: !MICROSOFT_AUTHORITY_HOSTS.has(url.hostname),
        authorityGiven: true,
      };
    }
  }
  return cloud;
}

// ---------------------------------------------------------------------------------------------------------------------
// Images: `source` + `target-tags`, or `images`, or `images-file`

interface ImageInputs {
  source: string | undefined;
  targetTags: string | undefined;
  untagged: string | undefined;
  images: string | undefined;
  imagesFile: string | undefined;
  hostless: boolean;
  platform: Platform | undefined;
  expectedDigest: string | undefined;
  readFile: ((path: string) => string) | undefined;
}

/** One image as written, before its defaults are applied. */
interface ImageDraft {
  origin: string;
  sourceText: string;
  targets: string[];
  untagged: string[];
  platform?: Platform | undefined;
  expectedDigest?: string | undefined;
}

function collectImages(p: Problems, inputs: ImageInputs): ImageSpec[] {
  const { source, images, imagesFile } = inputs;
  const values: [InputName, string | undefined][] = [
    [INPUTS.source, source],
    [INPUTS.images, images],
    [INPUTS.imagesFile, imagesFile],
  ];
  const given = values.filter((entry): entry is [InputName, string] => entry[1] !== undefined);
  const [first, ...others] = given;
  if (first === undefined) {
    p.add(
      INPUTS.source,
      '',
      "is required: the image to import, e.g. 'docker.io/library/nginx:1.27' (or list several in images or images-file)",
    );
    return [];
  }
  if (others.length > 0) {
    for (const [name, value] of others) {
      p.add(
        name,
        value,
        `conflicts with ${first[0]}: give the images in one of source, images or images-file`,
      );
    }
    return [];
  }

  let drafts: ImageDraft[];
  if (source !== undefined) {
    drafts = [
      {
        origin: INPUTS.source,
        sourceText: source,
        targets: listItems(inputs.targetTags),
        untagged: listItems(inputs.untagged),
      },
    ];
  } else {
    for (const [name, value] of [
      [INPUTS.targetTags, inputs.targetTags],
      [INPUTS.untaggedRepositories, inputs.untagged],
    ] as const) {
      if (value !== undefined) {
        p.add(
          name,
          value,
          `applies to source only; with ${first[0]} write the targets per image (${images !== undefined ? "'SOURCE -> TARGET, ...'" : "the entry's targets / untagged-repositories"})`,
        );
      }
    }
    drafts =
      first[0] === INPUTS.images
        ? parseImagesInput(p, first[1])
        : parseImagesFile(p, first[1], inputs.readFile);
  }

  const specs: ImageSpec[] = [];
  const targetOwner = new Map<string, string>();
  for (const draft of drafts) {
    const spec = buildImage(p, draft, inputs);
    if (spec === undefined) continue;
    for (const target of spec.targets) {
      const key = formatTarget(target);
      const owner = targetOwner.get(key);
      if (owner !== undefined) {
        p.add(
          spec.origin,
          key,
          `target '${key}' is also written by ${owner}; two imports into one tag race, so give each a different target`,
        );
      } else {
        targetOwner.set(key, spec.origin);
      }
    }
    specs.push(spec);
  }
  return specs;
}

/** Applies parsing and defaults to one image; problems are named after where the image was given. */
function buildImage(p: Problems, draft: ImageDraft, inputs: ImageInputs): ImageSpec | undefined {
  const { origin, sourceText } = draft;
  const fromSource = origin === INPUTS.source;
  const targetInput = fromSource ? INPUTS.targetTags : origin;
  const untaggedInput = fromSource ? INPUTS.untaggedRepositories : origin;

  let source: ImageReference | undefined;
  const host = registryHostOf(sourceText);
  if (inputs.hostless && host !== undefined) {
    p.add(
      origin,
      sourceText,
      `names the registry host ${quote(host)}, but source-registry-resource-id already names the source registry; ` +
        `write only ${quote(sourceText.slice(host.length + 1))}, or remove source-registry-resource-id`,
    );
  } else {
    source = p.check(origin, sourceText, checkImageReference(sourceText, { hostless: inputs.hostless }));
  }

  const targets: TargetTag[] = [];
  for (const text of unique(draft.targets)) {
    const parsed = p.check(targetInput, text, checkTargetTag(text));
    if (parsed === undefined || source === undefined) continue;
    const tag = parsed.tag ?? source.tag;
    if (tag === undefined) {
      p.add(
        targetInput,
        text,
        `has no tag and the source is pinned by digest only, so there is no tag to copy; write '${parsed.repository}:<tag>', or list '${parsed.repository}' under untagged-repositories`,
      );
      continue;
    }
    if (!targets.some((t) => t.repository === parsed.repository && t.tag === tag)) {
      targets.push({ repository: parsed.repository, tag });
    }
  }
  const untaggedRepositories: string[] = [];
  for (const text of unique(draft.untagged)) {
    const repository = p.check(untaggedInput, text, checkRepository(text));
    if (repository !== undefined) untaggedRepositories.push(repository);
  }
  if (source === undefined) return undefined;

  // Defaults: the source's repository and tag. A digest-only source has no tag to copy, so it lands untagged in the
  // source's repository rather than moving a tag (e.g. `latest`) the user never named.
  if (draft.targets.length === 0 && untaggedRepositories.length === 0) {
    if (source.tag !== undefined) targets.push({ repository: source.repository, tag: source.tag });
    else untaggedRepositories.push(source.repository);
  }

  const platform = draft.platform ?? inputs.platform;
  const expectedDigest = draft.expectedDigest ?? inputs.expectedDigest;
  return {
    origin,
    source,
    sourceText,
    targets,
    untaggedRepositories,
    ...(platform !== undefined && { platform }),
    ...(expectedDigest !== undefined && { expectedDigest }),
  };
}

/** `images`: one import per line, `SOURCE` or `SOURCE -> TARGET[, TARGET...]`; blank lines and `#` comments allowed. */
function parseImagesInput(p: Problems, text: string): ImageDraft[] {
  const drafts: ImageDraft[] = [];
  text.split(/\r?\n/).forEach((rawLine, index) => {
    const origin = `${INPUTS.images} line ${index + 1}`;
    const hash = rawLine.indexOf('#');
    const line = (hash === -1 ? rawLine : rawLine.slice(0, hash)).trim();
    if (line === '') return;
    if (p.characters(origin, hash === -1 ? rawLine : rawLine.slice(0, hash))) return;
    const parts = line.split('->');
    if (parts.length > 2) {
      p.add(origin, line, "has more than one '->'; write 'SOURCE -> TARGET[, TARGET...]'");
      return;
    }
    const sourceText = parts[0]!.trim();
    if (sourceText === '') {
      p.add(origin, line, "has no source before '->'; write 'SOURCE -> TARGET[, TARGET...]'");
      return;
    }
    const targets = parts.length === 2 ? listItems(parts[1]) : [];
    if (parts.length === 2 && targets.length === 0) {
      p.add(
        origin,
        line,
        "has no target after '->'; write 'SOURCE -> TARGET[, TARGET...]', or only 'SOURCE'",
      );
      return;
    }
    drafts.push({ origin, sourceText, targets, untagged: [] });
  });
  if (drafts.length === 0 && !p.list.some((x) => x.input.startsWith(`${INPUTS.images} line`))) {
    p.add(
      INPUTS.images,
      text,
      "lists no image; write one 'SOURCE' or 'SOURCE -> TARGET[, TARGET...]' per line",
    );
  }
  return drafts;
}

const ENTRY_KEYS = ['source', 'targets', 'untagged-repositories', 'platform', 'expected-digest'] as const;

/** Alias uses allowed in an images file (yaml's own default): a "billion laughs" file is refused, not expanded. */
const MAX_YAML_ALIASES = 100;

/** `images-file`: YAML or JSON, a list of entries, or `{images: [...]}`. */
function parseImagesFile(
  p: Problems,
  path: string,
  readFile: ((path: string) => string) | undefined,
): ImageDraft[] {
  const input = INPUTS.imagesFile;
  if (readFile === undefined) {
    p.add(input, path, 'cannot be read by this host; list the images in the images input instead');
    return [];
  }
  let text: string;
  try {
    text = readFile(path);
  } catch (err) {
    // The host's file rules (workspace, type, size) say what is wrong and what to do.
    if (err instanceof InputError) {
      for (const problem of err.problems) p.add(problem.input, problem.value, problem.message);
      return [];
    }
    const reason = err instanceof Error ? err.message : String(err);
    p.add(
      input,
      path,
      `cannot be read (${reason}); give a path relative to the workspace, and check out the repository first`,
    );
    return [];
  }

  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    // The file may not be an images file at all (a key file, .netrc): show where and what kind of error, and the
    // line's shape with its letters and digits masked, never its text.
    const lines = text.split(/\r?\n|\r/);
    for (const error of doc.errors.slice(0, 5)) {
      const { line, col } = lineCounter.linePos(error.pos[0]);
      p.add(
        `${input} line ${line}`,
        path,
        `is not valid YAML or JSON: ${YAML_ERRORS[error.code] ?? 'a syntax error'} at column ${col} (the line's shape: ${JSON.stringify(maskedExcerpt(lines[line - 1] ?? '', col))})`,
      );
    }
    return [];
  }
  const lineOf = (node: unknown): string => {
    const offset = isNode(node) ? node.range?.[0] : undefined;
    return offset === undefined ? '' : ` (line ${lineCounter.linePos(offset).line})`;
  };

  // The list, and its node for line numbers: the document itself, or its `images` key.
  let node: unknown = doc.contents;
  if (isMap(node)) {
    for (const pair of node.items) {
      // String(node) prints YAML (an alias as `*name`) without expanding it.
      const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
      if (key !== 'images') {
        p.add(
          `${input}${lineOf(pair.key)}`,
          key,
          "has an unknown top-level key; the file holds a list of images, or 'images:' with that list",
        );
      }
    }
    node = node.get('images', true);
  }
  if (!isSeq(node)) {
    p.add(input, path, "must hold a list of images ('- source: ...' entries), or 'images:' with such a list");
    return [];
  }
  if (node.items.length === 0) {
    p.add(input, path, 'lists no image; add at least one entry with a source');
    return [];
  }

  const drafts: ImageDraft[] = [];
  let aliasBomb = false;
  node.items.forEach((item, index) => {
    if (aliasBomb) return;
    const origin = `${input} entry ${index + 1}${lineOf(item)}`;
    let value: unknown;
    try {
      value = isNode(item) ? item.toJS(doc, { maxAliasCount: MAX_YAML_ALIASES }) : item;
    } catch (err) {
      // yaml refuses to expand aliases past maxAliasCount ("billion laughs"); anything else it throws is a bad file too.
      aliasBomb = true;
      p.add(
        origin,
        path,
        // yaml's message names the alias; the file's text is not shown.
        /excessive alias count|resource exhaustion/i.test(String(err))
          ? `expands YAML aliases too often (more than ${MAX_YAML_ALIASES} uses: a "billion laughs" file); write each entry out in full, without anchors (&) and aliases (*)`
          : /unresolved alias/i.test(String(err))
            ? 'cannot be read as YAML: it uses an alias (*name) whose anchor (&name) is not defined before it; write the value out in full'
            : 'cannot be read as YAML; write each entry out in full, without anchors (&), aliases (*) or tags (!)',
      );
      return;
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      p.add(
        origin,
        stringify(value),
        "must be a mapping with at least 'source', e.g. '- source: docker.io/library/nginx:1.27'",
      );
      return;
    }
    const entry = value as Record<string, unknown>;
    for (const key of ENTRY_KEYS) {
      const field = entry[key];
      for (const text of typeof field === 'string' ? [field] : Array.isArray(field) ? field : []) {
        if (typeof text === 'string' && p.characters(origin, text, true, `'${key}' `)) return;
      }
    }
    for (const key of Object.keys(entry)) {
      if (!(ENTRY_KEYS as readonly string[]).includes(key)) {
        p.add(origin, key, `has an unknown key '${key}'; the keys are ${ENTRY_KEYS.join(', ')}`);
      }
    }
    const sourceText = entry['source'];
    if (typeof sourceText !== 'string' || sourceText.trim() === '') {
      p.add(origin, stringify(sourceText ?? ''), "needs 'source', the image to import, as a string");
      return;
    }
    const targets = stringList(p, origin, 'targets', entry['targets']);
    const untagged = stringList(p, origin, 'untagged-repositories', entry['untagged-repositories']);
    const platform = entryValue(p, origin, 'platform', entry['platform'], checkPlatform);
    const expectedDigest = entryValue(p, origin, 'expected-digest', entry['expected-digest'], checkDigest);
    // Kept even when a field is bad, so that its source and targets are checked too (any problem fails the run).
    drafts.push({
      origin,
      sourceText: sourceText.trim(),
      targets,
      untagged,
      platform,
      expectedDigest,
    });
  });
  return drafts;
}

/** An optional string value of a file entry: undefined when absent or bad (the problem is recorded). */
function entryValue<T>(
  p: Problems,
  origin: string,
  key: string,
  value: unknown,
  check: (text: string) => ParseResult<T>,
): T | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') {
    p.add(origin, stringify(value), `'${key}' must be a string`);
    return undefined;
  }
  const result = check(value.trim());
  if (!result.ok) p.add(origin, value, `'${key}' ${result.error}`);
  return result.ok ? result.value : undefined;
}

/** A `targets` / `untagged-repositories` value in a file entry: a list of strings, or one string (comma separated). */
function stringList(p: Problems, origin: string, key: string, value: unknown): string[] {
  if (value === undefined || value === null) return [];
  if (typeof value === 'string') return listItems(value);
  if (Array.isArray(value) && value.every((v) => typeof v === 'string')) {
    return unique(value.map((v) => v.trim()).filter((v) => v !== ''));
  }
  p.add(origin, stringify(value), `'${key}' must be a list of strings, e.g. ['apps/web:1.0']`);
  return [];
}

function stringify(value: unknown): string {
  return typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value));
}

/**
 * What each yaml error code means, in fixed words: yaml's own messages quote the text they choked on (a tag, an
 * escape, a token), and the file may not be an images file at all.
 */
const YAML_ERRORS: Readonly<Record<string, string>> = {
  ALIAS_PROPS: 'an alias (*name) with an anchor or tag',
  BAD_ALIAS: 'an alias (*name) whose anchor (&name) is not defined before it',
  BAD_COLLECTION_TYPE: 'a tag that does not fit its value',
  BAD_DIRECTIVE: 'an unknown directive (a line starting with %)',
  BAD_DQ_ESCAPE: 'an invalid escape in a double-quoted string',
  BAD_INDENT: 'bad indentation',
  BAD_PROP_ORDER: 'an anchor or tag in the wrong place',
  BAD_SCALAR_START: 'a plain value that starts with a reserved character (quote it)',
  BLOCK_AS_IMPLICIT_KEY: 'a nested mapping where a key was expected',
  BLOCK_IN_FLOW: 'a block value inside [...] or {...}',
  DUPLICATE_KEY: 'a key given twice in one mapping',
  IMPOSSIBLE: 'a syntax error',
  KEY_OVER_1024_CHARS: 'a key longer than 1024 characters',
  MISSING_CHAR: 'a missing character (a closing quote or bracket, a comma, a space after a colon or a dash)',
  MULTILINE_IMPLICIT_KEY: 'a key that spans lines (a missing colon or dash?)',
  MULTIPLE_ANCHORS: 'two anchors on one value',
  MULTIPLE_DOCS: 'more than one document (---); keep one list',
  MULTIPLE_TAGS: 'two tags on one value',
  NON_STRING_KEY: 'a key that is not a string',
  RESOURCE_EXHAUSTION: 'too many aliases (a "billion laughs" file)',
  TAB_AS_INDENT: 'a tab used for indentation (use spaces)',
  TAG_RESOLVE_FAILED: 'an unknown tag (!name)',
  UNEXPECTED_TOKEN: 'unexpected text for this place',
};

// ---------------------------------------------------------------------------------------------------------------------
// Single-value checks (exported for adapters and tests)

/** Lists: newline or comma separated, trimmed, empty entries dropped, duplicates removed (first one kept). */
export function listItems(text: string | undefined): string[] {
  if (text === undefined) return [];
  return unique(
    text
      .split(/[\n,]/)
      .map((s) => s.trim())
      .filter((s) => s !== ''),
  );
}

function unique(items: readonly string[]): string[] {
  return [...new Set(items)];
}

/** `true` / `false`, case-insensitive; undefined for anything else. */
export function parseBoolean(text: string): boolean | undefined {
  const lower = text.trim().toLowerCase();
  return lower === 'true' ? true : lower === 'false' ? false : undefined;
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function checkGuid(text: string, what: string): ParseResult<string> {
  return GUID.test(text)
    ? { ok: true, value: text.toLowerCase() }
    : {
        ok: false,
        error: `${what} must be a GUID like 00000000-0000-0000-0000-000000000000 (copy it from the Azure portal)`,
      };
}

const REGISTRY_NAME = /^[a-zA-Z0-9]{5,50}$/;
const RESOURCE_GROUP = /^[-\w.()]{1,90}$/;
const REGISTRY_ID =
  /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/Microsoft\.ContainerRegistry\/registries\/([^/]+)\/?$/i;
const REGISTRY_ID_FORM =
  '/subscriptions/<subscription-id>/resourceGroups/<group>/providers/Microsoft.ContainerRegistry/registries/<name>';

/** The target registry: a name, a login server (`host[:port]`) or an ARM resource ID. */
export function checkRegistry(text: string): ParseResult<RegistryRef> {
  if (text.startsWith('/')) {
    const id = checkRegistryResourceId(text, 'the registry');
    return id.ok ? { ok: true, value: { kind: 'resourceId', ...id.value } } : id;
  }
  const scheme = /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\//.exec(text);
  if (scheme) {
    return {
      ok: false,
      error: `has a URL scheme; remove ${quote(scheme[0])} and give the login server alone`,
    };
  }
  if (/\s/.test(text))
    return { ok: false, error: 'contains whitespace; give one registry name, login server or resource ID' };
  if (text.includes('/')) {
    return {
      ok: false,
      error: `is the registry only, without a repository path; write ${quote(text.slice(0, text.indexOf('/')))} and put the repository in target-tags`,
    };
  }
  if (text.includes('.') || text.includes(':') || text.toLowerCase() === 'localhost') {
    // A login server is a registry host; check it with the reference grammar by parsing `host/x`.
    const ref = checkImageReference(`${text}/x`);
    if (!ref.ok) return { ok: false, error: ref.error };
    return { ok: true, value: { kind: 'loginServer', loginServer: text.toLowerCase() } };
  }
  if (!REGISTRY_NAME.test(text)) {
    return {
      ok: false,
      error: `is not a registry name (5-50 letters and digits); give the name (myregistry), the login server (myregistry.azurecr.io) or the resource ID`,
    };
  }
  return { ok: true, value: { kind: 'name', name: text } };
}

/** An ACR resource ID; the fixed segments are matched case-insensitively and returned in canonical casing. */
export function checkRegistryResourceId(
  text: string,
  what = 'the registry',
): ParseResult<RegistryResourceId> {
  const match = REGISTRY_ID.exec(text);
  if (!match) {
    return {
      ok: false,
      error: `is not a container registry resource ID; write ${quote(REGISTRY_ID_FORM)} (az acr show -n <name> --query id)`,
    };
  }
  const [, subscriptionId = '', resourceGroup = '', name = ''] = match;
  const errors: string[] = [];
  if (!GUID.test(subscriptionId)) errors.push(`its subscription ${quote(subscriptionId)} is not a GUID`);
  if (!RESOURCE_GROUP.test(resourceGroup) || resourceGroup.endsWith('.')) {
    errors.push(`its resource group ${quote(resourceGroup)} is not a valid name`);
  }
  if (!REGISTRY_NAME.test(name))
    errors.push(`its registry name ${quote(name)} is not 5-50 letters and digits`);
  if (errors.length > 0) {
    return {
      ok: false,
      error: `is not a valid resource ID of ${what}: ${errors.join('; ')}; copy the ID from az acr show -n <name> --query id`,
    };
  }
  return {
    ok: true,
    value: {
      resourceId: `/subscriptions/${subscriptionId}/resourceGroups/${resourceGroup}/providers/Microsoft.ContainerRegistry/registries/${name}`,
      subscriptionId: subscriptionId.toLowerCase(),
      resourceGroup,
      name,
    },
  };
}

function checkResourceGroup(text: string): ParseResult<string> {
  return RESOURCE_GROUP.test(text) && !text.endsWith('.')
    ? { ok: true, value: text }
    : {
        ok: false,
        error:
          "is not a resource group name: 1-90 letters, digits, '_', '-', '.', '(' or ')', not ending in '.'",
      };
}

function checkHttpsUrl(text: string): ParseResult<{ text: string; hostname: string }> {
  if (!URL.canParse(text))
    return { ok: false, error: "must be an https URL, e.g. 'https://management.azure.com'" };
  const url = new URL(text);
  if (url.protocol !== 'https:') {
    return {
      ok: false,
      error: `must use https (tokens are never sent in clear text); write ${quote(`https://${url.host}${url.pathname}`)}`,
    };
  }
  if (url.username !== '' || url.password !== '' || url.search !== '' || url.hash !== '') {
    return { ok: false, error: 'must be a plain https URL, without credentials, query or fragment' };
  }
  return {
    ok: true,
    value: { text: `${url.origin}${url.pathname}`.replace(/\/+$/, ''), hostname: url.hostname },
  };
}

const DURATION_PART = /(\d+)(ms|h|m|s)/g;
const DURATION = /^(?:\d+(?:ms|h|m|s))+$/;
const UNIT_MS: Readonly<Record<string, number>> = { h: 3600_000, m: 60_000, s: 1000, ms: 1 };

/** Durations like `90s`, `10m`, `1h30m`, `500ms`; a bare number means seconds. Returns milliseconds. */
export function parseDuration(text: string): number | undefined {
  const trimmed = text.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  if (!DURATION.test(trimmed)) return undefined;
  let total = 0;
  for (const [, amount, unit] of trimmed.matchAll(DURATION_PART))
    total += Number(amount) * (UNIT_MS[unit ?? 's'] ?? 0);
  return total;
}

function checkTimeout(text: string): ParseResult<number> {
  const ms = parseDuration(text);
  if (ms === undefined) {
    return {
      ok: false,
      error: "is not a duration; write e.g. '90s', '10m', '1h30m' or '500ms' (a bare number means seconds)",
    };
  }
  if (ms <= 0) return { ok: false, error: "must be more than zero; the default is '10m'" };
  if (ms > TIMEOUT_LIMIT_MS)
    return { ok: false, error: "must be at most '6h' (a job's own limit); the default is '10m'" };
  return { ok: true, value: ms };
}

function checkMaxParallel(text: string): ParseResult<number> {
  const n = /^\d+$/.test(text) ? Number(text) : NaN;
  return Number.isInteger(n) && n >= 1 && n <= MAX_PARALLEL_LIMIT
    ? { ok: true, value: n }
    : {
        ok: false,
        error: `must be a whole number from 1 to ${MAX_PARALLEL_LIMIT} (default ${DEFAULTS.maxParallel})`,
      };
}

function checkApiVersion(text: string): ParseResult<string> {
  const match = /^(\d{4})-(\d{2})-(\d{2})(?:-preview)?$/.exec(text);
  const month = Number(match?.[2]);
  const day = Number(match?.[3]);
  return match && month >= 1 && month <= 12 && day >= 1 && day <= 31
    ? { ok: true, value: text }
    : {
        ok: false,
        error: `must look like YYYY-MM-DD or YYYY-MM-DD-preview (default '${DEFAULTS.apiVersion}')`,
      };
}

export const KNOWN_OS = [
  'linux',
  'windows',
  'darwin',
  'freebsd',
  'netbsd',
  'openbsd',
  'dragonfly',
  'solaris',
  'illumos',
  'aix',
  'android',
  'ios',
  'plan9',
  'js',
  'wasip1',
] as const;
export const KNOWN_ARCHITECTURES = [
  'amd64',
  'arm64',
  'arm',
  '386',
  'ppc64le',
  'ppc64',
  's390x',
  'riscv64',
  'mips',
  'mipsle',
  'mips64',
  'mips64le',
  'loong64',
  'wasm',
] as const;
const ARCH_ALIASES: Readonly<Record<string, string>> = {
  x86_64: 'amd64',
  'x86-64': 'amd64',
  aarch64: 'arm64',
  armhf: 'arm',
  armel: 'arm',
  i386: '386',
  x86: '386',
};

/** `os/arch[/variant]`, e.g. `linux/amd64`, `linux/arm/v7`. */
export function checkPlatform(text: string): ParseResult<Platform> {
  const parts = text.split('/');
  const [os = '', architecture = '', variant] = parts;
  const form = "write 'os/arch' or 'os/arch/variant', e.g. 'linux/amd64' or 'linux/arm/v7'";
  if (parts.length < 2 || parts.length > 3 || parts.some((x) => x === '')) {
    return { ok: false, error: `is not a platform; ${form}` };
  }
  if (text !== text.toLowerCase())
    return { ok: false, error: `must be lowercase; write ${quote(text.toLowerCase())}` };
  if (!(KNOWN_OS as readonly string[]).includes(os)) {
    return { ok: false, error: `has an unknown os ${quote(os)}; use one of ${KNOWN_OS.join(', ')}` };
  }
  const alias = ARCH_ALIASES[architecture];
  if (alias !== undefined) {
    return {
      ok: false,
      error: `uses ${quote(architecture)}; registries call it ${quote(alias)}: write ${quote(`${os}/${alias}${variant ? `/${variant}` : ''}`)}`,
    };
  }
  if (!(KNOWN_ARCHITECTURES as readonly string[]).includes(architecture)) {
    return {
      ok: false,
      error: `has an unknown architecture ${quote(architecture)}; use one of ${KNOWN_ARCHITECTURES.join(', ')}`,
    };
  }
  if (variant !== undefined && !/^[a-z0-9]+$/.test(variant)) {
    return { ok: false, error: `has an invalid variant ${quote(variant)}; write e.g. 'v7' or 'v8'` };
  }
  return { ok: true, value: { os, architecture, ...(variant !== undefined && { variant }) } };
}

/** `os/arch[/variant]`. */
export function formatPlatform(platform: Platform): string {
  return [platform.os, platform.architecture, platform.variant].filter((x) => x !== undefined).join('/');
}
