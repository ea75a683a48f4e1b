/**
 * What the CLI's machine offers for signing in, in the order `--auth auto` tries it: a client secret from the
 * environment, a workload identity token file (AZURE_FEDERATED_TOKEN_FILE, as on AKS and other CI systems), GitHub's
 * OIDC endpoint when the job offers it, a signed-in `az login` session, and a managed identity.
 */
import { readFile } from 'node:fs/promises';
import { requestGithubIdToken, type AuthHost, type ImportConfig } from '../../engine/index.js';
import { azureCliFor } from '../common/azure-cli.js';

export interface SignInChoice {
  /** What the machine offers, once the inputs are valid (the Azure CLI is asked only when auto would reach it). */
  authHost: (config: ImportConfig) => Promise<AuthHost>;
  /** `client-secret` when auth is auto and a client secret is at hand (the first in the CLI's order). */
  auth?: string;
}

export function cliSignIn(
  env: Readonly<Record<string, string | undefined>>,
  given: { auth: string; clientSecret: string },
): SignInChoice {
  const tokenFile = env['AZURE_FEDERATED_TOKEN_FILE'];
  const ghUrl = env['ACTIONS_ID_TOKEN_REQUEST_URL'];
  const ghToken = env['ACTIONS_ID_TOKEN_REQUEST_TOKEN'];
  const idToken: AuthHost['idToken'] = tokenFile
    ? // Read at every use: the platform rotates the file.
      async (): Promise<string> => (await readFile(tokenFile, 'utf8')).trim()
    : ghUrl && ghToken
      ? // Through the engine's client: the run's deadlines and proxy decision.
        (audience, http) => requestGithubIdToken(http, { url: ghUrl, token: ghToken }, audience)
      : undefined;
  const authHost = async (config: ImportConfig): Promise<AuthHost> => {
    return {
      idToken,
      ...(await azureCliFor(config, Boolean(idToken), { path: env['PATH'] ?? '', platform: process.platform })),
      // A managed identity is announced by its endpoint variables (App Service, Functions, Container Apps, Arc). An
      // Azure VM's IMDS is not: finding it would mean probing the network, so on a VM use --auth managed-identity.
      managedIdentityPossible: Boolean(env['IDENTITY_ENDPOINT'] || env['MSI_ENDPOINT']),
    };
  };
  const auto = given.auth === '' || given.auth.toLowerCase() === 'auto';
  return { authHost, ...(auto && given.clientSecret ? { auth: 'client-secret' } : {}) };
}
