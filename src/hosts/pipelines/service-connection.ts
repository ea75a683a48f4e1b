/**
 * The Azure Resource Manager service connection, as the agent hands it to the task: read from the environment
 * (`INPUT_AZURESUBSCRIPTION` names it; `ENDPOINT_*_<id>` describe it), turned into the engine's sign-in inputs
 * (tenant, client, subscription, cloud), and into the credential that signs in with it. Every error says what to do
 * in Azure DevOps terms.
 *
 * Workload identity federation uses a callback `ClientAssertionCredential`, not `AzurePipelinesCredential`, because:
 * - every OIDC token the job receives is masked (`task.setsecret`) the moment it arrives, before MSAL sees it;
 * - the presented subject (`sc://ORG/PROJECT/CONNECTION`) is read from the token, so a refusal by Entra names the
 *   exact federated credential to add;
 * - Azure DevOps' refusals ("There is no explicit reference to service connection ...", a bad job token) become an
 *   error that says what to change, instead of AzurePipelinesCredential's wrapped response dump (which also carries
 *   the response body into the message);
 * - the OIDC request URI and the job token come from the environment this module is given (tests pass one), not from
 *   `process.env` read inside the library; transient failures are retried with the host's clock.
 * The request is the one AzurePipelinesCredential sends (POST, api-version 7.1, `serviceConnectionId`, Bearer job
 * token, `X-TFS-FedAuthRedirect: Suppress`), and a fresh token is fetched for every Entra request (MSAL asks for the
 * assertion twice per request; both get the same token): the tokens live about 10 minutes, and MSAL asks only when it
 * has no cached access token, so a token is never reused after it could have expired.
 */
import type { AccessToken, GetTokenOptions, TokenCredential } from '@azure/identity';
import {
  AuthError,
  CLOUDS,
  ImportError,
  InputError,
  type Clock,
  type RawInputs,
} from '../../engine/index.js';

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
  /** The ARM URL and authority host when the environment is not a public cloud the engine knows (Azure Stack ...). */
  endpoints?: { resourceManager: string; authorityHost: string };
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

const SCRIPT_STEP_HINT =
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
    const authorityHost = (data('activedirectoryauthority') ?? '').trim().replace(/\/+$/, '');
    if (!/^https:\/\//i.test(resourceManager) || !/^https:\/\//i.test(authorityHost)) {
      throw new AuthError(
        `Service connection '${id}' is for the environment '${environment}', but its ${!/^https:\/\//i.test(resourceManager) ? `Azure Resource Manager URL (ENDPOINT_URL_${id}: '${resourceManager}')` : `Entra authority (activeDirectoryAuthority: '${authorityHost}')`} is not an https URL.`,
        'Edit the service connection and give the environment URL of your Azure Stack Hub (or other cloud), so that its resource manager and authority can be read.',
      );
    }
    endpoints = { resourceManager, authorityHost };
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
    'resource-manager-endpoint': connection.endpoints?.resourceManager,
    'authority-host': connection.endpoints?.authorityHost,
  };
}

// ---------------------------------------------------------------------------------------------------------------------
// The credential

export interface ConnectionCredentialOptions {
  authorityHost: string;
  disableInstanceDiscovery: boolean;
  /** Registers a secret (task.setsecret) before it is used. */
  mask: (secret: string) => void;
  clock: Clock;
  /** The HTTP client for the OIDC request (default: the global fetch). */
  fetch?: typeof fetch;
}

/** The claims of the OIDC token last presented to Entra (for the mismatch hint). */
export interface Presented {
  issuer: string | undefined;
  subject: string | undefined;
  audience: string | undefined;
}

export interface ConnectionCredential {
  /** Signs in; every failure is an AuthError that says what to change in Azure DevOps or Entra. */
  credential: TokenCredential;
  presented: () => Presented | undefined;
  /**
   * Workload identity federation only: another app (a source ACR's tenant) signed in with the same connection's
   * OIDC tokens; that app needs a federated credential for the connection's subject.
   */
  federated?: (tenantId: string, clientId: string) => TokenCredential;
}

const OIDC_ATTEMPTS = 3;

/** Builds the credential of a connection read by readServiceConnection. */
export async function createConnectionCredential(
  connection: ServiceConnection,
  options: ConnectionCredentialOptions,
): Promise<ConnectionCredential> {
  const identity = await import('@azure/identity');
  const common = {
    authorityHost: options.authorityHost,
    disableInstanceDiscovery: options.disableInstanceDiscovery,
  };
  let presented: Presented | undefined;
  let inner: TokenCredential;
  let federated: ConnectionCredential['federated'];
  /** The OIDC token of the Entra request under way (WIF); each getToken call starts without one. */
  let current: Promise<string> | undefined;
  const fresh = (): void => {
    current = undefined;
  };
  const tenantId = connection.tenantId ?? '';
  const clientId = connection.clientId ?? '';
  switch (connection.scheme) {
    case 'WorkloadIdentityFederation': {
      // MSAL asks for the assertion more than once per Entra request: one OIDC token serves one getToken call.
      const getAssertion = (): Promise<string> => {
        current ??= requestOidcToken(connection, options).then(
          (token) => {
            options.mask(token);
            presented = claimsOf(token);
            return token;
          },
          (err: unknown) => {
            current = undefined;
            throw err;
          },
        );
        return current;
      };
      inner = new identity.ClientAssertionCredential(tenantId, clientId, getAssertion, common);
      federated = (otherTenant, otherClient) =>
        translated(
          new identity.ClientAssertionCredential(otherTenant, otherClient, getAssertion, common),
          { ...connection, tenantId: otherTenant, clientId: otherClient },
          () => presented,
          options.mask,
          fresh,
        );
      break;
    }
    case 'ServicePrincipal': {
      const secret = connection.secret;
      inner =
        secret?.kind === 'certificate'
          ? new identity.ClientCertificateCredential(tenantId, clientId, { certificate: secret.pem }, common)
          : new identity.ClientSecretCredential(tenantId, clientId, secret?.key ?? '', common);
      break;
    }
    case 'ManagedServiceIdentity':
      inner = connection.clientId
        ? new identity.ManagedIdentityCredential({ clientId: connection.clientId })
        : new identity.ManagedIdentityCredential();
      break;
  }
  return {
    credential: translated(inner, connection, () => presented, options.mask, fresh),
    presented: () => presented,
    ...(federated ? { federated } : {}),
  };
}

/** `inner` with every token masked on arrival and every failure described in Azure DevOps terms. */
function translated(
  inner: TokenCredential,
  connection: ServiceConnection,
  presented: () => Presented | undefined,
  mask: (secret: string) => void,
  startRequest: () => void,
): TokenCredential {
  return {
    async getToken(scopes: string | string[], getOptions?: GetTokenOptions): Promise<AccessToken | null> {
      startRequest();
      try {
        const token = await inner.getToken(scopes, getOptions);
        if (token) mask(token.token);
        return token;
      } catch (err) {
        const scope = Array.isArray(scopes) ? scopes.join(' ') : scopes;
        throw describeSignInError(err, connection, presented(), scope);
      }
    },
  };
}

/** POSTs to System.OidcRequestUri for the connection; retries 5xx, 429 and dropped connections. */
async function requestOidcToken(
  connection: ServiceConnection,
  options: ConnectionCredentialOptions,
): Promise<string> {
  const doFetch = options.fetch ?? fetch;
  const url = `${connection.oidcRequestUri ?? ''}?api-version=7.1&serviceConnectionId=${encodeURIComponent(connection.id)}`;
  for (let attempt = 1; ; attempt++) {
    let status: number;
    let text: string;
    try {
      const response = await doFetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          authorization: `Bearer ${connection.accessToken ?? ''}`,
          'x-tfs-fedauthredirect': 'Suppress',
        },
        body: '{}',
        redirect: 'manual',
      });
      status = response.status;
      text = await response.text();
    } catch (err) {
      if (attempt < OIDC_ATTEMPTS) {
        await options.clock.sleep(500 * 2 ** (attempt - 1));
        continue;
      }
      throw new AuthError(
        `Could not reach Azure DevOps for an OIDC token of service connection '${connection.id}' (${attempt} attempts): ${err instanceof Error ? err.message : String(err)}`,
        'Check that the agent can reach the organization (System.OidcRequestUri); on a self-hosted agent behind a proxy, check its proxy settings.',
        { cause: err },
      );
    }
    if (status === 200) {
      let token: unknown;
      try {
        token = (JSON.parse(text) as { oidcToken?: unknown }).oidcToken;
      } catch {
        token = undefined;
      }
      if (typeof token === 'string' && token) return token;
      throw new AuthError(
        `Azure DevOps answered the OIDC token request for service connection '${connection.id}' without an oidcToken.`,
        'Re-run the job; if it persists, check the service connection in Project settings > Service connections.',
      );
    }
    const transient = status === 429 || status >= 500;
    if (transient && attempt < OIDC_ATTEMPTS) {
      await options.clock.sleep(500 * 2 ** (attempt - 1));
      continue;
    }
    throw oidcRefusal(connection, status, text, attempt);
  }
}

function oidcRefusal(
  connection: ServiceConnection,
  status: number,
  text: string,
  attempts: number,
): AuthError {
  let message = '';
  try {
    const body = JSON.parse(text) as { message?: unknown };
    if (typeof body.message === 'string') message = body.message.replace(/\s+/g, ' ').trim();
  } catch {
    // not JSON (a sign-in page)
  }
  const what = `Azure DevOps refused an OIDC token for service connection '${connection.id}' (HTTP ${status}${message ? `: ${message}` : ''}).`;
  if (/no explicit reference to service connection/i.test(message))
    return new AuthError(what, SCRIPT_STEP_HINT);
  if (status === 401 || status === 203 || status === 403) {
    return new AuthError(
      what,
      'The job access token was not accepted. Make sure the pipeline is allowed to use the service connection (Project settings > Service connections > Security > Pipeline permissions) and that the job is still running.',
    );
  }
  if (status === 429 || status >= 500) {
    return new AuthError(
      `${what} (${attempts} attempts)`,
      "Azure DevOps' token service kept failing: a problem on Azure DevOps' side; re-run the job.",
    );
  }
  return new AuthError(what, 'Check the service connection in Project settings > Service connections.');
}

function claimsOf(jwt: string): Presented | undefined {
  try {
    const claims = JSON.parse(Buffer.from(jwt.split('.')[1] ?? '', 'base64url').toString('utf8')) as Record<
      string,
      unknown
    >;
    const aud = Array.isArray(claims['aud']) ? claims['aud'].join(', ') : claims['aud'];
    return {
      issuer: typeof claims['iss'] === 'string' ? claims['iss'] : undefined,
      subject: typeof claims['sub'] === 'string' ? claims['sub'] : undefined,
      audience: typeof aud === 'string' ? aud : undefined,
    };
  } catch {
    return undefined;
  }
}

/** An ImportError from anywhere in the cause chain (the OIDC callback's own errors come wrapped by MSAL). */
function ownError(err: unknown): ImportError | undefined {
  for (let e: unknown = err, depth = 0; e && depth < 5; depth++) {
    if (e instanceof ImportError) return e;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/** Entra's refusals in Azure DevOps terms. */
export function describeSignInError(
  err: unknown,
  connection: ServiceConnection,
  presented: Presented | undefined,
  scope: string,
): ImportError {
  const own = ownError(err);
  if (own) return own;
  const text = err instanceof Error ? err.message : String(err);
  const code = /AADSTS(\d+)/.exec(text)?.[1];
  const sentence = /AADSTS\d+:[^.]*\./.exec(text)?.[0] ?? text.split('\n')[0]!.slice(0, 600);
  const message = `Signing in with service connection '${connection.id}' (${connection.scheme}) for ${scope} failed: ${sentence}`;
  const app = connection.clientId ?? '<client id>';
  const edit = 'Project settings > Service connections';
  switch (code) {
    case '70021':
    case '700211':
    case '700213':
    case '7002138': {
      const issuer = presented?.issuer ?? 'https://vstoken.dev.azure.com/<organization id>';
      const subject =
        presented?.subject ??
        connection.federatedSubject ??
        'sc://<organization>/<project>/<service connection name>';
      const audience = presented?.audience ?? 'api://AzureADTokenExchange';
      return new AuthError(
        message,
        `No federated credential of app ${app} matches this service connection: Entra got issuer '${issuer}', subject '${subject}', audience '${audience}'. ` +
          `Add one with exactly these values (case-sensitive): az ad app federated-credential create --id ${app} --parameters '${JSON.stringify({ name: 'azure-devops-acr-import', issuer, subject, audiences: [audience] })}'. ` +
          `A renamed organization, project or service connection changes the subject; the service connection's page in ${edit} shows the issuer and subject it expects.`,
      );
    }
    case '7000215':
    case '7000222':
      return new AuthError(
        message,
        `The service connection's client secret is wrong or has expired: create a new secret on app ${app} and update the service connection in ${edit} (or convert it to workload identity federation, which needs no secret).`,
      );
    case '700027':
      return new AuthError(
        message,
        `The service connection's certificate is not one of app ${app}'s certificates (or its key does not match): upload the certificate to the app registration, or update the service connection in ${edit}.`,
      );
    case '700016':
      return new AuthError(
        message,
        `Entra has no application ${app} in tenant ${connection.tenantId ?? '?'}: the app behind the service connection was deleted or the connection points at another tenant; fix it in ${edit}.`,
      );
    case '90002':
      return new AuthError(
        message,
        `Entra does not know tenant ${connection.tenantId ?? '?'}: fix the service connection's tenant in ${edit}.`,
      );
  }
  if (connection.scheme === 'ManagedServiceIdentity') {
    return new AuthError(
      message,
      'No managed identity answered: a ManagedServiceIdentity service connection works only on a self-hosted agent running on Azure compute with that identity attached.',
    );
  }
  return new AuthError(
    message,
    `Check the service connection in ${edit} (tenant, service principal) and the app registration in Entra ID.`,
  );
}

/**
 * The hint for a missing role, in Azure DevOps terms: the role goes to the service connection's identity (the app
 * registration or managed identity behind it).
 */
export function roleHint(connection: ServiceConnection, role: string, scope: string): string {
  const who = connection.clientId ?? '<the service connection identity’s client id>';
  return (
    `Grant '${role}' on ${scope} to the service connection's identity (${connection.scheme === 'ManagedServiceIdentity' ? 'the managed identity' : `app ${who}`}, shown under Project settings > Service connections > Manage service principal): ` +
    `az role assignment create --assignee ${who} --role '${role}' --scope ${scope}`
  );
}
