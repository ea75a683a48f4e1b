/**
 * Azure Resource Manager: find registries and run `importImage` as a long-running operation.
 * Every ARM error is translated into what to do about it (the role to grant, the input to change).
 */
import { randomUUID } from 'node:crypto';
import { AuthError, RemoteError } from '../errors.js';
import {
  DEFAULT_RETRY,
  describeUrl,
  jsonBody,
  parseRetryAfter,
  type HttpClient,
  type HttpResponse,
} from '../net/http.js';
import type { Clock, Logger } from '../ports.js';

export const IMPORTER_ROLE = 'Container Registry Data Importer and Data Reader';

/** The error code of an operation or paging URL that is not on ARM's own https origin (never retried). */
export const UNTRUSTED_ARM_URL = 'UntrustedArmUrl';

export interface RegistryResource {
  id: string;
  name: string;
  subscriptionId: string;
  resourceGroup: string;
  location: string;
  loginServer: string;
  sku: string;
  /** Whether the data plane accepts ARM-audience Entra tokens at /oauth2/exchange (default true). */
  armTokenAuth: boolean;
  publicNetworkAccess: boolean;
}

export interface ImportImageBody {
  source: {
    resourceId?: string;
    registryUri?: string;
    sourceImage: string;
    credentials?: { username?: string; password: string };
  };
  targetTags?: string[];
  untaggedTargetRepositories?: string[];
  mode: 'Force' | 'NoForce';
}

export type ImportStart =
  { done: true } | { done: false; location: string; retryAfterMs: number | undefined };
export type ImportPoll =
  | { state: 'running'; retryAfterMs: number | undefined; location: string }
  | { state: 'succeeded' }
  | { state: 'failed'; code: string | undefined; message: string };

export interface ArmErrorBody {
  code: string | undefined;
  message: string | undefined;
}

const REGISTRY_ID =
  /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/Microsoft\.ContainerRegistry\/registries\/([^/]+)$/i;

export function parseRegistryId(
  id: string,
): { subscriptionId: string; resourceGroup: string; name: string } | undefined {
  const m = REGISTRY_ID.exec(id);
  return m ? { subscriptionId: m[1]!, resourceGroup: m[2]!, name: m[3]! } : undefined;
}

export function registryId(subscriptionId: string, resourceGroup: string, name: string): string {
  return `/subscriptions/${subscriptionId}/resourceGroups/${resourceGroup}/providers/Microsoft.ContainerRegistry/registries/${name}`;
}

export class ArmClient {
  constructor(
    private readonly http: HttpClient,
    private readonly clock: Clock,
    private readonly endpoint: string,
    private readonly apiVersion: string,
    /** A valid ARM bearer token; `fresh` asks for a new one after ARM said the old one expired. */
    private readonly token: (fresh: boolean) => Promise<string>,
    /** Debug lines: each request's x-ms-client-request-id with ARM's x-ms-correlation-request-id (support cases). */
    private readonly logger?: Logger,
    /** A throttling wait (Retry-After) longer than the retry policy allows is still waited when it ends before this. */
    private readonly waitUntil?: number,
  ) {}

  async getRegistry(id: string): Promise<RegistryResource> {
    const res = await this.call(
      'GET',
      this.url(`${id}?api-version=${this.apiVersion}`),
      undefined,
      `reading registry ${id}`,
    );
    return toRegistry(jsonBody(res));
  }

  /** Every registry of the subscription the caller can see (follows nextLink). */
  async listRegistries(subscriptionId: string): Promise<RegistryResource[]> {
    const out: RegistryResource[] = [];
    let next: string | undefined = this.url(
      `/subscriptions/${subscriptionId}/providers/Microsoft.ContainerRegistry/registries?api-version=${this.apiVersion}`,
    );
    for (let page = 0; next && page < 1000; page++) {
      const res = await this.call(
        'GET',
        next,
        undefined,
        `listing the registries of subscription ${subscriptionId}`,
      );
      const body = jsonBody(res) as { value?: unknown[]; nextLink?: unknown } | undefined;
      for (const item of body?.value ?? []) out.push(toRegistry(item));
      next =
        typeof body?.nextLink === 'string' && body.nextLink
          ? this.ownUrl(body.nextLink, 'the next page of registries (nextLink)')
          : undefined;
    }
    return out;
  }

  async beginImport(
    target: RegistryResource,
    body: ImportImageBody,
    signal?: AbortSignal,
  ): Promise<ImportStart> {
    const res = await this.call(
      'POST',
      this.url(`${target.id}/importImage?api-version=${this.apiVersion}`),
      JSON.stringify(body),
      `importing into ${target.name}`,
      signal,
    );
    if (res.status === 202) {
      const location = res.headers['location'] ?? res.headers['azure-asyncoperation'];
      if (!location) return { done: true };
      return {
        done: false,
        location: this.ownUrl(location, 'the import operation (Location)'),
        retryAfterMs: parseRetryAfter(res.headers['retry-after'], this.clock.now()),
      };
    }
    return { done: true };
  }

  /** One look at the operation: 202 = running; 200/204 = done, unless the body says Failed. */
  async pollImport(location: string, signal?: AbortSignal): Promise<ImportPoll> {
    const url = this.ownUrl(location, 'the import operation (Location)');
    const res = await this.call('GET', url, undefined, 'checking the import operation', signal, true);
    const body = jsonBody(res) as
      { status?: unknown; error?: { code?: unknown; message?: unknown } } | undefined;
    if (res.status < 300 && res.body.length > 0 && (typeof body !== 'object' || body === null)) {
      // A body that cannot be read (cut off, not JSON) says nothing about the operation: not final, look again.
      return {
        state: 'running',
        retryAfterMs: parseRetryAfter(res.headers['retry-after'], this.clock.now()),
        location: url,
      };
    }
    const status = typeof body?.status === 'string' ? body.status.toLowerCase() : undefined;
    if (res.status >= 400) {
      // An ARM error body is the operation's final state: report it at once. Throttling, a gateway's 502-504 and an
      // answer without one are not: the caller polls again (transport failures likewise).
      const err = armErrorBody(res);
      const final =
        typeof body?.error === 'object' &&
        body.error !== null &&
        ![408, 429, 502, 503, 504].includes(res.status);
      if (!final) {
        throw new RemoteError({
          service: 'Azure Resource Manager',
          status: res.status,
          code: err.code,
          message: `Azure Resource Manager answered HTTP ${res.status} to a poll of the import operation${err.message ? `: ${err.message}` : ''}`,
          retryable: true,
          retryAfterMs: parseRetryAfter(res.headers['retry-after'], this.clock.now()),
        });
      }
      return { state: 'failed', code: err.code, message: err.message ?? `HTTP ${res.status}` };
    }
    if (status === 'failed' || status === 'canceled' || status === 'cancelled') {
      const code = typeof body?.error?.code === 'string' ? body.error.code : undefined;
      const message = typeof body?.error?.message === 'string' ? body.error.message : `import ${status}`;
      return { state: 'failed', code, message };
    }
    const running =
      res.status === 202 ||
      (status !== undefined && !['succeeded', 'failed'].includes(status) && status !== '');
    if (running) {
      return {
        state: 'running',
        retryAfterMs: parseRetryAfter(res.headers['retry-after'], this.clock.now()),
        location: res.headers['location']
          ? this.ownUrl(res.headers['location'], 'the import operation (Location)')
          : url,
      };
    }
    return { state: 'succeeded' };
  }

  /**
   * A URL from one of ARM's answers (an operation to poll, the next page), before the ARM token goes to it: only https
   * on the ARM endpoint's own origin. Anything else fails here, with no request sent.
   */
  private ownUrl(url: string, what: string): string {
    const origin = new URL(this.endpoint).origin;
    let parsed: URL | undefined;
    try {
      parsed = new URL(url, this.endpoint);
    } catch {
      parsed = undefined;
    }
    if (parsed && parsed.protocol === 'https:' && parsed.origin === origin) return parsed.toString();
    throw new RemoteError({
      service: 'Azure Resource Manager',
      code: UNTRUSTED_ARM_URL,
      message: `Azure Resource Manager gave ${what} as ${parsed ? describeUrl(parsed.toString()) : JSON.stringify(url.slice(0, 80))}, which is not an https URL on ${origin}; refusing to send the ARM token there.`,
      hint: `resource-manager-endpoint is ${origin}: operation and paging URLs must be https URLs on that origin. Something between the runner and ARM (a proxy or gateway) rewrites its answers: fix it, or set resource-manager-endpoint to the origin ARM answers on.`,
    });
  }

  private url(pathAndQuery: string): string {
    return `${this.endpoint.replace(/\/+$/, '')}${pathAndQuery}`;
  }

  private async call(
    method: 'GET' | 'POST',
    url: string,
    body: string | undefined,
    what: string,
    signal?: AbortSignal,
    pollUrl = false,
  ): Promise<HttpResponse> {
    for (let attempt = 1; ; attempt++) {
      const token = await this.token(attempt > 1);
      const clientRequestId = randomUUID();
      const res = await this.http.send(
        {
          method,
          url,
          headers: {
            authorization: `Bearer ${token}`,
            accept: 'application/json',
            'x-ms-client-request-id': clientRequestId,
            ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
          },
          ...(body !== undefined ? { body } : {}),
        },
        {
          service: 'Azure Resource Manager',
          followRedirects: false,
          ...(signal ? { signal } : {}),
          // A poll is one look: the caller decides when to look again.
          ...(pollUrl ? { retry: false as const } : {}),
          ...(this.waitUntil !== undefined && !pollUrl ? { waitUntil: this.waitUntil } : {}),
        },
      );
      this.logger?.debug(
        `Azure Resource Manager: ${method} ${new URL(url).pathname} -> HTTP ${res.status}; x-ms-client-request-id ${clientRequestId}, x-ms-correlation-request-id ${res.headers['x-ms-correlation-request-id'] ?? '(none)'}`,
      );
      const err = res.status >= 400 ? armErrorBody(res) : undefined;
      if (res.status === 401 && err?.code === 'ExpiredAuthenticationToken' && attempt === 1) continue;
      if (res.status < 400 || pollUrl) return res;
      throw armError(res, err!, what);
    }
  }
}

function toRegistry(raw: unknown): RegistryResource {
  const r = raw as {
    id?: string;
    name?: string;
    location?: string;
    sku?: { name?: string };
    properties?: {
      loginServer?: string;
      publicNetworkAccess?: string;
      policies?: { azureADAuthenticationAsArmPolicy?: { status?: string } };
    };
  };
  const parsed = r.id ? parseRegistryId(r.id) : undefined;
  if (!r.id || !parsed || !r.properties?.loginServer) {
    throw new RemoteError({
      service: 'Azure Resource Manager',
      message: 'Azure Resource Manager returned a registry without id or properties.loginServer.',
    });
  }
  return {
    id: r.id,
    name: r.name ?? parsed.name,
    subscriptionId: parsed.subscriptionId,
    resourceGroup: parsed.resourceGroup,
    location: r.location ?? '',
    loginServer: r.properties.loginServer.toLowerCase(),
    sku: r.sku?.name ?? '',
    armTokenAuth:
      r.properties.policies?.azureADAuthenticationAsArmPolicy?.status?.toLowerCase() !== 'disabled',
    publicNetworkAccess: r.properties.publicNetworkAccess?.toLowerCase() !== 'disabled',
  };
}

export function armErrorBody(res: HttpResponse): ArmErrorBody {
  const body = jsonBody(res) as { error?: { code?: unknown; message?: unknown } } | undefined;
  return {
    code: typeof body?.error?.code === 'string' ? body.error.code : undefined,
    message: typeof body?.error?.message === 'string' ? body.error.message : undefined,
  };
}

/** Turns an ARM error into what the user should do about it. */
function armError(res: HttpResponse, err: ArmErrorBody, what: string): Error {
  const text = err.message ?? `HTTP ${res.status}`;
  const message = `Azure Resource Manager refused ${what}: ${err.code ? `${err.code}: ` : ''}${text}`;
  const base = { service: 'Azure Resource Manager', status: res.status, code: err.code, message };
  switch (err.code) {
    case 'AuthorizationFailed': {
      const scope = /over scope '([^']+)'/.exec(text)?.[1];
      const client = /client '([^']+)'/.exec(text)?.[1];
      const listing = what.startsWith('listing');
      const hint =
        `Grant the signed-in identity the role "${IMPORTER_ROLE}" (or Contributor) on the target registry: ` +
        `az role assignment create --assignee ${client ?? '<client-id>'} --role "${IMPORTER_ROLE}" --scope ${listing ? '<registry-resource-id>' : (scope ?? '<registry-resource-id>')}. ` +
        (listing
          ? 'Finding the registry by name lists the subscription: give registry as its resource ID (or set resource-group) to need no more than that role. '
          : '') +
        'For a source ACR given by resource ID the identity also needs AcrPull (or the same role) on the source. Role assignments can take a few minutes to apply.';
      return new AuthError(message, hint);
    }
    case 'LinkedAuthorizationFailed': {
      const linked = /linked scope\(s\) '([^']+)'/.exec(text)?.[1] ?? '<source-registry-resource-id>';
      return new AuthError(
        message,
        `The identity may import into the target but may not pull from the source registry ${linked}: grant it AcrPull (or "${IMPORTER_ROLE}") there. ` +
          'A source registry in another tenant cannot be given by resource ID, since Azure authorises it only within one tenant: give its login server in source with source-username and source-password, or with source-tenant-id and source-client-id.',
      );
    }
    case 'InvalidAuthenticationTokenTenant':
      return new AuthError(
        message,
        'The token comes from another tenant than the subscription: set tenant-id to the tenant of subscription-id (the tenant named in the message).',
      );
    case 'InvalidAuthenticationToken':
    case 'ExpiredAuthenticationToken':
    case 'AuthenticationFailed':
      return new AuthError(
        message,
        'ARM did not accept the access token: check environment / resource-manager-endpoint match the cloud of the subscription.',
      );
    case 'SubscriptionNotFound':
      return new RemoteError({
        ...base,
        hint: 'Check subscription-id (or AZURE_SUBSCRIPTION_ID), and that the identity has a role in that subscription.',
      });
    case 'ResourceGroupNotFound':
      return new RemoteError({
        ...base,
        hint: 'Check resource-group, or leave it empty to look the registry up by name.',
      });
    case 'ResourceNotFound':
      return new RemoteError({
        ...base,
        hint: 'Check registry (name, login server or resource ID), resource-group and subscription-id.',
      });
    default:
      return new RemoteError({
        ...base,
        hint: transientHint(res),
        retryable: res.status === 429 || res.status >= 500,
      });
  }
}

/** What to do when ARM's throttling or failures outlasted the retries (each request is retried within bounds). */
function transientHint(res: HttpResponse): string | undefined {
  if (res.status === 429) {
    const wait = res.headers['retry-after'];
    return (
      `Azure Resource Manager is throttling requests for this subscription${wait ? ` (it asked to wait ${wait.trim()}${/^\d+$/.test(wait.trim()) ? ' s' : ''})` : ''}, ` +
      `longer than the image's timeout leaves (the action waits as ARM asks while the wait ends within timeout, up to ${DEFAULT_RETRY.maxAttempts} attempts). Raise timeout to let it wait, or re-run later; other automation may be using up the subscription limits (lower max-parallel).`
    );
  }
  if (res.status >= 500) {
    return `Azure Resource Manager kept failing (HTTP ${res.status}) through up to ${DEFAULT_RETRY.maxAttempts} attempts: a service-side problem; re-run later and check https://azure.status.microsoft.`;
  }
  return undefined;
}
