/**
 * Signing in to Entra ID: which credential to use (auth mode), and a token provider that caches one token per
 * audience for the whole run, masks every token it receives, and turns AADSTS errors into the fix.
 */
import type { TokenCredential } from '@azure/identity';
import { AuthError, ImportError, RemoteError } from '../errors.js';
import { isClosedClient, type HttpClient, type RetryPolicy } from '../net/http.js';
import { failureRecorder, identityHttpClient } from '../net/identity-http.js';
import {
  NEUTRAL_WORDING,
  type AuthHost,
  type Clock,
  type HostWording,
  type HttpRequest,
  type HttpResponse,
  type SecretSink,
} from '../ports.js';

export type { AuthHost } from '../ports.js';
import { requestOnTheWire } from '../net/undici-parts.js';

export type AuthMode = 'auto' | 'oidc' | 'client-secret' | 'managed-identity' | 'azure-cli';
export type ResolvedAuthMode = Exclude<AuthMode, 'auto'>;

export interface AuthSettings {
  mode: AuthMode;
  tenantId: string | undefined;
  clientId: string | undefined;
  clientSecret: string | undefined;
  /** Audience of the GitHub ID token (federated credential audience). */
  audience: string;
  authorityHost: string;
  disableInstanceDiscovery: boolean;
}

export function wording(host: Pick<AuthHost, 'wording'>): HostWording {
  return host.wording ?? NEUTRAL_WORDING;
}

/** The claims of the last ID token presented to Entra: the hint for a federated-credential mismatch shows them. */
export interface PresentedAssertion {
  issuer: string | undefined;
  subject: string | undefined;
  audience: string | undefined;
}

export interface CredentialChoice {
  credential: TokenCredential;
  mode: ResolvedAuthMode;
  /** OIDC only: a credential for another app in another tenant, fed by the same GitHub ID tokens. */
  federated?: (tenantId: string, clientId: string) => TokenCredential;
  /** Filled once an ID token has been presented (OIDC only). */
  presented: () => PresentedAssertion | undefined;
  /** The last transport failure of the sign-in (an endpoint or proxy that did not answer), if any. */
  transportFailure?: () => ImportError | undefined;
}

/**
 * Picks the sign-in mode and checks it has what it needs, before any request: a run that cannot sign in fails here
 * with the fix, not after it has talked to registries.
 */
export function chooseAuthMode(settings: AuthSettings, host: AuthHost): ResolvedAuthMode {
  const mode = pickMode(settings, host);
  const missing: string[] = [];
  if (mode === 'oidc' || mode === 'client-secret') {
    if (!settings.clientId) missing.push('client-id (or AZURE_CLIENT_ID)');
    if (!settings.tenantId) missing.push('tenant-id (or AZURE_TENANT_ID)');
  }
  if (mode === 'client-secret' && !settings.clientSecret) missing.push('client-secret');
  if (mode === 'oidc' && !host.idToken) {
    throw new AuthError(
      `${wording(host).authMode('oidc')} needs ${wording(host).idTokenName}, but this run has none.`,
      wording(host).idTokenSetup,
    );
  }
  if (missing.length) {
    throw new AuthError(`auth: ${mode} needs ${missing.join(' and ')}.`, `Set ${missing.join(' and ')}.`);
  }
  return mode;
}

function pickMode(settings: AuthSettings, host: AuthHost): ResolvedAuthMode {
  if (settings.mode !== 'auto') return settings.mode;
  if (host.idToken && settings.clientId && settings.tenantId) return 'oidc';
  if (settings.clientSecret) return 'client-secret';
  if (host.azureCliAvailable) return 'azure-cli';
  if (host.managedIdentityPossible) return 'managed-identity';
  const missing: string[] = [];
  if (!host.idToken) missing.push(wording(host).idTokenMissing);
  if (!settings.clientId) missing.push('`client-id` (or AZURE_CLIENT_ID)');
  if (!settings.tenantId) missing.push('`tenant-id` (or AZURE_TENANT_ID)');
  const state = (ok: boolean): string => (ok ? 'set' : 'missing');
  throw new AuthError(
    [
      'No way to sign in to Azure was found; auth: auto tried every mode, and each lacks something:',
      `- oidc (recommended): needs ${wording(host).idTokenMissing} (${host.idToken ? 'present' : 'missing'}), client-id (${state(!!settings.clientId)}) and tenant-id (${state(!!settings.tenantId)}), and a federated credential for this identity on the app registration.`,
      `- client-secret: needs client-secret (missing), client-id (${state(!!settings.clientId)}) and tenant-id (${state(!!settings.tenantId)}).`,
      `- azure-cli: needs an az signed in before this step (${wording(host).existingSession}): ${host.azureCliNote ?? 'az is not signed in'}.`,
      '- managed-identity: needs a machine on Azure with a managed identity attached (hosted CI runners have none).',
    ].join('\n'),
    `For OIDC sign-in (recommended) add ${missing.join(', ')}, and a federated credential for this identity on the app registration. Alternatively set ${wording(host).authMode('client-secret')} with client-secret, or ${wording(host).existingSession}.`,
  );
}

let identityLibrary: Promise<typeof import('@azure/identity')> | undefined;

/**
 * @azure/identity (1.4 MB of bundle), loaded once the run's first requests are on the wire: its compile then overlaps
 * their round trip instead of holding up their TLS handshakes (issue 11).
 */
export function loadIdentity(): Promise<typeof import('@azure/identity')> {
  identityLibrary ??= requestOnTheWire().then(() => import('@azure/identity'));
  return identityLibrary;
}

/**
 * Builds the credential for the chosen mode. `@azure/identity` is loaded on first use, so a run's first request
 * (resolving a public source) does not wait for it to load.
 */
export async function createCredential(
  settings: AuthSettings,
  host: AuthHost,
  clock: Clock,
  mask: SecretSink,
  http: HttpClient,
): Promise<CredentialChoice> {
  const mode = chooseAuthMode(settings, host);
  // Loading @azure/identity takes a while: start it, and for OIDC fetch the GitHub ID token meanwhile.
  const identity = loadIdentity();
  const failures = failureRecorder();
  // The identity library sends through the engine's client: the same proxy decision and deadlines as every request.
  // Client-credential modes ask Entra for the tenant's OpenID configuration first: fetched now (identity-http.ts).
  const discoveryTenant = mode === 'managed-identity' || mode === 'azure-cli' ? undefined : settings.tenantId;
  const identityHttp = {
    httpClient: identityHttpClient(http, settings.authorityHost, failures, discoveryTenant),
    proxyOptions: IDENTITY_PROXY_OFF,
  };
  const common = {
    authorityHost: settings.authorityHost,
    disableInstanceDiscovery: settings.disableInstanceDiscovery,
    ...identityHttp,
  };
  const transportFailure = (): ImportError | undefined => failures.last();
  let presented: PresentedAssertion | undefined;
  const need = (value: string | undefined, input: string, env: string): string => {
    if (value) return value;
    throw new AuthError(
      `auth: ${mode} needs ${input}.`,
      `Set the ${input} input (or the ${env} environment variable).`,
    );
  };
  switch (mode) {
    case 'oidc': {
      const idToken = host.idToken;
      if (!idToken) {
        throw new AuthError(
          `${wording(host).authMode('oidc')} needs ${wording(host).idTokenName}, but this run has none.`,
          wording(host).idTokenSetup,
        );
      }
      // MSAL asks for the assertion more than once per token; GitHub ID tokens live ~5 minutes, so reuse one for at
      // most a minute, and only while it has more than a minute left (never an expired one: AADSTS700024).
      let cached: { token: string; at: number; expiresAt: number } | undefined;
      let pending: Promise<string> | undefined;
      const fetchAssertion = async (): Promise<string> => {
        const token = await fetchIdToken(idToken, settings.audience, clock, http, wording(host)).catch(
          (err: unknown) => {
            if (err instanceof ImportError) failures.record(err);
            throw err;
          },
        );
        failures.record(undefined);
        mask(token);
        presented = decodeClaims(token);
        cached = { token, at: clock.now(), expiresAt: expiryOf(token) ?? 0 };
        return token;
      };
      const getAssertion = (): Promise<string> => {
        const now = clock.now();
        if (cached && now - cached.at < 60_000 && cached.expiresAt - now > 60_000)
          return Promise.resolve(cached.token);
        pending ??= fetchAssertion().finally(() => (pending = undefined));
        return pending;
      };
      getAssertion().catch(() => undefined);
      const { ClientAssertionCredential } = await identity;
      return {
        mode,
        presented: () => presented,
        transportFailure,
        federated: (tenantId, clientId) =>
          new ClientAssertionCredential(tenantId, clientId, getAssertion, common),
        credential: new ClientAssertionCredential(
          need(settings.tenantId, 'tenant-id', 'AZURE_TENANT_ID'),
          need(settings.clientId, 'client-id', 'AZURE_CLIENT_ID'),
          getAssertion,
          common,
        ),
      };
    }
    case 'client-secret': {
      const { ClientSecretCredential } = await identity;
      return {
        mode,
        presented: () => undefined,
        transportFailure,
        credential: new ClientSecretCredential(
          need(settings.tenantId, 'tenant-id', 'AZURE_TENANT_ID'),
          need(settings.clientId, 'client-id', 'AZURE_CLIENT_ID'),
          need(settings.clientSecret, 'client-secret', 'AZURE_CLIENT_SECRET'),
          common,
        ),
      };
    }
    case 'managed-identity': {
      const { ManagedIdentityCredential } = await identity;
      return {
        mode,
        presented: () => undefined,
        transportFailure,
        credential: settings.clientId
          ? new ManagedIdentityCredential({ clientId: settings.clientId, ...identityHttp })
          : new ManagedIdentityCredential(identityHttp),
      };
    }
    case 'azure-cli': {
      const { AzureCliCredential } = await identity;
      return {
        mode,
        presented: () => undefined,
        credential: new AzureCliCredential(settings.tenantId ? { tenantId: settings.tenantId } : {}),
      };
    }
  }
}

/**
 * With the engine's client as `httpClient`, the identity library's own proxy policy must not read HTTPS_PROXY (it
 * parses it differently, and throws on a value without a scheme): given any settings, it only attaches an agent to
 * each request, which the engine's client ignores. The proxy is decided by the transport, once, for every request.
 */
const IDENTITY_PROXY_OFF = { host: 'http://proxy-decided-by-the-transport.invalid', port: 9 };

/**
 * What a host that signs in its own way (the Azure Pipelines task: its service connection) gets from the engine, once
 * the cloud is known: a custom cloud's authority as read from its ARM metadata, and the engine's HTTP client, so its
 * requests (Entra ID, its own token endpoint) get the run's one proxy decision and deadlines like every other request.
 */
export interface SignInContext {
  authorityHost: string;
  disableInstanceDiscovery: boolean;
  /** Spread into the options of every `@azure/identity` credential the host builds. */
  identityOptions: {
    httpClient: ReturnType<typeof identityHttpClient>;
    proxyOptions: typeof IDENTITY_PROXY_OFF;
  };
  /**
   * One request through the engine's client: no retries unless the host gives a policy (what is retried, Retry-After
   * and backoff are then the engine's).
   */
  send(request: HttpRequest, service: string, retry?: RetryPolicy): Promise<HttpResponse>;
}

/** A host's own sign-in: the target tenant's credential, and for federated sign-in one for another tenant's app. */
export interface HostSignIn {
  credential: TokenCredential;
  federated?: (tenantId: string, clientId: string) => TokenCredential;
}

/** The credential choice of a host's own sign-in (RunPorts.signIn), built with the discovered cloud. */
export async function hostCredential(
  signIn: (context: SignInContext) => HostSignIn | Promise<HostSignIn>,
  cloud: { authorityHost: string; disableInstanceDiscovery: boolean },
  http: HttpClient,
): Promise<CredentialChoice> {
  const failures = failureRecorder();
  const made = await signIn({
    authorityHost: cloud.authorityHost,
    disableInstanceDiscovery: cloud.disableInstanceDiscovery,
    identityOptions: {
      httpClient: identityHttpClient(http, cloud.authorityHost, failures),
      proxyOptions: IDENTITY_PROXY_OFF,
    },
    send: (request, service, retry) =>
      http.send(request, { service, retry: retry ?? false, followRedirects: false }),
  });
  return {
    credential: made.credential,
    mode: 'oidc',
    presented: () => undefined,
    transportFailure: () => failures.last(),
    ...(made.federated ? { federated: made.federated } : {}),
  };
}

/** How long one sign-in (one token, every request and retry it takes) may take at most. */
export const SIGN_IN_BUDGET_MS = 60_000;

/** Attempts at GitHub's OIDC endpoint, the first included (its own client retries only 502-504, without backoff). */
export const ID_TOKEN_ATTEMPTS = 4;

/**
 * Fetches the host's OIDC ID token (GitHub's), retrying what is worth retrying (5xx, 429, 408, a dropped connection) with jittered
 * backoff, at most ID_TOKEN_ATTEMPTS times; a refusal (401, 403, 404) fails at once with the permission hint.
 */
async function fetchIdToken(
  idToken: (audience: string, http: HttpClient) => Promise<string>,
  audience: string,
  clock: Clock,
  http: HttpClient,
  words: HostWording,
): Promise<string> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await idToken(audience, http);
    } catch (err) {
      // A proxy that refuses, a refused redirect: no retry helps, and the error already says what to do.
      if (err instanceof RemoteError && (err.code === 'ProxyRefused' || err.code === 'InsecureRedirect'))
        throw err;
      // The run is over (its client closed): nobody waits for this token any more.
      if (isClosedClient(err)) throw err;
      const text = (err instanceof Error ? err.message : String(err)).replace(/\s+/g, ' ').trim();
      // A host's own fetch may report 'Error Code : <status>' as @actions/core does ('undefined' when no answer came); the engine's own fetch
      // (requestGithubIdToken) throws a RemoteError with the status, or none when no answer came.
      const code = err instanceof RemoteError ? String(err.status) : /Error Code\s*:\s*(\w+)/.exec(text)?.[1];
      const status = code !== undefined && /^\d+$/.test(code) ? Number(code) : undefined;
      const transient =
        code === 'undefined' || (status !== undefined && (status === 408 || status === 429 || status >= 500));
      if (transient && attempt < ID_TOKEN_ATTEMPTS) {
        const backoff = 500 * 2 ** (attempt - 1);
        await clock.sleep(backoff / 2 + Math.random() * (backoff / 2));
        continue;
      }
      // A proxy that did not let the request through: its own error says so (not GitHub's side, not permissions).
      if (err instanceof RemoteError && err.code === 'ProxyFailed') throw err;
      throw new AuthError(
        `Could not get ${words.idTokenName}${transient ? ` (${attempt} attempts)` : ''}: ${text}`,
        transient
          ? `The endpoint that issues ${words.idTokenName} kept failing (${status !== undefined ? `HTTP ${status}` : 'no answer'}): a problem on its side, not in the set-up; run again.`
          : words.idTokenSetup,
        { cause: err },
      );
    }
  }
}

/** A JWT's `exp` in milliseconds, or undefined when it has none. */
function expiryOf(jwt: string): number | undefined {
  try {
    const claims = JSON.parse(Buffer.from(jwt.split('.')[1] ?? '', 'base64url').toString('utf8')) as {
      exp?: unknown;
    };
    return typeof claims.exp === 'number' ? claims.exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}

/** Reads a JWT's iss/sub/aud without verifying it (only for messages). */
export function decodeClaims(jwt: string): PresentedAssertion | undefined {
  const payload = jwt.split('.')[1];
  if (!payload) return undefined;
  try {
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
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

/**
 * One token per scope for the whole run, renewed shortly before it expires (or when a service says it expired).
 * Every token is masked the moment it arrives.
 */
export class TokenProvider {
  private readonly cache = new Map<string, Promise<{ token: string; expiresOn: number }>>();

  constructor(
    private readonly choice: Promise<
      Pick<CredentialChoice, 'credential' | 'mode' | 'presented' | 'transportFailure'>
    >,
    private readonly settings: Pick<AuthSettings, 'clientId' | 'tenantId' | 'audience'>,
    private readonly clock: Clock,
    private readonly mask: SecretSink,
    private readonly wording: HostWording = NEUTRAL_WORDING,
    /** Ends any sign-in still in flight (the run is over). */
    private readonly stop?: AbortSignal,
  ) {}

  async token(scope: string, fresh = false): Promise<string> {
    const cached = this.cache.get(scope);
    if (cached && !fresh) {
      const value = await cached.catch(() => undefined);
      if (value && value.expiresOn - this.clock.now() > 120_000) return value.token;
    }
    const pending = this.acquire(scope);
    this.cache.set(scope, pending);
    pending.catch(() => this.cache.delete(scope));
    return (await pending).token;
  }

  private async acquire(scope: string): Promise<{ token: string; expiresOn: number }> {
    const choice = await this.choice;
    let result;
    // Sign-in has a budget of its own: a stalled endpoint fails it, naming the endpoint, instead of holding the run.
    const budgetLimit = new AbortController();
    const cancelBudget = this.clock.timer(SIGN_IN_BUDGET_MS, () =>
      budgetLimit.abort(new DOMException('The sign-in budget ran out.', 'TimeoutError')),
    );
    const budget = budgetLimit.signal;
    try {
      result = await choice.credential.getToken(scope, {
        abortSignal: this.stop ? AbortSignal.any([budget, this.stop]) : budget,
      });
    } catch (err) {
      const failure = choice.transportFailure?.();
      if (budget.aborted) {
        throw new AuthError(
          `Signing in to Azure (${choice.mode}) for ${scope} did not finish within ${SIGN_IN_BUDGET_MS / 1000} s${failure ? `: ${failure.message}` : '.'}`,
          failure?.hint ??
            'Entra ID (or the endpoint that issues the token) did not answer: check authority-host and the network path (HTTPS_PROXY/NO_PROXY), then re-run.',
          { cause: err },
        );
      }
      throw translateAuthError(err, choice, this.settings, scope, this.wording);
    } finally {
      cancelBudget();
    }
    if (!result) throw new AuthError(`Entra ID returned no token for ${scope}.`);
    this.mask(result.token);
    return { token: result.token, expiresOn: result.expiresOnTimestamp };
  }
}

/** Entra's AADSTS codes, and @azure/identity's own failures, as the fix the user needs. */
export function translateAuthError(
  err: unknown,
  choice: Pick<CredentialChoice, 'mode' | 'presented' | 'transportFailure'>,
  settings: Pick<AuthSettings, 'clientId' | 'tenantId' | 'audience'>,
  scope: string,
  words: HostWording = NEUTRAL_WORDING,
): ImportError {
  if (err instanceof ImportError) return err;
  // An endpoint or proxy that did not answer is the cause, whatever the identity library made of it.
  const transport = choice.transportFailure?.();
  if (transport) return transport;
  const cause = err as { message?: unknown; cause?: unknown };
  const ownCause = cause.cause instanceof ImportError ? cause.cause : undefined;
  if (ownCause) return ownCause;
  const text = typeof cause.message === 'string' ? cause.message : String(err);
  const code = /AADSTS(\d+)/.exec(text)?.[1];
  // MSAL wraps Entra's answer in timestamps and trace ids; the AADSTS sentence is what a user needs.
  const aadsts = /AADSTS\d+:[^.]*\./.exec(text)?.[0];
  const detail = aadsts ?? text.split('\n')[0]!.slice(0, 600);
  const message = `Signing in to Azure (${choice.mode}) for ${scope} failed: ${detail}`;
  const app = settings.clientId ?? '<client-id>';
  switch (code) {
    case '70021':
    case '700211':
    case '700213':
    case '7002138': {
      const p = choice.presented();
      const subject = p?.subject ?? '<subject>';
      const issuer = p?.issuer ?? 'https://token.actions.githubusercontent.com';
      const audience = p?.audience ?? settings.audience;
      return new AuthError(
        message,
        `No federated credential of app ${app} matches what this run presented: issuer '${issuer}', subject '${subject}', audience '${audience}'. ` +
          `Add one that matches exactly (case-sensitive): az ad app federated-credential create --id ${app} --parameters '${JSON.stringify({ name: 'github-acr-import', issuer, subject, audiences: [audience] })}'. ` +
          'Runs from a pull request, an environment or a tag present other subjects than a branch.',
      );
    }
    case '700024':
      return new AuthError(
        message,
        'The OIDC ID token had expired or was not yet valid when Entra checked it; check the clock of the machine this runs on. acr-import fetches a fresh ID token for every Entra request.',
      );
    case '700016':
      return new AuthError(
        message,
        `Check client-id: no application ${app} exists in tenant ${settings.tenantId ?? '?'}.`,
      );
    case '90002':
      return new AuthError(message, 'Check tenant-id: Entra ID does not know this tenant.');
    case '7000215':
    case '7000222':
      return new AuthError(
        message,
        'The client secret is wrong or has expired: create a new secret and update client-secret.',
      );
    case '50053':
      return new AuthError(
        message,
        'The account is locked or sign-in is blocked; check the app in Entra ID.',
      );
  }
  if (choice.mode === 'azure-cli') {
    return new AuthError(
      message,
      `To use an Azure CLI session, ${words.existingSession}; or use ${words.authMode('oidc')}.`,
    );
  }
  if (choice.mode === 'managed-identity') {
    return new AuthError(
      message,
      `No managed identity answered: this works only on Azure-hosted machines with an identity attached; elsewhere use ${words.authMode('oidc')}.`,
    );
  }
  return new AuthError(message, 'Check tenant-id, client-id and the app registration in Entra ID.');
}
