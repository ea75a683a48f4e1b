/**
 * The credential of a service connection read by ./service-connection.ts: every token masked on arrival, every
 * failure an AuthError that says what to change in Azure DevOps or Entra.
 *
 * Workload identity federation uses a callback `ClientAssertionCredential`, not `AzurePipelinesCredential`, because:
 * - every OIDC token the job receives is masked (`task.setsecret`) the moment it arrives, before MSAL sees it;
 * - the presented subject (`sc://ORG/PROJECT/CONNECTION`) is read from the token, so a refusal by Entra names the
 *   exact federated credential to add;
 * - Azure DevOps' refusals ("There is no explicit reference to service connection ...", a bad job token) become an
 *   error that says what to change, instead of AzurePipelinesCredential's wrapped response dump (which also carries
 *   the response body into the message);
 * - the OIDC request URI and the job token come from the environment this module is given (tests pass one), not from
 *   `process.env` read inside the library;
 * - the OIDC request and every Entra request go through the engine's HTTP client (`send`, `identityOptions` of
 *   RunPorts.signIn's context): the agent's proxy, the run's deadlines and the engine's retries apply to them too.
 * The request is the one AzurePipelinesCredential sends (POST, api-version 7.1, `serviceConnectionId`, Bearer job
 * token, `X-TFS-FedAuthRedirect: Suppress`), and a fresh token is fetched for every Entra request (MSAL asks for the
 * assertion twice per request; both get the same token): the tokens live about 10 minutes, and MSAL asks only when it
 * has no cached access token, so a token is never reused after it could have expired.
 */
import type { AccessToken, GetTokenOptions, TokenCredential } from '@azure/identity';
import {
  AuthError,
  decodeClaims,
  ImportError,
  loadIdentity,
  DEFAULT_RETRY,
  type RetryPolicy,
  type SignInContext,
} from '../../engine/index.js';
import { SCRIPT_STEP_HINT, type ServiceConnection } from './service-connection.js';

export interface ConnectionCredentialOptions {
  authorityHost: string;
  disableInstanceDiscovery: boolean;
  /** Registers a secret (task.setsecret) before it is used. */
  mask: (secret: string) => void;
  /**
   * The engine's client (RunPorts.signIn's context): the OIDC request and, through `identityOptions`, every Entra and
   * managed identity request then get the run's proxy decision, deadlines and retries.
   */
  send: SignInContext['send'];
  identityOptions?: SignInContext['identityOptions'];
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
/** The OIDC request is retried by the engine's client (5xx, 429, dropped connections), at most three times in all. */
const OIDC_RETRY: RetryPolicy = { ...DEFAULT_RETRY, maxAttempts: OIDC_ATTEMPTS };

/** Builds the credential of a connection read by readServiceConnection. */
export async function createConnectionCredential(
  connection: ServiceConnection,
  options: ConnectionCredentialOptions,
): Promise<ConnectionCredential> {
  const identity = await loadIdentity();
  const transport = options.identityOptions ?? {};
  const common = {
    authorityHost: options.authorityHost,
    disableInstanceDiscovery: options.disableInstanceDiscovery,
    ...transport,
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
            presented = decodeClaims(token);
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
        ? new identity.ManagedIdentityCredential({ clientId: connection.clientId, ...transport })
        : new identity.ManagedIdentityCredential(transport);
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
  const url = `${connection.oidcRequestUri ?? ''}?api-version=7.1&serviceConnectionId=${encodeURIComponent(connection.id)}`;
  const headers = {
    'content-type': 'application/json',
    authorization: `Bearer ${connection.accessToken ?? ''}`,
    'x-tfs-fedauthredirect': 'Suppress',
  };
  let status: number;
  let text: string;
  try {
    const res = await options.send(
      { method: 'POST', url, headers, body: '{}' },
      "Azure DevOps' OIDC endpoint",
      OIDC_RETRY,
    );
    status = res.status;
    text = res.body.toString('utf8');
  } catch (err) {
    throw new AuthError(
      `Could not reach Azure DevOps for an OIDC token of service connection '${connection.id}': ${err instanceof Error ? err.message : String(err)}`,
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
  throw oidcRefusal(connection, status, text, OIDC_ATTEMPTS);
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
