/** How a command-line user sets things up: the phrases the engine's hints use in the CLI. */
import type { HostWording } from '../../engine/index.js';

export const CLI_WORDING: HostWording = {
  idTokenSetup:
    'Set AZURE_FEDERATED_TOKEN_FILE to a workload identity token file (as AKS and other CI systems provide it), with AZURE_CLIENT_ID and AZURE_TENANT_ID; inside a GitHub Actions job, give the job `id-token: write`.',
  idTokenMissing: 'AZURE_FEDERATED_TOKEN_FILE (a workload identity token)',
  idTokenName: 'an OIDC ID token (AZURE_FEDERATED_TOKEN_FILE, or GitHub OIDC inside a GitHub Actions job)',
  secretFrom: (input, envName) =>
    `set the ${envName} environment variable (a --${input} flag is visible in the process list and shell history)`,
  existingSession: 'run az login first',
  authMode: (mode) => `--auth ${mode}`,
  setInput: (input, value) => (value === 'true' ? `--${input}` : `--${input} ${value}`),
};
