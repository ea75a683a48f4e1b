import { describe, expect, it } from '@jest/globals';
import { CLOUDS } from '../../src/engine/config/clouds.js';
import {
  DEFAULTS,
  INPUTS,
  SECRET_INPUTS,
  type ConfigPorts,
  type ImportConfig,
  type RawInputs,
} from '../../src/engine/config/model.js';
import { parseConfig } from '../../src/engine/config/parse.js';
import { loadYaml } from '../../src/engine/config/yaml.js';
import { parseDuration } from '../../src/engine/config/rules.js';
import { InputError, type InputProblem } from '../../src/engine/errors.js';

// parseConfig reads an images-file with the YAML parser, which hosts load first (common/runner.ts).
await loadYaml();

const SUB = '11111111-2222-3333-4444-555555555555';
const TENANT = 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee';
const CLIENT = '99999999-8888-7777-6666-555555555555';
const D = `sha256:${'ab'.repeat(32)}`;
const D2 = `sha256:${'cd'.repeat(32)}`;
const ID = `/subscriptions/${SUB}/resourceGroups/rg-1/providers/Microsoft.ContainerRegistry/registries/sourceacr`;
const SECRET = 'sUp3r-s3cret-value';

/** Minimal valid inputs; each case adds or overrides. */
const BASE: RawInputs = { registry: 'myregistry', 'subscription-id': SUB, source: 'nginx:1.27' };

function files(map: Record<string, string>): (path: string) => string {
  return (path) => {
    const text = map[path];
    if (text === undefined) throw new Error(`ENOENT: no such file or directory, open '${path}'`);
    return text;
  };
}

function config(raw: RawInputs, ports: ConfigPorts = {}): ImportConfig {
  return parseConfig({ ...BASE, ...raw }, ports);
}

function problems(raw: RawInputs, ports: ConfigPorts = {}): readonly InputProblem[] {
  try {
    parseConfig({ ...BASE, ...raw }, ports);
  } catch (err) {
    if (err instanceof InputError) return err.problems;
    throw err;
  }
  throw new Error(`expected an InputError for ${JSON.stringify(raw)}`);
}

describe('parseConfig: good inputs', () => {
  it('applies every default', () => {
    const c = config({});
    expect(c).toEqual({
      target: { kind: 'name', name: 'myregistry' },
      subscriptionId: SUB,
      auth: 'auto',
      audience: 'api://AzureADTokenExchange',
      cloud: CLOUDS.AzureCloud,
      images: [
        {
          origin: 'source',
          source: { registry: 'docker.io', repository: 'library/nginx', tag: '1.27' },
          sourceText: 'nginx:1.27',
          targets: [{ repository: 'library/nginx', tag: '1.27' }],
          untaggedRepositories: [],
        },
      ],
      force: false,
      pinDigest: true,
      wait: true,
      timeoutMs: 600_000,
      apiVersion: '2025-04-01',
      maxParallel: 8,
      dryRun: false,
      locked: false,
      referrers: 'none',
    });
    expect(DEFAULTS.timeoutMs).toBe(parseDuration(DEFAULTS.timeout));
  });

  it('treats empty strings as not given and trims values', () => {
    const c = config({ registry: '  myregistry  ', 'resource-group': '', timeout: ' ', auth: '' });
    expect(c.target).toEqual({ kind: 'name', name: 'myregistry' });
    expect(c.resourceGroup).toBeUndefined();
    expect(c.timeoutMs).toBe(600_000);
  });

  it.each([
    ['MyRegistry.AzureCR.io', { kind: 'loginServer', loginServer: 'myregistry.azurecr.io' }],
    ['myregistry-abc123.azurecr.io', { kind: 'loginServer', loginServer: 'myregistry-abc123.azurecr.io' }],
    ['127.0.0.1:8443', { kind: 'loginServer', loginServer: '127.0.0.1:8443' }],
    ['localhost:8443', { kind: 'loginServer', loginServer: 'localhost:8443' }],
    [
      `/SUBSCRIPTIONS/${SUB}/resourcegroups/My-RG/PROVIDERS/microsoft.containerregistry/REGISTRIES/myRegistry/`,
      {
        kind: 'resourceId',
        resourceId: `/subscriptions/${SUB}/resourceGroups/My-RG/providers/Microsoft.ContainerRegistry/registries/myRegistry`,
        subscriptionId: SUB,
        resourceGroup: 'My-RG',
        name: 'myRegistry',
      },
    ],
  ])('registry %s', (registry, expected) => {
    expect(config({ registry }).target).toEqual(expected);
  });

  it('takes the subscription from a registry resource ID when none is given', () => {
    const c = parseConfig({ registry: ID.replace('sourceacr', 'targetacr'), source: 'nginx' });
    expect(c.subscriptionId).toBe(SUB);
  });

  it('falls back to AZURE_SUBSCRIPTION_ID, AZURE_TENANT_ID and AZURE_CLIENT_ID', () => {
    const c = parseConfig(
      { registry: 'myregistry', source: 'nginx', auth: 'oidc' },
      { env: { AZURE_SUBSCRIPTION_ID: SUB.toUpperCase(), AZURE_TENANT_ID: TENANT, AZURE_CLIENT_ID: CLIENT } },
    );
    expect([c.subscriptionId, c.tenantId, c.clientId]).toEqual([SUB, TENANT, CLIENT]);
    // An input wins over the environment.
    const other = '00000000-0000-0000-0000-000000000001';
    expect(config({ 'tenant-id': other }, { env: { AZURE_TENANT_ID: TENANT } }).tenantId).toBe(other);
  });

  it('reads client-secret mode', () => {
    const c = config({
      auth: 'Client-Secret',
      'client-id': CLIENT,
      'tenant-id': TENANT,
      'client-secret': SECRET,
    });
    expect([c.auth, c.clientSecret]).toEqual(['client-secret', SECRET]);
  });

  it.each([
    ['azureusgovernment', CLOUDS.AzureUSGovernment],
    ['AzureChinaCloud', CLOUDS.AzureChinaCloud],
  ])('environment %s', (environment, cloud) => {
    expect(config({ environment }).cloud).toEqual(cloud);
  });

  it('overrides the ARM endpoint and authority host', () => {
    const c = config({
      'resource-manager-endpoint': 'https://127.0.0.1:8443/',
      'authority-host': 'https://127.0.0.1:8444',
    });
    expect(c.cloud).toEqual({
      ...CLOUDS.AzureCloud,
      armEndpoint: 'https://127.0.0.1:8443',
      armScope: 'https://127.0.0.1:8443/.default',
      authorityHost: 'https://127.0.0.1:8444',
      disableInstanceDiscovery: true,
      // The token audience is read from the ARM's /metadata/endpoints at run time (cloud.ts).
      discoverMetadata: true,
      authorityGiven: true,
    });
    expect(
      config({ 'authority-host': 'https://login.microsoftonline.us/' }).cloud.disableInstanceDiscovery,
    ).toBe(false);
  });

  it.each([
    ['90s', 90_000],
    ['10m', 600_000],
    ['1h30m', 5_400_000],
    ['500ms', 500],
    ['2m30s', 150_000],
    ['45', 45_000],
    ['6h', 21_600_000],
  ])('timeout %s = %d ms', (timeout, ms) => {
    expect(config({ timeout }).timeoutMs).toBe(ms);
  });

  it('reads booleans case-insensitively and the other scalars', () => {
    const c = config({
      force: 'TRUE',
      'pin-digest': 'False',
      wait: 'false',
      'dry-run': 'true',
      'max-parallel': '64',
      'api-version': '2025-05-01-preview',
      audience: 'api://custom',
      'lock-file': 'images.lock.json',
      locked: 'true',
      'resource-group': 'rg_1.(x)',
    });
    expect([c.force, c.pinDigest, c.wait, c.dryRun, c.locked]).toEqual([true, false, false, true, true]);
    expect([c.maxParallel, c.apiVersion, c.audience, c.lockFile, c.resourceGroup]).toEqual([
      64,
      '2025-05-01-preview',
      'api://custom',
      'images.lock.json',
      'rg_1.(x)',
    ]);
  });

  it('parses target-tags and untagged-repositories lists; a target without a tag takes the source tag', () => {
    const c = config({
      'target-tags': 'apps/web, apps/web:stable\n\n apps/web:stable ,mirror/nginx:1.27',
      'untagged-repositories': 'archive/nginx\narchive/nginx',
    });
    expect(c.images[0]!.targets).toEqual([
      { repository: 'apps/web', tag: '1.27' },
      { repository: 'apps/web', tag: 'stable' },
      { repository: 'mirror/nginx', tag: '1.27' },
    ]);
    expect(c.images[0]!.untaggedRepositories).toEqual(['archive/nginx']);
  });

  it('only untagged-repositories: no default tag is added', () => {
    const c = config({ 'untagged-repositories': 'archive/nginx' });
    expect(c.images[0]!.targets).toEqual([]);
  });

  it('digest-only source: lands untagged in its own repository unless a target tag is given', () => {
    const c = config({ source: `ghcr.io/o/app@${D}` });
    expect(c.images[0]!.targets).toEqual([]);
    expect(c.images[0]!.untaggedRepositories).toEqual(['o/app']);
    expect(config({ source: `ghcr.io/o/app@${D}`, 'target-tags': 'app:v1' }).images[0]!.targets).toEqual([
      { repository: 'app', tag: 'v1' },
    ]);
  });

  it('repo:tag@digest: the digest is imported and the tag is the default target tag', () => {
    const image = config({ source: `ghcr.io/o/app:v2@${D}` }).images[0]!;
    expect(image.source).toEqual({ registry: 'ghcr.io', repository: 'o/app', tag: 'v2', digest: D });
    expect(image.targets).toEqual([{ repository: 'o/app', tag: 'v2' }]);
  });

  it('source-registry-resource-id makes the source host-less', () => {
    const c = config({ 'source-registry-resource-id': ID, source: 'team/app:1' });
    expect(c.sourceRegistryResourceId).toEqual({
      resourceId: ID,
      subscriptionId: SUB,
      resourceGroup: 'rg-1',
      name: 'sourceacr',
    });
    expect(c.images[0]!.source).toEqual({ repository: 'team/app', tag: '1' });
  });

  it('source credentials and a source federation', () => {
    expect(config({ 'source-username': 'bot', 'source-password': SECRET }).sourceCredentials).toEqual({
      username: 'bot',
      password: SECRET,
    });
    expect(
      config({ source: 'other.azurecr.io/app:1', 'source-tenant-id': TENANT, 'source-client-id': CLIENT })
        .sourceFederation,
    ).toEqual({ tenantId: TENANT, clientId: CLIENT });
  });

  it('platform and expected-digest apply to the image', () => {
    const image = config({ platform: 'linux/arm/v7', 'expected-digest': D }).images[0]!;
    expect(image.platform).toEqual({ os: 'linux', architecture: 'arm', variant: 'v7' });
    expect(image.expectedDigest).toBe(D);
  });

  it('images: one import per line, comments and blank lines allowed', () => {
    const c = config({
      source: '',
      platform: 'linux/amd64',
      images: [
        '# mirrors',
        'nginx:1.27',
        '',
        'ghcr.io/o/app:v1 -> apps/app:v1, apps/app:stable   # promoted',
        `  mcr.microsoft.com/dotnet/runtime@${D} -> dotnet/runtime:9.0`,
      ].join('\n'),
    });
    expect(c.images.map((i) => [i.origin, i.targets, i.platform])).toEqual([
      [
        'images line 2',
        [{ repository: 'library/nginx', tag: '1.27' }],
        { os: 'linux', architecture: 'amd64' },
      ],
      [
        'images line 4',
        [
          { repository: 'apps/app', tag: 'v1' },
          { repository: 'apps/app', tag: 'stable' },
        ],
        { os: 'linux', architecture: 'amd64' },
      ],
      [
        'images line 5',
        [{ repository: 'dotnet/runtime', tag: '9.0' }],
        { os: 'linux', architecture: 'amd64' },
      ],
    ]);
  });

  it('images-file in YAML, with per-image options', () => {
    const yaml = [
      '# promoted images',
      '- source: nginx:1.27',
      '- source: ghcr.io/o/app:v1',
      '  targets: [apps/app:v1, apps/app:stable]',
      '  untagged-repositories:',
      '    - archive/app',
      '  platform: linux/arm64',
      `  expected-digest: "${D}"`,
      '- source: ghcr.io/o/tool:2',
      '  targets: tools/tool',
    ].join('\n');
    const c = config(
      { source: '', 'images-file': 'images.yml', platform: 'linux/amd64' },
      { readFile: files({ 'images.yml': yaml }) },
    );
    expect(c.images).toEqual([
      {
        origin: 'images-file entry 1 (line 2)',
        source: { registry: 'docker.io', repository: 'library/nginx', tag: '1.27' },
        sourceText: 'nginx:1.27',
        targets: [{ repository: 'library/nginx', tag: '1.27' }],
        untaggedRepositories: [],
        platform: { os: 'linux', architecture: 'amd64' },
      },
      {
        origin: 'images-file entry 2 (line 3)',
        source: { registry: 'ghcr.io', repository: 'o/app', tag: 'v1' },
        sourceText: 'ghcr.io/o/app:v1',
        targets: [
          { repository: 'apps/app', tag: 'v1' },
          { repository: 'apps/app', tag: 'stable' },
        ],
        untaggedRepositories: ['archive/app'],
        platform: { os: 'linux', architecture: 'arm64' },
        expectedDigest: D,
      },
      {
        origin: 'images-file entry 3 (line 9)',
        source: { registry: 'ghcr.io', repository: 'o/tool', tag: '2' },
        sourceText: 'ghcr.io/o/tool:2',
        targets: [{ repository: 'tools/tool', tag: '2' }],
        untaggedRepositories: [],
        platform: { os: 'linux', architecture: 'amd64' },
      },
    ]);
  });

  it('images-file in JSON, as {images: [...]}', () => {
    const json = JSON.stringify(
      { images: [{ source: 'nginx:1' }, { source: 'redis:7', targets: ['cache/redis:7'] }] },
      null,
      '\t',
    );
    const c = config(
      { source: '', 'images-file': 'images.json' },
      { readFile: files({ 'images.json': json }) },
    );
    expect(c.images.map((i) => i.targets)).toEqual([
      [{ repository: 'library/nginx', tag: '1' }],
      [{ repository: 'cache/redis', tag: '7' }],
    ]);
  });

  it('images-file: each entry may expect its own digest', () => {
    const yaml = `- source: a:1\n  expected-digest: ${D}\n- source: b:1\n  expected-digest: ${D2}\n`;
    const c = config({ source: '', 'images-file': 'f.yml' }, { readFile: files({ 'f.yml': yaml }) });
    expect(c.images.map((i) => i.expectedDigest)).toEqual([D, D2]);
  });

  it('images-file: an entry with a bad field still has its source and targets checked', () => {
    const yaml = '- source: Redis\n  platform: linux/sparc\n  targets: [Cache:1]\n';
    const found = problems({ source: '', 'images-file': 'f.yml' }, { readFile: files({ 'f.yml': yaml }) });
    expect(found.map((p) => p.message)).toEqual([
      expect.stringContaining("'platform' has an unknown architecture"),
      expect.stringContaining("use lowercase: 'redis'"),
      expect.stringContaining("use lowercase: 'cache'"),
    ]);
  });

  it('dry-run with wait false is fine', () => {
    const c = config({ 'dry-run': 'true', wait: 'false' });
    expect([c.dryRun, c.wait]).toEqual([true, false]);
  });

  it('names the secret inputs', () => {
    expect(SECRET_INPUTS).toEqual([INPUTS.clientSecret, INPUTS.sourcePassword]);
    expect(Object.values(INPUTS)).toHaveLength(33);
  });
});

describe('parseConfig: bad inputs are each named, shown and given a fix', () => {
  const IMAGES_FILE = 'images.yml';
  type Case = [title: string, raw: RawInputs, input: string, message: RegExp, ports?: ConfigPorts];
  const file = (text: string): ConfigPorts => ({ readFile: files({ [IMAGES_FILE]: text }) });
  const viaFile = { source: '', 'images-file': IMAGES_FILE };
  const cases: Case[] = [
    ['registry missing', { registry: '' }, 'registry', /is required: the target registry's name/],
    ['registry too short', { registry: 'ab' }, 'registry', /5-50 letters and digits\); give the name/],
    ['registry with a dash', { registry: 'my-registry' }, 'registry', /not a registry name/],
    ['registry with scheme', { registry: 'https://myacr.azurecr.io' }, 'registry', /remove 'https:\/\/'/],
    [
      'registry with path',
      { registry: 'myacr.azurecr.io/app' },
      'registry',
      /write 'myacr.azurecr.io' and put the repository in target-tags/,
    ],
    ['registry bad port', { registry: 'myacr.azurecr.io:99999' }, 'registry', /out of range; use 1-65535/],
    [
      'registry ID with bad subscription',
      { registry: ID.replace(SUB, 'not-a-guid') },
      'registry',
      /subscription 'not-a-guid' is not a GUID/,
    ],
    [
      'registry ID of another resource type',
      { registry: `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/x` },
      'registry',
      /not a container registry resource ID; write '\/subscriptions\/<subscription-id>/,
    ],
    [
      'registry ID bad name',
      { registry: ID.replace('sourceacr', 'src-acr') },
      'registry',
      /registry name 'src-acr' is not 5-50/,
    ],
    [
      'subscription-id not a GUID',
      { 'subscription-id': 'my-sub' },
      'subscription-id',
      /must be a GUID like 0000/,
    ],
    [
      'subscription-id missing',
      { 'subscription-id': '' },
      'subscription-id',
      /is required: set subscription-id \(or AZURE_SUBSCRIPTION_ID\)/,
    ],
    [
      'AZURE_SUBSCRIPTION_ID not a GUID',
      { 'subscription-id': '' },
      'subscription-id',
      /AZURE_SUBSCRIPTION_ID \(the fallback for subscription-id\) must be a GUID/,
      { env: { AZURE_SUBSCRIPTION_ID: 'nope' } },
    ],
    ['tenant-id not a GUID', { 'tenant-id': 'contoso' }, 'tenant-id', /must be a GUID/],
    ['client-id not a GUID', { 'client-id': '1234' }, 'client-id', /must be a GUID/],
    [
      'resource-group bad name',
      { 'resource-group': 'rg/x' },
      'resource-group',
      /not a resource group name: 1-90/,
    ],
    ['resource-group ends with a dot', { 'resource-group': 'rg.' }, 'resource-group', /not ending in '.'/],
    [
      'resource-group differs from the ID',
      { registry: ID, 'resource-group': 'other' },
      'resource-group',
      /differs from the resource group 'rg-1'.*remove resource-group/,
    ],
    [
      'auth unknown',
      { auth: 'password' },
      'auth',
      /must be one of auto, oidc, client-secret, managed-identity, azure-cli/,
    ],
    [
      'client-secret mode without secret',
      { auth: 'client-secret', 'client-id': CLIENT, 'tenant-id': TENANT },
      'client-secret',
      /is required with auth 'client-secret'/,
    ],
    [
      'client-secret mode without client-id',
      { auth: 'client-secret', 'client-secret': SECRET, 'tenant-id': TENANT },
      'client-id',
      /is required with auth 'client-secret'.*AZURE_CLIENT_ID/,
    ],
    [
      'oidc without tenant-id',
      { auth: 'oidc', 'client-id': CLIENT },
      'tenant-id',
      /is required with auth 'oidc'.*AZURE_TENANT_ID/,
    ],
    [
      'auto with a secret but no client-id',
      { 'client-secret': SECRET, 'tenant-id': TENANT },
      'client-id',
      /is required when client-secret is given/,
    ],
    [
      'client-secret with azure-cli',
      { auth: 'azure-cli', 'client-secret': SECRET },
      'client-secret',
      /is not used with auth 'azure-cli'; remove it/,
    ],
    ['audience with whitespace', { audience: 'api://a b' }, 'audience', /must not contain whitespace/],
    [
      'environment unknown',
      { environment: 'AzureGermanCloud' },
      'environment',
      /must be one of AzureCloud, AzureUSGovernment, AzureChinaCloud/,
    ],
    [
      'resource-manager-endpoint over http',
      { 'resource-manager-endpoint': 'http://127.0.0.1:8443' },
      'resource-manager-endpoint',
      /must use https.*write 'https:\/\/127.0.0.1:8443\/'/,
    ],
    [
      'authority-host not a URL',
      { 'authority-host': 'login.example' },
      'authority-host',
      /must be an https URL/,
    ],
    [
      'authority-host with query',
      { 'authority-host': 'https://login.example/?x=1' },
      'authority-host',
      /without credentials, query or fragment/,
    ],
    ['source missing', { source: '' }, 'source', /is required: the image to import/],
    ['source upper case', { source: 'Nginx:1' }, 'source', /use lowercase: 'nginx'/],
    [
      'source truncated digest',
      { source: 'nginx@sha256:abc' },
      'source',
      /must have 64 hex characters \(it has 3\)/,
    ],
    [
      'source unknown digest algorithm',
      { source: `nginx@md5:${'a'.repeat(32)}` },
      'source',
      /'md5' is not supported; use sha256/,
    ],
    ['source tag too long', { source: `nginx:${'a'.repeat(129)}` }, 'source', /longer than 128 characters/],
    ['source over-long name', { source: `ghcr.io/${'a'.repeat(250)}` }, 'source', /the limit is 255/],
    ['source bad port', { source: 'localhost:99999/app' }, 'source', /out of range; use 1-65535/],
    ['source whitespace inside', { source: 'nginx 1.27' }, 'source', /contains whitespace/],
    [
      'source with images',
      { images: 'redis:7' },
      'images',
      /conflicts with source: give the images in one of source, images or images-file/,
    ],
    [
      'images with images-file',
      { source: '', images: 'redis:7', 'images-file': 'x.yml' },
      'images-file',
      /conflicts with images/,
    ],
    [
      'target-tags with a host',
      { 'target-tags': 'myregistry.azurecr.io/app:1' },
      'target-tags',
      /registry host; a target names only the repository and tag .*'app:1'/,
    ],
    ['target-tags with a digest', { 'target-tags': `app@${D}` }, 'target-tags', /cannot carry a digest/],
    ['target-tags bad tag', { 'target-tags': 'app:-1' }, 'target-tags', /tag '-1' is not valid/],
    [
      'target-tags without tag for a digest-only source',
      { source: `ghcr.io/o/app@${D}`, 'target-tags': 'app' },
      'target-tags',
      /has no tag and the source is pinned by digest only.*'app:<tag>'/,
    ],
    [
      'untagged-repositories with a tag',
      { 'untagged-repositories': 'archive/app:1' },
      'untagged-repositories',
      /no tag or digest here; write only the path, e.g. 'archive\/app'/,
    ],
    [
      'target-tags with images',
      { source: '', images: 'redis:7', 'target-tags': 'x:1' },
      'target-tags',
      /applies to source only; with images write the targets per image \('SOURCE -> TARGET, ...'\)/,
    ],
    [
      'source-registry-resource-id malformed',
      { 'source-registry-resource-id': '/subscriptions/x/resourceGroups/rg' },
      'source-registry-resource-id',
      /not a container registry resource ID/,
    ],
    [
      'source host with source-registry-resource-id',
      { 'source-registry-resource-id': ID, source: 'sourceacr.azurecr.io/app:1' },
      'source',
      /names the registry host 'sourceacr.azurecr.io', but source-registry-resource-id already names the source registry; write only 'app:1'/,
    ],
    [
      'source-username without password',
      { 'source-username': 'bot' },
      'source-username',
      /needs source-password as well/,
    ],
    [
      'source-password without username',
      { 'source-password': SECRET },
      'source-password',
      /needs source-username as well/,
    ],
    [
      'source-tenant-id without client id',
      { 'source-tenant-id': TENANT },
      'source-client-id',
      /is required with source-tenant-id/,
    ],
    [
      'source-client-id without tenant id',
      { 'source-client-id': CLIENT },
      'source-tenant-id',
      /is required with source-client-id/,
    ],
    [
      'source-tenant-id not a GUID',
      { 'source-tenant-id': 'x', 'source-client-id': CLIENT },
      'source-tenant-id',
      /must be a GUID/,
    ],
    [
      'source federation with a password',
      {
        'source-tenant-id': TENANT,
        'source-client-id': CLIENT,
        'source-username': 'u',
        'source-password': SECRET,
      },
      'source-password',
      /conflicts with source-tenant-id\/source-client-id/,
    ],
    [
      'credentials with source-registry-resource-id',
      {
        'source-registry-resource-id': ID,
        source: 'app:1',
        'source-username': 'u',
        'source-password': SECRET,
      },
      'source-username',
      /not used with source-registry-resource-id/,
    ],
    [
      'credentials for several registries',
      {
        source: '',
        images: 'ghcr.io/o/a:1\nquay.io/o/b:1',
        'source-username': 'u',
        'source-password': SECRET,
      },
      'source-username',
      /belong to one registry, but the images come from ghcr.io, quay.io/,
    ],
    ['force not a boolean', { force: 'yes' }, 'force', /must be 'true' or 'false' \(default 'false'\)/],
    ['wait not a boolean', { wait: '1' }, 'wait', /must be 'true' or 'false' \(default 'true'\)/],
    ['pin-digest not a boolean', { 'pin-digest': 'on' }, 'pin-digest', /must be 'true', 'false' or 'strict'/],
    ['dry-run not a boolean', { 'dry-run': 'maybe' }, 'dry-run', /must be 'true' or 'false'/],
    [
      'timeout unit unknown',
      { timeout: '10x' },
      'timeout',
      /not a duration; write e.g. '90s', '10m', '1h30m'/,
    ],
    ['timeout negative', { timeout: '-5s' }, 'timeout', /not a duration/],
    ['timeout zero', { timeout: '0s' }, 'timeout', /must be more than zero/],
    ['timeout too long', { timeout: '7h' }, 'timeout', /must be at most '6h'/],
    ['timeout decimal', { timeout: '1.5h' }, 'timeout', /not a duration/],
    ['max-parallel zero', { 'max-parallel': '0' }, 'max-parallel', /whole number from 1 to 64 \(default 8\)/],
    ['max-parallel too big', { 'max-parallel': '65' }, 'max-parallel', /from 1 to 64/],
    ['max-parallel not a number', { 'max-parallel': 'many' }, 'max-parallel', /from 1 to 64/],
    [
      'api-version malformed',
      { 'api-version': '2025-4-1' },
      'api-version',
      /YYYY-MM-DD or YYYY-MM-DD-preview \(default '2025-04-01'\)/,
    ],
    ['api-version bad month', { 'api-version': '2025-13-01' }, 'api-version', /YYYY-MM-DD/],
    ['platform without arch', { platform: 'linux' }, 'platform', /write 'os\/arch' or 'os\/arch\/variant'/],
    [
      'platform alias',
      { platform: 'linux/x86_64' },
      'platform',
      /registries call it 'amd64': write 'linux\/amd64'/,
    ],
    ['platform unknown os', { platform: 'plan10/amd64' }, 'platform', /unknown os 'plan10'/],
    ['platform unknown arch', { platform: 'linux/sparc' }, 'platform', /unknown architecture 'sparc'/],
    [
      'platform upper case',
      { platform: 'Linux/AMD64' },
      'platform',
      /must be lowercase; write 'linux\/amd64'/,
    ],
    [
      'expected-digest truncated',
      { 'expected-digest': 'sha256:xyz' },
      'expected-digest',
      /only hex characters/,
    ],
    [
      'expected-digest with several images',
      { source: '', images: 'a:1\nb:1', 'expected-digest': D },
      'expected-digest',
      /applies to one image, but 2 are listed; set expected-digest per entry in images-file/,
    ],
    ['locked without lock-file', { locked: 'true' }, 'locked', /needs lock-file/],
    [
      'images line with two arrows',
      { source: '', images: '# x\na -> b -> c' },
      'images line 2',
      /more than one '->'/,
    ],
    [
      'images line without source',
      { source: '', images: '-> app:1' },
      'images line 1',
      /no source before '->'/,
    ],
    [
      'images line without target',
      { source: '', images: 'nginx ->' },
      'images line 1',
      /no target after '->'/,
    ],
    [
      'images line upper case',
      { source: '', images: 'nginx\n\nNginx:2' },
      'images line 3',
      /use lowercase: 'nginx'/,
    ],
    [
      'images line target with host',
      { source: '', images: 'nginx -> myacr.azurecr.io/nginx:1' },
      'images line 1',
      /a target names only the repository and tag/,
    ],
    ['images only comments', { source: '', images: '# nothing\n\n' }, 'images', /lists no image/],
    [
      'images duplicate target',
      { source: '', images: 'nginx:1 -> web:1\nhttpd:2 -> web:1' },
      'images line 2',
      /target 'web:1' is also written by images line 1/,
    ],
    [
      'images-file unreadable',
      { ...viaFile, 'images-file': 'missing.yml' },
      'images-file',
      /cannot be read \(ENOENT.*relative to the workspace/,
      file(''),
    ],
    [
      'images-file invalid YAML',
      viaFile,
      'images-file line 2',
      /is not valid YAML or JSON/,
      file('- source: nginx\n  targets: a: b\n'),
    ],
    [
      'images-file invalid JSON',
      viaFile,
      'images-file line 1',
      /is not valid YAML or JSON/,
      file('{"images": [{"source": "nginx"},]'),
    ],
    ['images-file not a list', viaFile, 'images-file', /must hold a list of images/, file('images: nginx\n')],
    ['images-file empty list', viaFile, 'images-file', /lists no image/, file('images: []\n')],
    [
      'images-file unknown top-level key',
      viaFile,
      'images-file (line 3)',
      /unknown top-level key/,
      file('images:\n  - source: nginx\nversion: 2\n'),
    ],
    [
      'images-file unknown key',
      viaFile,
      'images-file entry 2 (line 2)',
      /unknown key 'tags'; the keys are source, targets/,
      file('- source: a\n- source: b\n  tags: [x]\n'),
    ],
    [
      'images-file entry without source',
      viaFile,
      'images-file entry 1 (line 1)',
      /needs 'source'/,
      file('- targets: [x:1]\n'),
    ],
    [
      'images-file entry not a mapping',
      viaFile,
      'images-file entry 1 (line 1)',
      /must be a mapping with at least 'source'/,
      file('- nginx:1.27\n'),
    ],
    [
      'images-file targets not a list',
      viaFile,
      'images-file entry 1 (line 1)',
      /'targets' must be a list of strings/,
      file('- source: nginx\n  targets: {a: 1}\n'),
    ],
    [
      'images-file bad platform',
      viaFile,
      'images-file entry 1 (line 1)',
      /'platform' has an unknown architecture 'sparc'/,
      file('- source: nginx\n  platform: linux/sparc\n'),
    ],
    [
      'images-file bad expected-digest',
      viaFile,
      'images-file entry 1 (line 1)',
      /'expected-digest' digest 'sha256:1' must have 64 hex/,
      file('- source: nginx\n  expected-digest: sha256:1\n'),
    ],
    [
      'images-file bad source',
      viaFile,
      'images-file entry 2 (line 3)',
      /use lowercase: 'redis'/,
      file('- source: nginx\n\n- source: Redis\n'),
    ],
  ];

  it('has at least 40 cases', () => {
    expect(cases.length).toBeGreaterThanOrEqual(40);
  });

  // Rows are padded to five: Jest takes a test function with more parameters than its row for a `done` callback.
  it.each(cases.map(([title, raw, input, message, ports]) => [title, raw, input, message, ports] as const))(
    '%s',
    (_title, raw, input, message, ports) => {
      const found = problems(raw, ports);
      const named = found.filter((p) => p.input === input);
      if (named.length === 0)
        throw new Error(`no problem for '${input}'; got ${JSON.stringify(found, null, 2)}`);
      expect(named.map((p) => p.message)).toContainEqual(expect.stringMatching(message));
    },
  );

  it('shows the bad value', () => {
    expect(problems({ timeout: '10x' })).toEqual([
      { input: 'timeout', value: '10x', message: expect.any(String) },
    ]);
  });

  it('reports every problem at once', () => {
    const found = problems({
      registry: 'ab',
      auth: 'nope',
      timeout: '0',
      source: 'Nginx',
      'max-parallel': '0',
    });
    expect(found.map((p) => p.input)).toEqual(['registry', 'auth', 'source', 'timeout', 'max-parallel']);
    expect(() => parseConfig({ ...BASE, registry: 'ab', auth: 'nope' })).toThrow(
      /^2 invalid inputs:\n- registry: /,
    );
  });

  it('never shows a secret', () => {
    for (const raw of [
      { 'source-password': SECRET },
      { auth: 'azure-cli', 'client-secret': SECRET },
      {
        'source-tenant-id': TENANT,
        'source-client-id': CLIENT,
        'source-username': 'u',
        'source-password': SECRET,
      },
    ]) {
      let caught: unknown;
      try {
        parseConfig({ ...BASE, ...raw });
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(InputError);
      const error = caught as InputError;
      expect(`${error.message}\n${JSON.stringify(error.problems)}`).not.toContain(SECRET);
      expect(error.problems.some((p) => p.value === '***')).toBe(true);
    }
  });
});
