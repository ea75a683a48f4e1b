/** `acr-import --help`: usage, every flag (from the flag table), examples and exit codes. */
import { VERSION } from '../../engine/index.js';
import { FLAGS, type Flag, type FlagGroup } from './flags.js';

const GROUPS: { group: FlagGroup; title: string }[] = [
  { group: 'target', title: 'Target registry' },
  { group: 'source', title: 'What to import' },
  { group: 'sign-in', title: 'Signing in and cloud' },
  { group: 'behaviour', title: 'Behaviour' },
  { group: 'files', title: 'Files' },
  { group: 'output', title: 'Output' },
];

export const EXIT_CODES: readonly { code: number; meaning: string }[] = [
  { code: 0, meaning: 'every image is done (imported, updated, unchanged, planned or submitted)' },
  { code: 1, meaning: 'at least one image failed' },
  { code: 2, meaning: 'bad input: nothing was sent; every problem is listed, naming the flag' },
  { code: 3, meaning: 'signing in failed, or the identity lacks a permission' },
];

export function flagUsage(f: Flag): string {
  const names = `${f.short ? `-${f.short}, ` : '    '}--${f.long}`;
  return f.type === 'boolean' ? names : `${names} ${f.meta ?? 'VALUE'}`;
}

export function helpText(): string {
  const lines = [
    `acr-import ${VERSION}: import container images and OCI artifacts into Azure Container Registry, server side,`,
    'pinned by digest. Drop-in for `az acr import`: the same flags, no Azure CLI needed.',
    '',
    'Usage: acr-import --name REGISTRY --source IMAGE [flags]',
    '       acr-import --name REGISTRY --images-file FILE [flags]',
    '',
  ];
  for (const { group, title } of GROUPS) {
    lines.push(`${title}:`);
    for (const f of FLAGS.filter((x) => x.group === group)) {
      const notes = [
        f.required ? 'required' : '',
        f.default ? `default: ${f.default}` : '',
        f.multiple ? 'repeatable' : '',
        f.az ? 'az' : '',
      ].filter(Boolean);
      const usage = flagUsage(f);
      lines.push(`  ${usage.padEnd(38)} ${f.help}${notes.length ? ` [${notes.join('; ')}]` : ''}`);
    }
    lines.push('');
  }
  lines.push(
    'Booleans: --force, --force=false, --no-force (likewise --wait/--no-wait, --pin-digest, --dry-run, --locked).',
    'Environment: AZURE_SUBSCRIPTION_ID, AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET (client secret),',
    '  ACR_IMPORT_SOURCE_PASSWORD (source password), AZURE_FEDERATED_TOKEN_FILE (workload identity), NO_COLOR.',
    'Sign-in with --auth auto, in order: AZURE_CLIENT_SECRET; AZURE_FEDERATED_TOKEN_FILE; GitHub OIDC when the job',
    '  offers it; an `az login` session; a managed identity announced by IDENTITY_ENDPOINT (on a VM: --auth managed-identity).',
    '',
    'Output: stdout carries only the result (text: one line per target, STATUS  <loginServer>/<repo>:<tag>  sha256:...;',
    '  json: the results array); the log and progress go to stderr.',
    '',
    'Examples:',
    '  acr-import -n myregistry --source docker.io/library/nginx:1.27',
    '  acr-import -n myregistry --source mcr.microsoft.com/dotnet/runtime:8.0 -t dotnet/runtime:8.0 -t dotnet/runtime:latest',
    '  acr-import -n myregistry --source app:1.4.2 -r devregistry.azurecr.io --force',
    '  acr-import -n myregistry --source docker.io/org/private:1.0 -u bot --password-stdin < token.txt',
    '  acr-import -n myregistry --source ghcr.io/org/app@sha256:... --repository org/app -o json | jq -r ".[0].sourceDigest"',
    '  acr-import -n myregistry --images-file images.yaml --lock-file images.lock.json --dry-run',
    '',
    'Exit codes:',
    ...EXIT_CODES.map((e) => `  ${e.code}  ${e.meaning}`),
    '',
  );
  return lines.join('\n');
}
