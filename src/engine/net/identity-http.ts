/**
 * Requests of the sign-in: `@azure/identity` (Entra ID, managed identity endpoints) and GitHub's OIDC endpoint go
 * through the engine's own HTTP client, so they get what every other request gets: the one proxy decision of the
 * transport, a deadline for each answer, and failures that name the endpoint (and the proxy) that did not answer.
 */
import type { TokenCredentialOptions } from '@azure/identity';
import { ImportError, RemoteError } from '../errors.js';
import { isClosedClient, jsonBody, type HttpClient, type HttpRequest } from './http.js';

type AzureHttpClient = NonNullable<TokenCredentialOptions['httpClient']>;
type PipelineRequest = Parameters<AzureHttpClient['sendRequest']>[0];
type PipelineResponse = Awaited<ReturnType<AzureHttpClient['sendRequest']>>;
type HttpHeaders = PipelineResponse['headers'];

/** The last transport failure of a sign-in, so the error says what failed rather than what the library made of it. */
export interface FailureRecorder {
  record(err: ImportError | undefined): void;
  last(): ImportError | undefined;
}

export function failureRecorder(): FailureRecorder {
  let last: ImportError | undefined;
  return {
    record: (err) => (last = err),
    last: () => last,
  };
}

/**
 * An `httpClient` for `@azure/identity` on top of the engine's client. The library keeps its own retry policy, so the
 * engine's retries are off here; transport failures are handed back with the codes the library retries on
 * (ECONNRESET, ETIMEDOUT), except a proxy's refusal, which no retry cures.
 */
export function identityHttpClient(
  http: HttpClient,
  authorityHost: string,
  failures: FailureRecorder,
  tenantId?: string,
): AzureHttpClient {
  const authority = safeOrigin(authorityHost);
  const discovery = tenantId ? discoveryAhead(http, authorityHost, tenantId) : undefined;
  return {
    async sendRequest(request: PipelineRequest): Promise<PipelineResponse> {
      if (discovery && request.method === 'GET' && sameUrl(request.url, discovery.url)) {
        const early = await discovery.answer;
        if (early) return { request, status: 200, headers: headersOf(early.headers), bodyAsText: early.body };
      }
      const origin = safeOrigin(request.url);
      const service = origin === authority ? 'Entra ID' : `the sign-in endpoint ${origin ?? ''}`.trim();
      const body = request.body;
      if (body !== undefined && typeof body !== 'string') {
        throw new Error(`${service}: unsupported request body (${typeof body})`);
      }
      const req: HttpRequest = {
        method: request.method as HttpRequest['method'],
        url: request.url,
        headers: request.headers.toJSON(),
        ...(body !== undefined ? { body } : {}),
      };
      try {
        const res = await http.send(req, {
          service,
          retry: false,
          followRedirects: false,
          ...(request.abortSignal ? { signal: request.abortSignal as AbortSignal } : {}),
        });
        failures.record(undefined);
        return {
          request,
          status: res.status,
          headers: headersOf(res.headers),
          bodyAsText: res.body.toString('utf8'),
        };
      } catch (err) {
        if (request.abortSignal?.aborted) throw err;
        const failure = err instanceof ImportError ? err : undefined;
        failures.record(failure);
        const code = err instanceof RemoteError ? err.code : undefined;
        // The library's retry policy looks at RestErrors only (by name), and retries these system error codes.
        const wrapped = new Error(failure?.message ?? String(err), { cause: err }) as Error & {
          code?: string;
          request?: PipelineRequest;
        };
        wrapped.name = 'RestError';
        wrapped.request = request;
        wrapped.code =
          code === 'ProxyRefused' || code === 'InsecureRedirect' || isClosedClient(err)
            ? (code ?? 'ClientClosed')
            : code === 'NoAnswer' || code === 'TooSlow'
              ? 'ETIMEDOUT'
              : 'ECONNRESET';
        throw wrapped;
      }
    },
  };
}

/**
 * The tenant's OpenID configuration, asked for as soon as the sign-in is set up (issue 11). @azure/identity 4.14 passes
 * MSAL no authority metadata (generateMsalConfiguration sets only clientId, authority and knownAuthorities), so MSAL
 * fetches this document before its first token request, once per parallel token request; fetched here while the
 * library loads and the client assertion is fetched, MSAL's GETs of it are answered from this one answer. Only a 200
 * is kept: anything else (or no answer) sends MSAL's own request, whose failure it reports as always.
 */
function discoveryAhead(
  http: HttpClient,
  authorityHost: string,
  tenantId: string,
):
  | { url: string; answer: Promise<{ headers: Record<string, string>; body: string } | undefined> }
  | undefined {
  let url: string;
  try {
    const base = authorityHost.endsWith('/') ? authorityHost : `${authorityHost}/`;
    url = new URL(`${encodeURIComponent(tenantId)}/v2.0/.well-known/openid-configuration`, base).href;
  } catch {
    return undefined;
  }
  const answer = http
    .send({ method: 'GET', url }, { service: 'Entra ID', retry: false, followRedirects: false })
    .then(
      (res) => (res.status === 200 ? { headers: res.headers, body: res.body.toString('utf8') } : undefined),
      () => undefined,
    );
  return { url, answer };
}

function sameUrl(a: string, b: string): boolean {
  try {
    return new URL(a).href === b;
  } catch {
    return false;
  }
}

/**
 * Fetches a GitHub Actions ID token from the runner's endpoint (ACTIONS_ID_TOKEN_REQUEST_URL and _TOKEN), one
 * attempt: the caller retries. A failure is a RemoteError with the endpoint's status, or none when it did not answer.
 */
export async function requestGithubIdToken(
  http: HttpClient,
  endpoint: { url: string; token: string },
  audience: string,
): Promise<string> {
  const url = new URL(endpoint.url);
  if (audience) url.searchParams.set('audience', audience);
  const service = "GitHub's OIDC endpoint";
  const res = await http.send(
    {
      method: 'GET',
      url: url.toString(),
      headers: { authorization: `Bearer ${endpoint.token}`, accept: 'application/json' },
    },
    { service, retry: false, followRedirects: false },
  );
  const value = (jsonBody(res) as { value?: unknown } | undefined)?.value;
  if (res.status === 200 && typeof value === 'string' && value !== '') return value;
  throw new RemoteError({
    service,
    status: res.status,
    message: `${service} answered HTTP ${res.status}${res.status === 200 ? ' without a token' : ''}`,
    retryable: res.status === 408 || res.status === 429 || res.status >= 500,
  });
}

function safeOrigin(url: string): string | undefined {
  try {
    return new URL(url).origin;
  } catch {
    return undefined;
  }
}

function headersOf(raw: Record<string, string>): HttpHeaders {
  const map = new Map<string, { name: string; value: string }>();
  for (const [name, value] of Object.entries(raw)) map.set(name.toLowerCase(), { name, value });
  const headers: HttpHeaders = {
    get: (name) => map.get(name.toLowerCase())?.value,
    has: (name) => map.has(name.toLowerCase()),
    set: (name, value) => {
      map.set(name.toLowerCase(), { name, value: String(value) });
    },
    delete: (name) => {
      map.delete(name.toLowerCase());
    },
    toJSON: (options) => {
      const out: Record<string, string> = {};
      for (const [key, entry] of map) out[options?.preserveCase ? entry.name : key] = entry.value;
      return out;
    },
    [Symbol.iterator]: function* () {
      for (const entry of map.values()) yield [entry.name, entry.value] as [string, string];
    },
  };
  return headers;
}
