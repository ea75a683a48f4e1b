/**
 * Sign-in wiring: the one HTTP client, Entra token provider and ARM client of a run, and the registry clients and
 * target watches its images share (each made once, when something first needs it).
 */
import { AcrAuthorizer } from '../clients/acr.js';
import { ArmClient, type RegistryResource } from '../clients/arm.js';
import { RegistryClient, TokenServerAuthorizer } from '../clients/registry.js';
import type { ImportConfig } from '../config/model.js';
import { HttpClient, REQUEST_DEADLINE_MS } from '../net/http.js';
import type { AuthHost, Logger, RunPorts } from '../ports.js';
import { registryApiHost } from '../reference.js';
import { discoverCloud } from './cloud.js';
import { handled, imageTimeout } from './limits.js';
import {
  chooseAuthMode,
  createCredential,
  hostCredential,
  loadIdentity,
  TokenProvider,
  wording,
  type CredentialChoice,
} from './sign-in.js';
import { limiter } from './referrers.js';
import { findTargetRegistry } from './target.js';
import { RegistryWatch } from './watch.js';
import type { TimeoutError } from '../errors.js';
import type { HostWording } from '../ports.js';

export type { RunPorts } from '../ports.js';

/**
 * Public registries that serve their images without a challenge (no token to learn): the images of a batch read them
 * at once instead of waiting for the first answer (clients/registry.ts, authorizedSend).
 */
const ANONYMOUS_REGISTRIES = new Set(['mcr.microsoft.com']);

export class Session {
  readonly http: HttpClient;
  readonly log: Logger;
  readonly choice: Promise<CredentialChoice>;
  readonly mode: string;
  readonly tokens: TokenProvider;
  readonly arm: ArmClient;
  readonly wording: HostWording;
  /** Aborted when the run is over: sign-ins still in flight (a stalled endpoint) stop then. */
  readonly stopped = new AbortController();
  /** The import operation each image waits for, by the image's abort signal: a timeout names it. */
  readonly operations = new WeakMap<AbortSignal, string>();
  /** The run-wide max-parallel for referrer imports. */
  readonly referrerSlots: <T>(work: () => Promise<T>) => Promise<T>;
  private registryList: Promise<RegistryResource[]> | undefined;
  private target: Promise<RegistryResource> | undefined;
  private targetClient: Promise<RegistryClient> | undefined;
  private readonly acrClients = new Map<string, RegistryClient>();
  /** One client per plain source registry: a token it gets for a repository serves every image read from there. */
  private readonly sourceClients = new Map<string, RegistryClient>();
  /** One watch per target registry client: its looks are shared between images, and so is a 429 pause. */
  private readonly watches = new Map<RegistryClient, RegistryWatch>();

  constructor(
    readonly config: ImportConfig,
    readonly ports: RunPorts,
  ) {
    this.log = ports.logger;
    this.referrerSlots = limiter(config.maxParallel);
    this.wording = wording(ports.authHost);
    // No single request may use more than half of an image's time (and never more than 30 s): one that stalls or
    // dribbles fails, naming its service, while the image still has time to report it.
    this.http = new HttpClient(ports.transport, ports.clock, ports.logger, {
      requestDeadlineMs: Math.min(REQUEST_DEADLINE_MS, Math.max(1_000, Math.floor(config.timeoutMs / 2))),
    });
    const auth = {
      mode: config.auth,
      tenantId: config.tenantId,
      clientId: config.clientId,
      clientSecret: config.clientSecret,
      audience: config.audience,
      authorityHost: config.cloud.authorityHost,
      disableInstanceDiscovery: config.cloud.disableInstanceDiscovery,
    };
    // Choosing the mode is synchronous, so a run with no way to sign in fails before any request.
    this.mode = ports.signIn || ports.credential ? 'given' : chooseAuthMode(auth, ports.authHost);
    // A custom cloud (resource-manager-endpoint) names its token audience and authority in its ARM metadata.
    const cloud = config.cloud.discoverMetadata
      ? handled(() => discoverCloud(config.cloud, this.http, this.log))
      : Promise.resolve(config.cloud);
    // Loading the identity library takes a while: start it now, while the cloud metadata is read (issue 11).
    if (!ports.credential && !ports.signIn && config.cloud.discoverMetadata)
      loadIdentity().catch(() => undefined);
    // The GitHub ID token needs no cloud metadata: fetch it while the metadata is read (issue 11).
    const authHost =
      config.cloud.discoverMetadata && this.mode === 'oidc'
        ? idTokenAhead(ports.authHost, config.audience, this.http, ports.mask)
        : ports.authHost;
    const signIn = ports.signIn;
    this.choice = signIn
      ? cloud.then((c) => hostCredential(signIn, c, this.http))
      : ports.credential
        ? Promise.resolve({ credential: ports.credential, mode: 'oidc', presented: () => undefined })
        : cloud.then((c) =>
            createCredential(
              {
                ...auth,
                authorityHost: c.authorityHost,
                disableInstanceDiscovery: c.disableInstanceDiscovery,
              },
              authHost,
              ports.clock,
              ports.mask,
              this.http,
            ),
          );
    this.choice.catch(() => undefined);
    this.tokens = new TokenProvider(
      this.choice,
      auth,
      ports.clock,
      ports.mask,
      this.wording,
      this.stopped.signal,
    );
    this.arm = new ArmClient(
      this.http,
      ports.clock,
      config.cloud.armEndpoint,
      config.apiVersion,
      async (fresh) => this.tokens.token((await cloud).armScope, fresh),
      this.log,
      ports.clock.now() + config.timeoutMs,
    );
  }

  /** The target registry, looked up once. */
  targetRegistry(): Promise<RegistryResource> {
    this.target ??= handled(() =>
      findTargetRegistry(this.config, this.arm, () => this.registries(), this.log),
    );
    return this.target;
  }

  /** Every registry of the subscription; fetched once, only when something needs it. */
  registries(): Promise<RegistryResource[]> {
    this.registryList ??= handled(() => this.arm.listRegistries(this.config.subscriptionId));
    return this.registryList;
  }

  acrClient(registry: RegistryResource): RegistryClient {
    let client = this.acrClients.get(registry.loginServer);
    if (!client) {
      // A registry-audience Entra token, which every registry accepts at /oauth2/exchange (an ARM token would work
      // too while azureADAuthenticationAsArmPolicy is on, but it is good for all of ARM: it goes to ARM only).
      const entraToken = (): Promise<string> => this.tokens.token(this.config.cloud.acrScope);
      const authorizer = new AcrAuthorizer(
        this.http,
        this.ports.mask,
        registry.loginServer,
        entraToken,
        this.config.tenantId,
      );
      client = new RegistryClient(this.http, registry.loginServer, authorizer);
      this.acrClients.set(registry.loginServer, client);
    }
    return client;
  }

  targetDataPlane(): Promise<RegistryClient> {
    this.targetClient ??= handled(async () => {
      const client = this.acrClient(await this.targetRegistry());
      // Every image reads its target tags first: one token covers the batch's repositories (clients/registry.ts).
      client.expectRepositories(
        this.config.images.flatMap((spec) => [
          ...spec.targets.map((t) => t.repository),
          ...spec.untaggedRepositories,
        ]),
      );
      return client;
    });
    return this.targetClient;
  }

  sourceClient(host: string): RegistryClient {
    let client = this.sourceClients.get(host);
    if (!client) {
      const authorizer = new TokenServerAuthorizer(
        this.http,
        this.ports.mask,
        this.config.sourceCredentials,
        host,
        !ANONYMOUS_REGISTRIES.has(host),
      );
      client = new RegistryClient(this.http, registryApiHost(host), authorizer, host);
      this.sourceClients.set(host, client);
    }
    return client;
  }

  watchOf(client: RegistryClient): RegistryWatch {
    let watch = this.watches.get(client);
    if (!watch) {
      watch = new RegistryWatch(client, this.ports.clock, this.stopped.signal);
      this.watches.set(client, watch);
    }
    return watch;
  }

  /** The time limit of one image ran out; once the import was accepted, the error names its operation. */
  timeoutError(label: string, operation: string | undefined): TimeoutError {
    return imageTimeout(label, this.config.timeoutMs, operation, this.http.waitingFor());
  }
}

/**
 * The host, with its first ID token already on its way: the credential's first request for one gets that token (a
 * failed one counts as its first attempt), later requests go to the host as before. The token is masked on arrival.
 */
function idTokenAhead(
  host: AuthHost,
  audience: string,
  http: HttpClient,
  mask: (s: string) => void,
): AuthHost {
  const idToken = host.idToken;
  if (!idToken) return host;
  let ahead: Promise<string> | undefined = idToken(audience, http).then((token) => {
    mask(token);
    return token;
  });
  ahead.catch(() => undefined);
  return {
    ...host,
    idToken: (wanted, client) => {
      const first = ahead;
      ahead = undefined;
      return first && wanted === audience ? first : idToken(wanted, client);
    },
  };
}
