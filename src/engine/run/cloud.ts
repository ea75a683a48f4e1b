/**
 * A custom cloud's sign-in settings, read from its ARM as the Azure tools do: `GET <arm>/metadata/endpoints`. The ARM
 * token audience of Azure Stack Hub and other custom clouds is not the ARM URL, so asking Entra for `<arm>/.default`
 * fails with AADSTS500011. Read at the start of each run; nothing is cached across runs.
 */
import { MICROSOFT_AUTHORITY_HOSTS, type CloudSettings } from '../config/clouds.js';
import { RemoteError } from '../errors.js';
import { describeUrl, jsonBody, type HttpClient } from '../net/http.js';
import type { Logger } from '../ports.js';

/** The array form (one entry per cloud); clouds that predate it answer only the 2015-01-01 object form. */
export const METADATA_API_VERSIONS = ['2022-09-01', '2015-01-01'] as const;

interface MetadataEntry {
  resourceManager?: unknown;
  authentication?: { loginEndpoint?: unknown; audiences?: unknown };
}

const SERVICE = 'Azure Resource Manager';

/** The cloud with its token audience and authority read from the ARM metadata (authority-host wins when given). */
export async function discoverCloud(
  cloud: CloudSettings,
  http: HttpClient,
  log: Logger,
): Promise<CloudSettings> {
  const arm = cloud.armEndpoint.replace(/\/+$/, '');
  let entry: MetadataEntry | undefined;
  let refused = '';
  for (const version of METADATA_API_VERSIONS) {
    const url = `${arm}/metadata/endpoints?api-version=${version}`;
    const res = await http.send(
      { method: 'GET', url, headers: { accept: 'application/json' } },
      { service: SERVICE, followRedirects: false },
    );
    if (res.status !== 200) {
      refused = `HTTP ${res.status} for ${describeUrl(url)}?api-version=${version}`;
      log.debug(`cloud metadata: ${refused}`);
      continue;
    }
    entry = pick(jsonBody(res), arm);
    if (entry) break;
    refused = `no cloud with resourceManager ${arm} in the answer to api-version ${version}`;
  }
  const auth = entry?.authentication;
  const audience = Array.isArray(auth?.audiences) ? (auth.audiences[0] as unknown) : undefined;
  const login = typeof auth?.loginEndpoint === 'string' ? auth.loginEndpoint : undefined;
  const loginUrl = login ? safeUrl(login) : undefined;
  if (
    typeof audience !== 'string' ||
    !audience ||
    (!cloud.authorityGiven && loginUrl?.protocol !== 'https:')
  ) {
    throw new RemoteError({
      service: SERVICE,
      message: `${arm} did not describe its cloud at /metadata/endpoints (${refused || 'no authentication.audiences or loginEndpoint'}).`,
      hint: 'Check resource-manager-endpoint: it must be the Azure Resource Manager endpoint of an Azure cloud (for Azure Stack Hub https://management.<region>.<fqdn>), which serves /metadata/endpoints.',
    });
  }
  // az's rule: the resource ID plus /.default, a trailing slash kept (https://management.core.windows.net//.default).
  const next: CloudSettings = { ...cloud, armScope: `${audience}/.default` };
  if (cloud.authorityGiven || !loginUrl) {
    log.info(`Cloud metadata of ${arm}: ARM token audience ${audience}`);
    return next;
  }
  const authorityHost = loginUrl.origin;
  log.info(`Cloud metadata of ${arm}: ARM token audience ${audience}, authority ${authorityHost}`);
  return {
    ...next,
    authorityHost,
    disableInstanceDiscovery: !MICROSOFT_AUTHORITY_HOSTS.has(loginUrl.hostname),
  };
}

/** The entry for this ARM: from the array form the one whose resourceManager is `arm` (or the only one). */
function pick(body: unknown, arm: string): MetadataEntry | undefined {
  if (Array.isArray(body)) {
    const entries = body.filter((e): e is MetadataEntry => typeof e === 'object' && e !== null);
    const same = (value: unknown): boolean =>
      typeof value === 'string' && value.replace(/\/+$/, '').toLowerCase() === arm.toLowerCase();
    return entries.find((e) => same(e.resourceManager)) ?? (entries.length === 1 ? entries[0] : undefined);
  }
  if (typeof body === 'object' && body !== null && 'authentication' in body) return body as MetadataEntry;
  return undefined;
}

function safeUrl(text: string): URL | undefined {
  try {
    return new URL(text);
  } catch {
    return undefined;
  }
}
