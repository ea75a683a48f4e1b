/**
 * parseConfig: raw string inputs (the Action's `with:`, the CLI's flags, the Pipelines task's inputs) to one typed
 * `ImportConfig`, with the rules that span inputs (sign-in needs, source credentials, the cloud). Every problem is
 * reported together in one `InputError`, each naming the input, the bad value (secrets as `***`) and the fix.
 */
import { NEUTRAL_WORDING, type HostWording } from '../ports.js';
import { checkReferrers } from './referrers.js';
import { CLOUDS, MICROSOFT_AUTHORITY_HOSTS, type CloudName, type CloudSettings } from './clouds.js';
import { collectImages } from './images.js';
import {
  AUTH_MODES,
  DEFAULTS,
  ENV_FALLBACKS,
  INPUTS,
  SECRET_INPUTS,
  type AuthMode,
  type ConfigPorts,
  type ImageSpec,
  type ImportConfig,
  type InputName,
  type RawInputs,
  type RegistryRef,
} from './model.js';
import { Problems } from './problems.js';
import { checkDigest } from '../reference.js';
import {
  checkApiVersion,
  checkGuid,
  checkHttpsUrl,
  checkMaxParallel,
  checkPlatform,
  checkRegistry,
  checkRegistryResourceId,
  checkResourceGroup,
  checkTimeout,
  parseBoolean,
} from './rules.js';

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
  const sourceRegistryName = ports.sourceRegistryName;
  const hostless = sourceRegistryText !== undefined || sourceRegistryName !== undefined;

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
    ...(sourceRegistryName !== undefined && { sourceRegistryName }),
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
