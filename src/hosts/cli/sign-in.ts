/**
 * What the CLI's machine offers for signing in, in the order `--auth auto` tries it: a client secret from the
 * environment, a workload identity token file (AZURE_FEDERATED_TOKEN_FILE, as on AKS and other CI systems), GitHub's
 * OIDC endpoint when the job offers it, an `az login` session, and a managed identity.
 */
import { readFile } from 'node:fs/promises';
import { access } from 'node:fs/promises';
import path from 'node:path';
import type { AuthHost } from '../../engine/index.js';

export interface SignInChoice {
  authHost: AuthHost;
  /** `client-secret` when auth is auto and a client secret is at hand (the first in the CLI's order). */
  auth?: string;
}

export async function cliSignIn(
  env: Readonly<Record<string, string | undefined>>,
  given: { auth: string; clientSecret: string },
): Promise<SignInChoice> {
  const tokenFile = env['AZURE_FEDERATED_TOKEN_FILE'];
  const ghUrl = env['ACTIONS_ID_TOKEN_REQUEST_URL'];
  const ghToken = env['ACTIONS_ID_TOKEN_REQUEST_TOKEN'];
  const idToken = tokenFile
    ? // Read at every use: the platform rotates the file.
      async (): Promise<string> => (await readFile(tokenFile, 'utf8')).trim()
    : ghUrl && ghToken
      ? (audience: string) => githubIdToken(ghUrl, ghToken, audience)
      : undefined;
  const authHost: AuthHost = {
    idToken,
    azureCliAvailable: await onPath('az', env['PATH'] ?? ''),
    // A managed identity is announced by its endpoint variables (App Service, Functions, Container Apps, Arc). An
    // Azure VM's IMDS is not: finding it would mean probing the network, so on a VM use --auth managed-identity.
    managedIdentityPossible: Boolean(env['IDENTITY_ENDPOINT'] || env['MSI_ENDPOINT']),
  };
  const auto = given.auth === '' || given.auth.toLowerCase() === 'auto';
  return { authHost, ...(auto && given.clientSecret ? { auth: 'client-secret' } : {}) };
}

/**
 * GitHub's OIDC endpoint, asked the way @actions/core asks it. Failures say `Error Code : <status>` as @actions/core's
 * do, so the engine retries the same transient answers for both hosts.
 */
async function githubIdToken(requestUrl: string, requestToken: string, audience: string): Promise<string> {
  const url = new URL(requestUrl);
  if (audience) url.searchParams.set('audience', audience);
  let res: Response;
  try {
    res = await fetch(url, {
      headers: { authorization: `Bearer ${requestToken}`, accept: 'application/json' },
    });
  } catch (err) {
    throw new Error(
      `Failed to get ID Token. Error Code : undefined. ${err instanceof Error ? err.message : ''}`,
      { cause: err },
    );
  }
  if (!res.ok)
    throw new Error(`Failed to get ID Token. Error Code : ${res.status}. Error Message: ${res.statusText}`);
  const body = (await res.json()) as { value?: unknown };
  if (typeof body.value !== 'string') throw new Error('Response json body do not have ID Token field');
  return body.value;
}

async function onPath(command: string, searchPath: string): Promise<boolean> {
  for (const dir of searchPath.split(path.delimiter).filter(Boolean)) {
    try {
      await access(path.join(dir, command));
      return true;
    } catch {
      // not here
    }
  }
  return false;
}
