/**
 * The test bed's public shape: what tests, the demo and the benchmark see.
 *
 * The bed = real `docker-registry` processes (CNCF distribution) on 127.0.0.1 + one emulator process (Node, HTTPS)
 * that plays GitHub's OIDC endpoint, Entra ID, ARM, a Docker-Hub-like token server and the ACR data plane in front of
 * each emulated ACR's backing registry. Test-only code: nothing here enters dist/index.js.
 */

/** A seeded image, with digests computed from the bytes the seeder pushed. */
export interface SeededImage {
  repository: string;
  tag: string;
  /** Digest of the top-level manifest (index/list digest for multi-arch). */
  digest: string;
  mediaType: string;
  /** For an index/list: one entry per platform manifest. */
  platforms: { platform: string; digest: string; mediaType: string }[];
  /** Every blob digest referenced (configs and layers of all platforms). */
  blobs: string[];
  /** Its signatures and SBOMs (testbed/seed-referrers.ts), subjects first; `tag` for cosign's sha256-<hex>.sig. */
  referrers?: { digest: string; artifactType: string; subject: string; tag?: string }[];
}

/** A plain registry the action may import from (not an ACR). */
export interface SourceRegistry {
  /** `127.0.0.1:PORT`: what a user writes in `source`, and what `registryUri` carries. */
  host: string;
  /** `https://127.0.0.1:PORT` */
  url: string;
  /** Credentials accepted by this registry (for `private` and for `hub`'s authenticated pulls). */
  username?: string;
  password?: string;
  /** Seeded images by key (see the seed list in bed.ts). */
  images: Record<string, SeededImage>;
}

/** An emulated Azure Container Registry. */
export interface EmulatedAcr {
  name: string;
  /** ARM resource ID. */
  resourceId: string;
  subscriptionId: string;
  resourceGroup: string;
  tenantId: string;
  /** `127.0.0.1:PORT` of the emulator's data-plane listener for this registry (properties.loginServer). */
  loginServer: string;
  /** Plain-HTTP URL of the backing docker-registry: the independent witness for what the ACR holds. */
  backendUrl: string;
  /** false: the data plane answers 403 to everyone (public network access disabled); import still works. */
  publicNetworkAccess: boolean;
  images: Record<string, SeededImage>;
}

export interface Principal {
  /** Application (client) ID. */
  clientId: string;
  tenantId: string;
  objectId: string;
  clientSecret?: string;
  /** GitHub OIDC subjects with a federated credential on this app. */
  federatedSubjects: string[];
}

export interface Bed {
  /** PEM file of the bed's CA; processes that talk to the bed get it via NODE_EXTRA_CA_CERTS. */
  caFile: string;
  caPem: string;
  /** Working directory of this bed (configs, storage, logs); removed on stop. */
  dir: string;

  oidc: { requestUrl: string; requestToken: string; issuer: string; subject: string };
  entra: { authorityHost: string };
  arm: { endpoint: string };
  /** App Service-style managed identity endpoint (IDENTITY_ENDPOINT / IDENTITY_HEADER). */
  managedIdentity: { endpoint: string; header: string; clientId: string };

  tenants: { main: string; other: string };
  subscriptions: { main: string; second: string; otherTenant: string };
  principals: {
    /** Federated (OIDC) + secret; may import into `target`, pull from `source`, `locked` and `otherSub`. */
    deployer: Principal;
    /** Signs in fine but has no role on any registry (403 AuthorizationFailed). */
    reader: Principal;
    /** App in the other tenant; may pull from `otherTenant`. */
    foreign: Principal;
  };

  sources: { hub: SourceRegistry; mcr: SourceRegistry; private: SourceRegistry };
  acrs: {
    target: EmulatedAcr;
    source: EmulatedAcr;
    locked: EmulatedAcr;
    otherSub: EmulatedAcr;
    otherTenant: EmulatedAcr;
  };

  control: EmulatorControl;

  /** Environment for `node dist/index.js`, as a GitHub runner with `id-token: write` sets it (plus the CA). */
  runnerEnv(): Record<string, string>;
  /** The inputs every run needs to point the action at the emulator instead of Azure. */
  baseInputs(): Record<string, string>;

  /** Manifest digest a repository:tag holds in an emulated ACR, read from its backing registry. */
  digestOf(acr: EmulatedAcr, repository: string, tagOrDigest: string): Promise<string | undefined>;
  stop(): Promise<void>;
}

/** Fault switches; each applies until reset. */
export interface Faults {
  /** importImage answers 200 at once when the copy takes less than this (ms); otherwise 202. Default 0: always 202. */
  syncThresholdMs?: number;
  /** Extra time each import takes after its copy finished (ms). */
  importLatencyMs?: number;
  /**
   * Where importLatencyMs falls (issue 11): 'copy-first' (default) copies at once and reports done importLatencyMs
   * later, so the target holds the image long before ARM says so; 'tags-at-end' spends importLatencyMs first and
   * copies at the end, so the target's tags appear only as the operation ends.
   */
  importLatencyModel?: 'copy-first' | 'tags-at-end';
  /** Time each import waits before its copy starts (ms): the target shows nothing of it until then. */
  importDelayMs?: number;
  /** Retry-After on 202 answers: seconds as a number, or 'http-date', or 'none'. Default 10. */
  retryAfter?: number | 'http-date' | 'none';
  /** How a failed import is reported: 'status' = 200 {status:'Failed',error}; 'http' = 4xx/5xx with ARM error body. */
  failureForm?: 'status' | 'http';
  /** Make the next N imports fail with this ARM error. */
  failImports?: { count: number; code: string; message: string };
  /**
   * Imports never finish (Location keeps answering 202): every import (`true`), or only those whose source repository
   * is `sourceRepository` (so other images of the same run still finish).
   */
  hangImports?: boolean | { sourceRepository: string };
  /** 429 with Retry-After on the first N requests to a service ('arm' includes poll URLs; 'entra' includes the managed identity endpoint; 'hub' = the hub token server). */
  throttle?: {
    service: 'arm' | 'entra' | 'hub' | 'oidc' | 'azuredevops';
    count: number;
    retryAfter?: number | 'http-date';
  };
  /** A one-off 5xx from a service: the next N requests get this status ('arm' = every ARM request except the importImage poll URLs, which are 'poll'). */
  serverError?: {
    service: 'arm' | 'entra' | 'hub' | 'oidc' | 'poll' | 'azuredevops';
    count: number;
    status: number;
  };
  /** Destroy the socket without an answer on the next N requests to a service. */
  dropConnections?: { service: 'arm' | 'entra' | 'oidc' | 'azuredevops'; count: number };
  /**
   * How the token servers (every ACR's `/oauth2/token` and the hub's) treat several scopes in one request (`scope`
   * repeated, as ACR's REST specification and the token spec describe it, or several in one field separated by
   * spaces, OAuth2's form; both are read): 'all' (default) grants each as the caller's rights allow; 'first' grants
   * only the first, as a server that reads one would; 'refuse' answers 400 to a request with more than one.
   */
  tokenScopes?: 'all' | 'first' | 'refuse';
  /** Lifetime in seconds of every token the emulator issues (defaults: Entra 3600, ACR refresh 10800 and access 4500, hub 300, OIDC 300). */
  tokenLifetimeSeconds?: number;
  /** The OIDC subject the GitHub endpoint puts in ID tokens (default the bed's branch subject). */
  oidcSubject?: string;
  /**
   * Unconfirmed forms of real ACR/Entra answers (see acr-import-api.md §8), so the action can be run against each.
   * `asyncOperationHeader`: 202 answers of importImage also carry an `Azure-AsyncOperation` status URL
   * (`200 {"status":"InProgress"|"Succeeded"|"Failed"}`). Default false (only `Location`, as the spec says).
   */
  asyncOperationHeader?: boolean;
  /** Shape of the `Location` URL: 'observed' (`/subscriptions/{s}/providers/.../locations/EASTUS/operationResults/registries-{guid}`, default) or 'spec' (the spec example's, under the resource group with `operationStatuses/`). */
  locationForm?: 'observed' | 'spec';
  /** AADSTS code for a federated credential that does not match the assertion: 70021 (default) or the newer 700213 (subject) wording. */
  federatedMismatchCode?: 70021 | 700213;
  /**
   * How ARM answers `GET /metadata/endpoints`: 'current' (default) serves the array form (2019-05-01 and later, every
   * cloud listed, the emulator's last) and the 2015-01-01 object form; 'legacy' (an older Azure Stack Hub) serves only
   * 2015-01-01 and refuses newer api-versions with 400 InvalidApiVersionParameter.
   */
  armMetadata?: 'current' | 'legacy';
  /**
   * `NoForce` fails on any existing target tag, even one that already holds the same manifest (the spec's wording,
   * "any existing target tag fails the op"; the service's behaviour for the same manifest is unconfirmed).
   */
  strictNoForce?: boolean;
  /**
   * Source hosts that Azure's import service reaches although the runner cannot (another network path): importImage
   * with `registryUri` = a key pulls from the 127.0.0.1 registry it maps to. E.g. `{"127.0.0.1:9": "127.0.0.1:5001"}`.
   */
  azureReaches?: Record<string, string>;
  /**
   * A registry's network settings changed at run time, by registry name (`targetacr`, `lockedacr` ...), over its
   * configured ones. `publicNetworkAccess: false`: its data plane answers 403 DENIED to every client (the runner and
   * imports by login server alike). `trustedServices: false` (networkRuleBypassOptions `None`; default true =
   * `AzureServices`): with public access off, importImage cannot reach it either, as target or as a `resourceId`
   * source, and the operation fails with the registry's firewall refusal. ARM's registry GET shows both settings.
   */
  network?: Record<string, { publicNetworkAccess?: boolean; trustedServices?: boolean }>;
  /**
   * importImage of a source manifest with one of these digests reports success but copies nothing: a registry that
   * accepts the request and does not store the manifest (what verifying copied referrers guards against).
   */
  silentImportDigests?: string[];
}

export interface LoggedRequest {
  /** Which emulated service: 'oidc' | 'entra' | 'arm' | 'hubauth' | 'msi' | 'acr:<name>'. */
  service: string;
  method: string;
  /** Path and query as received. */
  url: string;
  /** Request headers, lower-case names (authorization included: tests check where secrets went). */
  headers: Record<string, string>;
  /** Request body as text (form or JSON), if any. */
  body: string;
  status: number;
  time: number;
  /** ARM's request ids in the answer (`x-ms-request-id`, `x-ms-correlation-request-id`, `x-ms-client-request-id`). */
  responseIds?: Record<string, string>;
}

export interface EmulatorControl {
  setFaults(faults: Faults): Promise<void>;
  /** Clears faults and the request log; registry content is kept. */
  reset(): Promise<void>;
  requests(filter?: { service?: string }): Promise<LoggedRequest[]>;
  clearRequests(): Promise<void>;
  /** Every token the emulator issued so far (ID tokens, Entra, ACR refresh/access, hub tokens): for leak checks. */
  issuedSecrets(): Promise<string[]>;
}
