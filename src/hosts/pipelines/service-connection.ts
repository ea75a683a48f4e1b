/**
 * The Azure Resource Manager service connection, as the agent hands it to the task: read from the environment
 * (`INPUT_AZURESUBSCRIPTION` names it; `ENDPOINT_*_<id>` describe it) and turned into the engine's sign-in inputs
 * (tenant, client, subscription, cloud). Everything is checked before any network call; errors say what to do in
 * Azure DevOps terms. The credential that signs in with it: ./connection-credential.ts.
 */
import { AuthError, CLOUDS, InputError, type RawInputs } from '../../engine/index.js';

/** The environment variables the agent set (process.env, or a test's map). */
export type AgentEnv = Readonly<Record<string, string | undefined>>;

export const SERVICE_CONNECTION_INPUT = 'azureSubscription';
export const SERVICE_CONNECTION_ALIAS = 'connectedServiceNameARM';

export type SchemeName = 'WorkloadIdentityFederation' | 'ServicePrincipal' | 'ManagedServiceIdentity';

export interface ServiceConnection {
  /** The connection's id (GUID), as the input gave it. */
  id: string;
  scheme: SchemeName;
  tenantId: string | undefined;
  /** The service principal's application (client) ID; for a managed identity, the user-assigned identity's, if any. */
  clientId: string | undefined;
  subscriptionId: string | undefined;
  subscriptionName: string | undefined;
  /** ServicePrincipal only. */
  secret?: { kind: 'key'; key: string } | { kind: 'certificate'; pem: string };
  /** `environment` of the connection's data (AzureCloud when absent). */
  environment: string;
  /**
   * When the environment is not a public cloud the engine knows (Azure Stack ...): the ARM URL, and the Entra
   * authority the connection names (activeDirectoryAuthority, else environmentAuthorityUrl), if it names one. The
   * authority signed in with is the one the ARM's metadata names (cloud.ts); a named one must agree with it.
   */
  endpoints?: { resourceManager: string; authorityHost: string | undefined };
  /** The subject Azure DevOps shows for a WIF connection (auth parameter workloadIdentityFederationSubject), if any. */
  federatedSubject: string | undefined;
  /** The job's System.AccessToken (WIF only). */
  accessToken: string | undefined;
  /** System.OidcRequestUri (WIF only). */
  oidcRequestUri: string | undefined;
  /** Every secret read: the host masks them before it prints anything. */
  secrets: string[];
}

/** Case-insensitive lookup: Microsoft's tasks find `ENDPOINT_DATA_<id>_SubscriptionId` under any case. */
function lookup(env: AgentEnv): (name: string) => string | undefined {
  const upper = new Map<string, string>();
  for (const [key, value] of Object.entries(env)) {
    if (value !== undefined && !upper.has(key.toUpperCase())) upper.set(key.toUpperCase(), value);
  }
  return (name) => {
    const exact = env[name];
    return exact !== undefined ? exact : upper.get(name.toUpperCase());
  };
}

export const SCRIPT_STEP_HINT =
  'The agent gives a service connection only to a task whose input of type connectedService:AzureRM names it: a `script:` step, or the task file run by hand, cannot use it. ' +
  `Run this as the AcrImport@1 task with ${SERVICE_CONNECTION_INPUT}: <service connection name>, and make sure the pipeline is allowed to use that connection (Project settings > Service connections > Security).`;

/** The secrets of the agent environment that must be masked before anything is printed. */
export function agentSecrets(env: AgentEnv): string[] {
  const get = lookup(env);
  const token = accessTokenOf(get);
  const secrets = token ? [token] : [];
  for (const [key, value] of Object.entries(env)) {
    if (
      value &&
      /^ENDPOINT_AUTH_PARAMETER_.+_(SERVICEPRINCIPALKEY|SERVICEPRINCIPALCERTIFICATE)$/i.test(key)
    ) {
      secrets.push(value);
    }
  }
  return secrets;
}

function accessTokenOf(get: (name: string) => string | undefined): string | undefined {
  const direct = get('ENDPOINT_AUTH_PARAMETER_SYSTEMVSSCONNECTION_ACCESSTOKEN');
  if (direct) return direct;
  const json = get('ENDPOINT_AUTH_SYSTEMVSSCONNECTION');
  if (!json) return get('SYSTEM_ACCESSTOKEN') || undefined;
  try {
    const parsed = JSON.parse(json) as { parameters?: Record<string, unknown> };
    const entry = Object.entries(parsed.parameters ?? {}).find(([k]) => k.toLowerCase() === 'accesstoken');
    return typeof entry?.[1] === 'string' && entry[1] ? entry[1] : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Reads the service connection the task's `azureSubscription` input names. Throws before any network call: an
 * InputError when the input is empty, an AuthError when the agent did not hand the connection over (a script step),
 * when its scheme is not one this task signs in with, or when a parameter it needs is missing.
 */
export function readServiceConnection(env: AgentEnv): ServiceConnection {
  const get = lookup(env);
  const id = (get('INPUT_AZURESUBSCRIPTION') || get('INPUT_CONNECTEDSERVICENAMEARM') || '').trim();
  if (!id) {
    throw new InputError([
      {
        input: SERVICE_CONNECTION_INPUT,
        value: '',
        message:
          'is required: name the Azure Resource Manager service connection to sign in with (azureSubscription: <service connection name>)',
      },
    ]);
  }
  const authJson = get(`ENDPOINT_AUTH_${id}`);
  let parsedAuth: { parameters: Record<string, string>; scheme: string | undefined } | undefined;
  if (authJson) {
    try {
      const value = JSON.parse(authJson) as { parameters?: Record<string, unknown>; scheme?: unknown };
      const parameters: Record<string, string> = {};
      for (const [k, v] of Object.entries(value.parameters ?? {})) {
        if (typeof v === 'string') parameters[k.toLowerCase()] = v;
      }
      parsedAuth = { parameters, scheme: typeof value.scheme === 'string' ? value.scheme : undefined };
    } catch {
      throw new AuthError(
        `The agent's description of service connection '${id}' (ENDPOINT_AUTH_${id}) is not JSON.`,
        SCRIPT_STEP_HINT,
      );
    }
  }
  const schemeText = get(`ENDPOINT_AUTH_SCHEME_${id}`) ?? parsedAuth?.scheme;
  const url = get(`ENDPOINT_URL_${id}`);
  if (!parsedAuth && schemeText === undefined && url === undefined) {
    throw new AuthError(
      `Service connection '${id}' (input ${SERVICE_CONNECTION_INPUT}) is not available to this step: the agent set no ENDPOINT_AUTH_${id}.`,
      SCRIPT_STEP_HINT,
    );
  }
  const param = (key: string): string | undefined =>
    get(`ENDPOINT_AUTH_PARAMETER_${id}_${key.toUpperCase()}`) ?? parsedAuth?.parameters[key.toLowerCase()];
  const data = (key: string): string | undefined => get(`ENDPOINT_DATA_${id}_${key.toUpperCase()}`);

  // An absent scheme means ServicePrincipal (the oldest connections have none); Microsoft's tasks compare lower-cased.
  const schemes: Record<string, SchemeName> = {
    workloadidentityfederation: 'WorkloadIdentityFederation',
    serviceprincipal: 'ServicePrincipal',
    managedserviceidentity: 'ManagedServiceIdentity',
  };
  const scheme = schemes[(schemeText ?? 'ServicePrincipal').toLowerCase()];
  if (!scheme) {
    throw new AuthError(
      `Service connection '${id}' uses the authentication scheme '${schemeText ?? ''}', which AcrImport cannot sign in with.`,
      'Use an Azure Resource Manager service connection with workload identity federation (recommended: no secret to rotate), a service principal (secret or certificate), or a managed identity (self-hosted agents on Azure).',
    );
  }

  const tenantId = param('tenantid')?.trim() || undefined;
  const clientId =
    (scheme === 'ManagedServiceIdentity' ? data('msiclientid') : param('serviceprincipalid'))?.trim() ||
    undefined;
  const missing = (what: string, key: string): AuthError =>
    new AuthError(
      `Service connection '${id}' (${scheme}) has no ${what} (${key}).`,
      'Open the service connection in Project settings > Service connections, check its details and save it again (or recreate it).',
    );
  if (scheme !== 'ManagedServiceIdentity') {
    if (!tenantId) throw missing('tenant ID', `ENDPOINT_AUTH_PARAMETER_${id}_TENANTID`);
    if (!clientId) throw missing('service principal ID', `ENDPOINT_AUTH_PARAMETER_${id}_SERVICEPRINCIPALID`);
  }

  const secrets: string[] = [];
  let secret: ServiceConnection['secret'];
  if (scheme === 'ServicePrincipal') {
    const kind = (param('authenticationtype') ?? 'spnKey').toLowerCase();
    if (kind === 'spncertificate') {
      const pem = param('serviceprincipalcertificate');
      if (!pem) throw missing('certificate', `ENDPOINT_AUTH_PARAMETER_${id}_SERVICEPRINCIPALCERTIFICATE`);
      secrets.push(pem);
      secret = { kind: 'certificate', pem };
    } else if (kind === 'spnkey') {
      const key = param('serviceprincipalkey');
      if (!key) throw missing('client secret', `ENDPOINT_AUTH_PARAMETER_${id}_SERVICEPRINCIPALKEY`);
      secrets.push(key);
      secret = { kind: 'key', key };
    } else {
      throw new AuthError(
        `Service connection '${id}' uses the service principal authentication type '${param('authenticationtype') ?? ''}', which AcrImport cannot sign in with.`,
        'Use a service principal with a secret (spnKey) or a certificate (spnCertificate), or better, workload identity federation.',
      );
    }
  }

  const environment = data('environment')?.trim() || 'AzureCloud';
  let endpoints: ServiceConnection['endpoints'];
  if (!Object.keys(CLOUDS).some((c) => c.toLowerCase() === environment.toLowerCase())) {
    const resourceManager = (url ?? '').trim().replace(/\/+$/, '');
    const authorityKey = data('activedirectoryauthority')?.trim()
      ? 'activeDirectoryAuthority'
      : 'environmentAuthorityUrl';
    const authority = (data(authorityKey.toLowerCase()) ?? '').trim().replace(/\/+$/, '');
    const https = (text: string): boolean => /^https:\/\/[^/]/i.test(text);
    if (!https(resourceManager) || (authority && !https(authority))) {
      throw new AuthError(
        `Service connection '${id}' is for the environment '${environment}', but its ${!https(resourceManager) ? `Azure Resource Manager URL (ENDPOINT_URL_${id}: '${resourceManager}')` : `Entra authority (${authorityKey}: '${authority}')`} is not an https URL.`,
        'Edit the service connection and give the environment URL of your Azure Stack Hub (or other cloud), so that its resource manager and authority can be read.',
      );
    }
    endpoints = { resourceManager, authorityHost: authority || undefined };
  }

  let accessToken: string | undefined;
  let oidcRequestUri: string | undefined;
  if (scheme === 'WorkloadIdentityFederation') {
    accessToken = accessTokenOf(get);
    oidcRequestUri = get('SYSTEM_OIDCREQUESTURI') || undefined;
    if (!accessToken || !oidcRequestUri) {
      throw new AuthError(
        `Service connection '${id}' uses workload identity federation, but the agent gave this step no ${!accessToken ? 'job access token (ENDPOINT_AUTH_SYSTEMVSSCONNECTION)' : 'OIDC request URI (SYSTEM_OIDCREQUESTURI)'}.`,
        SCRIPT_STEP_HINT,
      );
    }
    secrets.push(accessToken);
  }

  return {
    id,
    scheme,
    tenantId,
    clientId,
    subscriptionId: data('subscriptionid')?.trim() || undefined,
    subscriptionName: data('subscriptionname')?.trim() || undefined,
    ...(secret ? { secret } : {}),
    environment,
    ...(endpoints ? { endpoints } : {}),
    federatedSubject: param('workloadidentityfederationsubject') || undefined,
    accessToken,
    oidcRequestUri,
    secrets,
  };
}

/**
 * The engine's sign-in inputs the connection stands for (action input names): tenant, client, subscription and
 * cloud. The task's own `subscriptionId` input, when given, overrides the connection's subscription.
 */
export function engineInputs(connection: ServiceConnection): RawInputs {
  const known = Object.keys(CLOUDS).find((c) => c.toLowerCase() === connection.environment.toLowerCase());
  return {
    'tenant-id': connection.tenantId,
    'client-id': connection.scheme === 'ManagedServiceIdentity' ? undefined : connection.clientId,
    'subscription-id': connection.subscriptionId,
    environment: known,
    // A custom cloud's authority and token audience come from its ARM's /metadata/endpoints (the engine reads it):
    // the connection's own authority is only checked against it (customCloudAuthority).
    'resource-manager-endpoint': connection.endpoints?.resourceManager,
    'authority-host': undefined,
  };
}

/** `https://host[:port]` of an authority URL, lower-cased, for comparing two spellings of it. */
function authorityOrigin(text: string): string | undefined {
  try {
    const url = new URL(text);
    return `${url.origin}${url.pathname.replace(/\/+$/, '')}`.toLowerCase();
  } catch {
    return undefined;
  }
}

/**
 * A custom cloud's authority: the one its ARM metadata names (`discovered`). When the service connection names one
 * too (activeDirectoryAuthority), the two must agree: the task never sends the connection's secret or assertion to an
 * authority the connection does not name, nor signs in somewhere the cloud does not name.
 */
export function checkCustomCloudAuthority(connection: ServiceConnection, discovered: string): void {
  const named = connection.endpoints?.authorityHost;
  if (!named || authorityOrigin(named) === authorityOrigin(discovered)) return;
  throw new AuthError(
    `Service connection '${connection.id}' names the Entra authority ${named} (activeDirectoryAuthority), but its Azure Resource Manager ${connection.endpoints?.resourceManager ?? ''} names ${discovered} (loginEndpoint of /metadata/endpoints). Nothing was sent to either.`,
    `Edit the service connection (Project settings > Service connections) so that its authority is ${discovered}, or check that its Azure Resource Manager URL is the one of your Azure Stack Hub (or other cloud).`,
  );
}
