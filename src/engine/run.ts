/**
 * The import engine: sign in, find the target registry, pin each source to its digest, import exactly that digest,
 * finish as soon as the target visibly holds it, verify, and return one result per image.
 */
import { AcrAuthorizer } from './acr.js';
import { ArmClient, registryId, type ImportImageBody, type RegistryResource } from './arm.js';
import { UNTRUSTED_ARM_URL } from './arm.js';
import {
  chooseAuthMode,
  createCredential,
  loadIdentity,
  TokenProvider,
  wording,
  type AuthHost,
  type CredentialChoice,
} from './auth.js';
import { discoverCloud } from './cloud.js';
import { formatPlatform, type ImageSpec, type ImportConfig } from './config.js';
import {
  asImportError,
  AuthError,
  ImportError,
  RemoteError,
  TimeoutError,
  VerificationError,
} from './errors.js';
import { failureKind } from './failure-kind.js';
import { HttpClient, REQUEST_DEADLINE_MS } from './http.js';
import { describeImportFailure, importFailureHint } from './hints.js';
import type { EnginePorts, Logger } from './ports.js';
import { formatReference, registryApiHost, sourceImage } from './reference.js';
import {
  isIndexMediaType,
  platformsOf,
  RegistryClient,
  TokenServerAuthorizer,
  type ManifestInfo,
} from './registry.js';
import { connectFailure, describeConnectFailure } from './reachability.js';
import type { ImageResult, RunResult, TargetResult } from './result.js';
import { limiter, runReferrers } from './referrers.js';
import { RegistryWatch } from './watch.js';

/** The username that goes with an ACR refresh token used as a password. */
const ACR_TOKEN_USERNAME = '00000000-0000-0000-0000-000000000000';

/** Registries that are never ACRs: their sources resolve at once, without waiting for the registry list. */
const PUBLIC_REGISTRIES = new Set([
  'docker.io',
  'mcr.microsoft.com',
  'ghcr.io',
  'quay.io',
  'registry.k8s.io',
  'gcr.io',
  'public.ecr.aws',
  'nvcr.io',
  'registry.gitlab.com',
]);

export interface RunPorts extends EnginePorts {
  authHost: AuthHost;
}

export interface RunOptions {
  /** With `locked: true`: source -> digest from the lock file; any drift fails the run before any import. */
  lock?: ReadonlyMap<string, string>;
}

export async function runImports(
  config: ImportConfig,
  ports: RunPorts,
  options: RunOptions = {},
): Promise<RunResult> {
  const started = ports.clock.now();
  return new Run(config, ports, options).execute(started);
}

interface SourcePlan {
  /** Where importImage copies from. */
  source: ImportImageBody['source'];
  /** A client that can read the source from here, or undefined when the runner cannot reach it. */
  client: RegistryClient | undefined;
  /** Why the source cannot be read from here (then we import by tag and read the digest from the target). */
  unreachable?: string;
}

interface TargetState {
  /** `repo:tag` or `repo` (untagged). */
  key: string;
  repository: string;
  tag: string | undefined;
  ref: string;
  before: string | undefined;
}

class Run {
  private readonly http: HttpClient;
  private readonly log: Logger;
  private readonly choice: Promise<CredentialChoice>;
  private readonly mode: string;
  private readonly tokens: TokenProvider;
  private readonly arm: ArmClient;
  private registryList: Promise<RegistryResource[]> | undefined;
  private target: Promise<RegistryResource> | undefined;
  private targetClient: Promise<RegistryClient> | undefined;
  private readonly acrClients = new Map<string, RegistryClient>();
  /** Aborted when the run is over: sign-ins still in flight (a stalled endpoint) stop then. */
  private readonly stopped = new AbortController();
  /** One client per plain source registry: a token it gets for a repository serves every image read from there. */
  private readonly sourceClients = new Map<string, RegistryClient>();
  /** The import operation each image waits for, by the image's abort signal: a timeout names it. */
  private readonly operations = new WeakMap<AbortSignal, string>();
  /** How each image's source is reached, for its referrers; and the run-wide max-parallel for referrer imports. */
  private readonly plans = new WeakMap<ImageResult, SourcePlan>();
  private readonly referrerSlots: <T>(work: () => Promise<T>) => Promise<T>;
  /** One watch per target registry client: its looks are shared between images, and so is a 429 pause. */
  private readonly watches = new Map<RegistryClient, RegistryWatch>();

  constructor(
    private readonly config: ImportConfig,
    private readonly ports: RunPorts,
    private readonly options: RunOptions,
  ) {
    this.log = ports.logger;
    this.referrerSlots = limiter(config.maxParallel);
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
    this.mode = ports.credential ? 'given' : chooseAuthMode(auth, ports.authHost);
    // A custom cloud (resource-manager-endpoint) names its token audience and authority in its ARM metadata.
    const cloud = config.cloud.discoverMetadata
      ? handled(() => discoverCloud(config.cloud, this.http, this.log))
      : Promise.resolve(config.cloud);
    // Loading the identity library takes a while: start it now, while the cloud metadata is read (issue 11).
    if (!ports.credential && config.cloud.discoverMetadata) loadIdentity().catch(() => undefined);
    // The GitHub ID token needs no cloud metadata: fetch it while the metadata is read (issue 11).
    const authHost =
      config.cloud.discoverMetadata && this.mode === 'oidc'
        ? idTokenAhead(ports.authHost, config.audience, this.http, ports.mask)
        : ports.authHost;
    this.choice = ports.credential
      ? Promise.resolve({ credential: ports.credential, mode: 'oidc', presented: () => undefined })
      : cloud.then((c) =>
          createCredential(
            { ...auth, authorityHost: c.authorityHost, disableInstanceDiscovery: c.disableInstanceDiscovery },
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
      wording(ports.authHost),
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

  async execute(started: number): Promise<RunResult> {
    this.log.info(`Signing in to Azure (${this.mode}) and finding registry ${describeTarget(this.config)}`);
    // Start the sign-in and the target lookup at once; source resolution runs beside it.
    const target = this.targetRegistry();
    // The registry-audience token comes from the same sign-in as the ARM token: ask for both at once (issue 11).
    if (this.config.images.length > 0) handled(() => this.tokens.token(this.config.cloud.acrScope));
    let registry: RegistryResource | undefined;
    target.then((r) => (registry = r)).catch(() => undefined);
    const images = this.config.images;
    const lock = this.options.lock;
    const results = lock
      ? await this.lockedRun(lock)
      : await mapLimit(images, this.config.maxParallel, (spec) => this.importOne(spec));
    // Every image is done (each within its timeout); a lookup that is still waiting is not waited for.
    this.stopped.abort(new Error('the run is over'));
    return {
      registry: registry && { name: registry.name, loginServer: registry.loginServer, id: registry.id },
      images: results,
      ok: results.every((r) => r.status !== 'failed'),
      durationMs: this.ports.clock.now() - started,
      dryRun: this.config.dryRun,
    };
  }

  /** locked: true: resolve every source first; import only when none drifted from the lock file. */
  private async lockedRun(lock: ReadonlyMap<string, string>): Promise<ImageResult[]> {
    const images = this.config.images;
    const checks = await mapLimit(images, this.config.maxParallel, async (spec) => {
      const started = this.ports.clock.now();
      try {
        const limit = new AbortController();
        const cancel = this.ports.clock.timer(this.config.timeoutMs, () =>
          limit.abort(this.timeoutError(spec.sourceText, undefined)),
        );
        const { plan, resolved } = await (async () => {
          const plan = await abortable(this.planSource(spec), limit.signal);
          return { plan, resolved: await this.resolveSource(spec, plan, limit.signal) };
        })().finally(cancel);
        const drift = lockDrift(spec.sourceText, resolved?.info.digest, lock.get(spec.sourceText));
        return { spec, started, pre: { plan, resolved }, drift };
      } catch (err) {
        return { spec, started, pre: undefined, drift: asImportError(err).message };
      }
    });
    const drifted = checks.filter((c) => c.drift);
    if (drifted.length) {
      const hint =
        'The sources changed since the lock file was written: review the change, then update the lock file (run with locked: false) or import the locked digests (source with @digest).';
      return checks.map((c) => ({
        ...emptyResult(c.spec),
        sourceDigest: c.pre?.resolved?.info.digest,
        durationMs: this.ports.clock.now() - c.started,
        error:
          c.drift ??
          `Not imported: ${drifted.length} source${drifted.length === 1 ? '' : 's'} drifted from the lock file (${drifted.map((d) => d.spec.sourceText).join(', ')}).`,
        hint,
      }));
    }
    this.log.info(`All ${checks.length} sources match the lock file.`);
    return mapLimit(checks, this.config.maxParallel, (c) => this.importOne(c.spec, c.pre));
  }

  // -------------------------------------------------------------------------------------------------------------------
  // Target registry

  private targetRegistry(): Promise<RegistryResource> {
    this.target ??= handled(async () => {
      const t = this.config.target;
      const { subscriptionId, resourceGroup } = this.config;
      let registry: RegistryResource;
      if (t.kind === 'resourceId') {
        registry = await this.arm.getRegistry(t.resourceId);
      } else if (t.kind === 'name' && resourceGroup) {
        registry = await this.arm.getRegistry(registryId(subscriptionId, resourceGroup, t.name));
      } else {
        const all = await this.registries();
        const match =
          t.kind === 'name'
            ? all.find((r) => r.name.toLowerCase() === t.name.toLowerCase())
            : all.find((r) => r.loginServer === t.loginServer.toLowerCase());
        if (!match) {
          throw new RemoteError({
            service: 'Azure Resource Manager',
            code: 'ResourceNotFound',
            message: `No container registry ${t.kind === 'name' ? `named '${t.name}'` : `with login server '${t.loginServer}'`} is visible in subscription ${subscriptionId} (${all.length} registr${all.length === 1 ? 'y' : 'ies'} listed).`,
            hint: 'Check registry and subscription-id; the identity needs at least read access on the registry (the importer role includes it). Or give registry as its ARM resource ID.',
          });
        }
        registry = match;
      }
      if (registry.sku === 'Classic') {
        throw new RemoteError({
          service: 'Azure Resource Manager',
          message: `Registry ${registry.name} is a Classic registry; imports need a managed SKU (Basic, Standard or Premium).`,
          hint: 'Upgrade the registry to a managed SKU.',
        });
      }
      this.log.info(
        `Target registry: ${registry.name} (${registry.loginServer}) in resource group ${registry.resourceGroup}`,
      );
      return registry;
    });
    return this.target;
  }

  /** Every registry of the subscription; fetched once, only when something needs it. */
  private registries(): Promise<RegistryResource[]> {
    this.registryList ??= handled(() => this.arm.listRegistries(this.config.subscriptionId));
    return this.registryList;
  }

  private acrClient(registry: RegistryResource): RegistryClient {
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

  private targetDataPlane(): Promise<RegistryClient> {
    this.targetClient ??= handled(async () => this.acrClient(await this.targetRegistry()));
    return this.targetClient;
  }

  // -------------------------------------------------------------------------------------------------------------------
  // Sources

  private async planSource(spec: ImageSpec): Promise<SourcePlan> {
    const ref = spec.source;
    const image = sourceImage(ref);
    const creds = this.config.sourceCredentials;
    if (this.config.sourceRegistryResourceId) {
      const id = this.config.sourceRegistryResourceId.resourceId;
      let registry: RegistryResource | undefined;
      try {
        registry = await this.arm.getRegistry(id);
      } catch (err) {
        const e = asImportError(err);
        return {
          source: { resourceId: id, sourceImage: image },
          client: undefined,
          unreachable: `the source registry could not be read through ARM (${e.message})`,
        };
      }
      if (!registry.publicNetworkAccess) {
        return {
          source: { resourceId: registry.id, sourceImage: image },
          client: undefined,
          unreachable: `${registry.name} has public network access disabled`,
        };
      }
      return { source: { resourceId: registry.id, sourceImage: image }, client: this.acrClient(registry) };
    }
    const host = ref.registry!;
    if (this.config.sourceFederation) return this.federatedSource(host, image);
    if (creds) {
      return {
        source: {
          registryUri: host,
          sourceImage: image,
          credentials: { ...(creds.username ? { username: creds.username } : {}), password: creds.password },
        },
        client: this.sourceClient(host),
      };
    }
    if (!PUBLIC_REGISTRIES.has(host)) {
      // As az does it: a login server of an ACR in the subscription becomes a resourceId source (Entra auth).
      const acr = (await this.registries().catch(() => [])).find((r) => r.loginServer === host.toLowerCase());
      if (acr) return { source: { resourceId: acr.id, sourceImage: image }, client: this.acrClient(acr) };
    }
    return { source: { registryUri: host, sourceImage: image }, client: this.sourceClient(host) };
  }

  private sourceClient(host: string): RegistryClient {
    let client = this.sourceClients.get(host);
    if (!client) {
      const authorizer = new TokenServerAuthorizer(
        this.http,
        this.ports.mask,
        this.config.sourceCredentials,
        host,
      );
      client = new RegistryClient(this.http, registryApiHost(host), authorizer, host);
      this.sourceClients.set(host, client);
    }
    return client;
  }

  /**
   * A source ACR in another tenant, signed in with a second federated identity: its Entra token is exchanged at the
   * source registry for an ACR refresh token, which Azure then uses to pull (username 00000000-...-000000000000).
   * No stored secret on either side.
   */
  private async federatedSource(host: string, image: string): Promise<SourcePlan> {
    const { tenantId, clientId } = this.config.sourceFederation!;
    const choice = await this.choice;
    if (!choice.federated) {
      throw new AuthError(
        'source-tenant-id and source-client-id sign in with GitHub OIDC, but this run does not use OIDC.',
        `Use ${wording(this.ports.authHost).authMode('oidc')} (${wording(this.ports.authHost).idTokenMissing}), or give source-username and source-password instead.`,
      );
    }
    const credential = choice.federated(tenantId, clientId);
    const tokens = new TokenProvider(
      Promise.resolve({ credential, mode: 'oidc', presented: choice.presented }),
      { tenantId, clientId, audience: this.config.audience },
      this.ports.clock,
      this.ports.mask,
      wording(this.ports.authHost),
    );
    const authorizer = new AcrAuthorizer(
      this.http,
      this.ports.mask,
      host,
      () => tokens.token(this.config.cloud.acrScope),
      tenantId,
    );
    const refresh = await authorizer.refresh();
    return {
      source: {
        registryUri: host,
        sourceImage: image,
        credentials: { username: ACR_TOKEN_USERNAME, password: refresh },
      },
      client: new RegistryClient(this.http, host, authorizer),
    };
  }

  /** The manifest the source reference points to now, or undefined when it cannot be read from here. */
  private async resolveSource(spec: ImageSpec, plan: SourcePlan, signal: AbortSignal): Promise<Resolved> {
    const ref = spec.source;
    if (!plan.client) return undefined;
    const reference = ref.digest ?? ref.tag ?? 'latest';
    let info: ManifestInfo | undefined;
    try {
      info = await plan.client.headManifest(ref.repository, reference, signal);
    } catch (err) {
      if (
        err instanceof RemoteError &&
        (err.status === 403 || err.status === undefined) &&
        'resourceId' in plan.source
      ) {
        plan.unreachable = `the runner cannot read the source registry (${err.message})`;
        return undefined;
      }
      // A source the runner cannot connect to (no DNS, refused, timed out) may still be reachable from Azure.
      const kind = err instanceof RemoteError && err.status === undefined ? connectFailure(err) : undefined;
      if (kind && !spec.platform) {
        plan.unreachable = `${plan.client.label} cannot be reached from the runner (${describeConnectFailure(kind)})`;
        return undefined;
      }
      throw err;
    }
    if (!info) {
      throw new RemoteError({
        service: plan.client.label,
        status: 404,
        code: 'MANIFEST_UNKNOWN',
        message: `Source image ${formatReference(ref)} was not found on ${plan.client.label}.`,
        hint:
          ref.registry === 'docker.io' && !ref.repository.includes('/')
            ? 'Check the tag; Docker Hub official images live under library/.'
            : 'Check the repository and the tag (or digest) of source.',
      });
    }
    if (!spec.platform) return { info };
    const wanted = formatPlatform(spec.platform);
    if (!isIndexMediaType(info.mediaType)) {
      throw new RemoteError({
        service: plan.client.label,
        message: `platform ${wanted} was asked for, but ${formatReference(ref)} is a single-platform manifest (${info.mediaType}).`,
        hint: 'Remove platform for this image, or point source at a multi-platform image.',
      });
    }
    const index = await plan.client.getManifest(ref.repository, info.digest, signal);
    const entry = index && platformsOf(index.bytes).find((p) => p.platform === wanted);
    if (!entry) {
      const available = index
        ? platformsOf(index.bytes)
            .map((p) => p.platform)
            .join(', ')
        : 'none';
      throw new RemoteError({
        service: plan.client.label,
        message: `${formatReference(ref)} has no ${wanted} manifest (platforms: ${available}).`,
        hint: 'Set platform to one of the listed platforms.',
      });
    }
    // The child is the digest the index read above names, checked against the bytes the registry sends for it.
    const child = await plan.client.getManifest(ref.repository, entry.digest, signal);
    if (!child)
      throw new RemoteError({
        service: plan.client.label,
        message: `Platform manifest ${entry.digest} is missing.`,
      });
    return {
      info: { digest: entry.digest, mediaType: child.mediaType, size: child.size },
      platformNote: `Imported only ${wanted}: digest ${entry.digest} is that platform's manifest, not the index digest ${info.digest}.`,
    };
  }

  // -------------------------------------------------------------------------------------------------------------------
  // One image

  private async importOne(spec: ImageSpec, pre?: PreResolved): Promise<ImageResult> {
    const started = this.ports.clock.now();
    const result = emptyResult(spec);
    const controller = new AbortController();
    const cancelTimer = this.ports.clock.timer(this.config.timeoutMs, () =>
      controller.abort(this.timeoutError(spec.sourceText, this.operations.get(controller.signal))),
    );
    const label = spec.sourceText;
    const deadline = started + this.config.timeoutMs;
    try {
      await this.importSteps(spec, result, controller.signal, deadline, pre);
      if (this.config.referrers !== 'none') await this.referrers(spec, result, controller.signal, deadline);
    } catch (err) {
      const reason =
        controller.signal.aborted && controller.signal.reason instanceof ImportError
          ? controller.signal.reason
          : err;
      const e = asImportError(reason);
      result.status = 'failed';
      result.error = e.message;
      if (e.hint) result.hint = e.hint;
      result.kind = failureKind(e);
      if (this.config.dryRun) result.plan = 'fail';
      // One line here; the adapter reports every failure together at the end.
      this.log.info(`${label}: failed: ${e.message.replace(/\s*\r?\n\s*/g, ' ')}`);
    } finally {
      cancelTimer();
      // Whatever this image still has in flight (a lookup a failure overtook) stops now, not after its retries.
      if (!controller.signal.aborted) controller.abort(new Error('the image is done'));
      result.durationMs = this.ports.clock.now() - started;
    }
    return result;
  }

  private async importSteps(
    spec: ImageSpec,
    result: ImageResult,
    signal: AbortSignal,
    deadline: number,
    pre: PreResolved | undefined,
  ): Promise<void> {
    const label = spec.sourceText;
    // Read the target's tags while the source is planned and resolved (issue 11: the plan may wait for the registry
    // list; the tags only need the target and its token).
    const targetStates = this.readTargets(spec, signal);
    targetStates.catch(() => undefined);
    const plan = pre?.plan ?? (await abortable(this.planSource(spec), signal));
    this.plans.set(result, plan);
    // Resolve the source while the target is being found and its tags read.
    const resolving = pre
      ? Promise.resolve(pre.resolved)
      : this.config.pinDigest || spec.expectedDigest || spec.platform
        ? this.resolveSource(spec, plan, signal)
        : Promise.resolve(undefined);
    const [resolution, states] = await Promise.all([
      resolving.then(
        (value) => ({ ok: true as const, value }),
        (error: unknown) => ({ ok: false as const, error }),
      ),
      targetStates.catch((err: unknown) => err as Error),
    ]);
    // A problem with signing in or with the target concerns every image: report it before a source problem.
    const target = await abortable(this.targetRegistry(), signal);
    if (!resolution.ok) throw resolution.error;
    const resolved = resolution.value;

    let digest = resolved?.info.digest;
    if (resolved) {
      result.sourceDigest = digest;
      result.mediaType = resolved.info.mediaType;
      if (resolved.platformNote) result.notes.push(resolved.platformNote);
      this.log.info(`${label}: resolved to ${digest} (${resolved.info.mediaType})`);
    } else if (plan.unreachable) {
      if (this.config.pinDigestStrict) {
        throw new VerificationError(
          `${label}: ${plan.unreachable}, and pin-digest: strict refuses to import a source whose digest was not read before the import.`,
          'Let the runner reach the source registry (DNS, firewall, proxy: HTTPS_PROXY / NO_PROXY), or set pin-digest: true to import by tag and read the digest from the target afterwards.',
        );
      }
      result.notes.push(
        `Imported by tag: ${plan.unreachable}, so the digest was read from the target after the import instead of pinned before it.`,
      );
      this.log.warning(
        `${label}: ${plan.unreachable}; importing by tag and reading the digest from the target afterwards.`,
      );
    }
    if (spec.expectedDigest) {
      if (!digest) {
        throw new VerificationError(
          `${label}: expected-digest ${spec.expectedDigest} cannot be checked because the source cannot be read from the runner.`,
          'Make the source readable from the runner, or remove expected-digest.',
        );
      }
      if (digest !== spec.expectedDigest) {
        throw new VerificationError(
          `${label} now resolves to ${digest}, not to the expected ${spec.expectedDigest}.`,
          'The source changed since it was tested: promote the tested digest (source with @digest) or update expected-digest.',
        );
      }
    }
    if (!this.config.pinDigest && !spec.platform) digest = undefined;

    const dataPlane = states instanceof Error ? undefined : states;
    if (states instanceof Error) {
      const e = asImportError(states);
      result.notes.push(
        `The target's tags could not be read from the runner (${e.message}); the result is not verified.`,
      );
      this.log.warning(`${label}: cannot read the target registry from the runner: ${e.describe()}`);
    }
    const targetsOf = (d: string | undefined): TargetResult[] =>
      (dataPlane ?? this.targetKeys(spec, target)).map((s) => ({ ref: s.ref, digest: d }));

    // Decide from the target's current state: nothing to do, a conflict, an update or a fresh import.
    const mode: 'Force' | 'NoForce' = this.config.force ? 'Force' : 'NoForce';
    let status: 'imported' | 'updated' = 'imported';
    if (digest && dataPlane) {
      const tagged = dataPlane.filter((s) => s.tag !== undefined);
      // An untagged repository "holds" the digest when the manifest is there by digest.
      const client = await this.targetDataPlane();
      await Promise.all(
        dataPlane
          .filter((s) => s.tag === undefined)
          .map(async (s) => {
            s.before = (await client.headManifest(s.repository, digest!, signal)) ? digest : undefined;
          }),
      );
      const held = dataPlane.every((s) => s.before === digest);
      const incomplete =
        held && resolved && isIndexMediaType(resolved.info.mediaType)
          ? await missingChildren(client, dataPlane, digest, signal)
          : [];
      if (incomplete.length) {
        const note = `The target held ${digest} but not ${incomplete.length} of its manifests (${incomplete.join(', ')}): imported it again to complete it.`;
        result.notes.push(note);
        this.log.warning(`${label}: ${note}`);
      } else if (held) {
        result.status = this.config.dryRun ? 'planned' : 'unchanged';
        if (this.config.dryRun) result.plan = 'unchanged';
        result.targets = targetsOf(digest);
        await this.readPlatforms(result, spec, digest, signal);
        this.log.info(`${label}: every target already holds ${digest}; nothing to import.`);
        return;
      }
      const moved = tagged.filter((s) => s.before !== undefined && s.before !== digest);
      if (moved.length > 0) {
        if (!this.config.force) {
          const list = moved.map((s) => `${s.key} (now ${s.before})`).join(', ');
          throw new ImportConflict(
            `Target tag${moved.length > 1 ? 's' : ''} ${list} already exist${moved.length > 1 ? '' : 's'} and point${moved.length > 1 ? '' : 's'} to another image than ${digest}.`,
            `Set ${wording(this.ports.authHost).setInput('force', 'true')} to move the tags to the new digest, or import under a new tag.`,
          );
        }
        status = 'updated';
      }
    }

    const body: ImportImageBody = {
      source: { ...plan.source, sourceImage: sourceImage(spec.source, digest) },
      targetTags: spec.targets.map((t) => `${t.repository}:${t.tag}`),
      ...(spec.untaggedRepositories.length
        ? { untaggedTargetRepositories: [...spec.untaggedRepositories] }
        : {}),
      mode,
    };
    if (body.targetTags!.length === 0) delete body.targetTags;

    if (this.config.dryRun) {
      result.status = 'planned';
      result.plan = status === 'updated' ? 'update' : 'import';
      result.targets = targetsOf(digest);
      await this.readSourcePlatforms(result, spec, plan, digest, signal);
      this.log.info(
        `${label}: would ${result.plan} ${body.source.sourceImage} -> ${result.targets.map((t) => t.ref).join(', ')}`,
      );
      return;
    }

    this.log.info(`${label}: importing ${body.source.sourceImage} into ${target.name} (${mode})`);
    const start = await this.arm.beginImport(target, body, signal).catch((err: unknown) => {
      throw withImportHint(err, digest === undefined);
    });
    if (!this.config.wait) {
      result.status = 'submitted';
      result.targets = targetsOf(digest);
      await this.readSourcePlatforms(result, spec, plan, digest, signal);
      result.notes.push(
        'wait: false — the import was submitted; the action did not wait for it or verify the target.',
      );
      return;
    }
    if (!start.done) {
      await this.waitForImport(
        label,
        start.location,
        start.retryAfterMs,
        digest,
        dataPlane,
        signal,
        deadline,
      );
      this.operations.delete(signal);
    }

    // Verify: every target holds the pinned digest (or, unpinned, record what it holds).
    if (!dataPlane) {
      result.status = status;
      result.targets = targetsOf(digest);
      return;
    }
    const client = await this.targetDataPlane();
    const verified: TargetResult[] = [];
    for (const state of dataPlane) {
      const now = await client.headManifest(state.repository, state.tag ?? digest ?? 'latest', signal);
      if (!now)
        throw new VerificationError(
          `After the import, ${state.ref} does not exist in ${target.loginServer}.`,
        );
      if (digest && now.digest !== digest) {
        throw new VerificationError(
          `After the import, ${state.ref} holds ${now.digest}, not the imported ${digest}.`,
          'Something else wrote this tag during the import (another pipeline?); re-run to import again.',
        );
      }
      digest ??= now.digest;
      result.mediaType ??= now.mediaType;
      verified.push({ ref: state.ref, digest: now.digest });
    }
    result.sourceDigest ??= digest;
    result.targets = verified;
    result.status = status;
    await this.readPlatforms(result, spec, digest, signal);
  }

  private targetKeys(spec: ImageSpec, target: RegistryResource): TargetState[] {
    return [
      ...spec.targets.map((t) => ({
        key: `${t.repository}:${t.tag}`,
        repository: t.repository,
        tag: t.tag as string | undefined,
        ref: `${target.loginServer}/${t.repository}:${t.tag}`,
        before: undefined,
      })),
      ...spec.untaggedRepositories.map((repository) => ({
        key: repository,
        repository,
        tag: undefined,
        ref: `${target.loginServer}/${repository}`,
        before: undefined,
      })),
    ];
  }

  /** What each target tag holds before the import (the watch only trusts changes it saw happen). */
  private async readTargets(spec: ImageSpec, signal: AbortSignal): Promise<TargetState[]> {
    const target = await abortable(this.targetRegistry(), signal);
    const client = await abortable(this.targetDataPlane(), signal);
    const states = this.targetKeys(spec, target);
    await Promise.all(
      states
        .filter((s) => s.tag !== undefined)
        .map(async (s) => {
          s.before = (await client.headManifest(s.repository, s.tag!, signal))?.digest;
        }),
    );
    return states;
  }

  /** The platforms of an image the target does not hold yet (a plan, a submitted import), read from the source. */
  private async readSourcePlatforms(
    result: ImageResult,
    spec: ImageSpec,
    plan: SourcePlan,
    digest: string | undefined,
    signal: AbortSignal,
  ): Promise<void> {
    if (!digest || !plan.client || !result.mediaType || !isIndexMediaType(result.mediaType)) return;
    try {
      const index = await plan.client.getManifest(spec.source.repository, digest, signal);
      if (index) result.platforms = platformsOf(index.bytes);
    } catch (err) {
      this.log.debug(`could not read the platforms of ${digest}: ${asImportError(err).message}`);
    }
  }

  /** What the target holds, looked at once it is there: the platforms of an index, the type of an artifact. */
  private async readPlatforms(
    result: ImageResult,
    spec: ImageSpec,
    digest: string | undefined,
    signal: AbortSignal,
  ): Promise<void> {
    const repository = spec.targets[0]?.repository ?? spec.untaggedRepositories[0];
    if (!digest || !result.mediaType || !repository) return;
    try {
      const client = await this.targetDataPlane();
      const manifest = await client.getManifest(repository, digest, signal);
      if (!manifest) return;
      if (isIndexMediaType(result.mediaType)) result.platforms = platformsOf(manifest.bytes);
      else {
        const artifactType = artifactTypeOf(manifest.bytes);
        if (artifactType) result.artifactType = artifactType;
      }
    } catch (err) {
      this.log.debug(`could not read the platforms of ${digest}: ${asImportError(err).message}`);
    }
  }

  /** The time limit of one image ran out; once the import was accepted, the error names its operation. */
  private timeoutError(label: string, operation: string | undefined): TimeoutError {
    const limit = formatMs(this.config.timeoutMs);
    const waiting = this.http.waitingFor();
    if (!operation && waiting) {
      return new TimeoutError(
        `Importing ${label} did not finish within ${limit}. No answer from ${waiting}.`,
        'That endpoint did not answer in time: check that it is up and reachable from the runner (authority-host, resource-manager-endpoint, the source registry; HTTPS_PROXY/NO_PROXY), then re-run.',
      );
    }
    return operation
      ? new TimeoutError(
          `Importing ${label} did not finish within ${limit}; the operation is still running in Azure (${describeOperation(operation)}).`,
          'Raise timeout if the image is large, or check the source registry: imports from slow or failing registries can hang.',
        )
      : new TimeoutError(
          `Importing ${label} did not finish within ${limit}.`,
          'Raise timeout, or check that the source registry and Azure answer: the log shows which requests were retried.',
        );
  }

  /**
   * Waits for the import: polls ARM's operation no faster than its Retry-After, and meanwhile watches the target's
   * tags, finishing as soon as every target that did not already hold the digest holds it. Unpinned (the source could
   * not be read from here), the watch works only when every target is a tag that did not exist before: it finishes
   * once they all exist and hold one digest, which the verification then reads.
   */
  private async waitForImport(
    label: string,
    location: string,
    retryAfterMs: number | undefined,
    digest: string | undefined,
    states: TargetState[] | undefined,
    signal: AbortSignal,
    deadline: number,
  ): Promise<void> {
    const clock = this.ports.clock;
    const fresh = states?.every((s) => s.tag !== undefined && s.before === undefined) ?? false;
    const watched = !states
      ? []
      : digest
        ? states.filter((s) => s.tag !== undefined && s.before !== digest)
        : fresh
          ? states
          : [];
    const untaggedOnly = digest && states ? states.filter((s) => s.tag === undefined) : [];
    const canWatch = watched.length > 0 || untaggedOnly.length > 0;
    const watch = canWatch ? this.watchOf(await this.targetDataPlane()) : undefined;
    let pollAt = clock.now() + pollDelay(retryAfterMs);
    let watchAt = watch ? watch.nextAt(clock.now()) : Infinity;
    let currentLocation = location;
    this.operations.set(signal, location);
    let pollFailures = 0;
    this.log.debug(`${label}: import accepted; operation ${describeOperation(location)}`);
    for (;;) {
      const now = clock.now();
      if (now >= deadline) {
        throw this.timeoutError(label, currentLocation);
      }
      const wakeAt = Math.min(canWatch ? Math.min(pollAt, watchAt) : pollAt, deadline);
      if (wakeAt > now) await clock.sleep(wakeAt - now, signal);
      if (signal.aborted) throw signal.reason;
      if (canWatch && clock.now() >= watchAt) {
        let failed = false;
        const lookedAt = clock.now();
        const done = await this.targetsHold(watch!, watched, untaggedOnly, digest, signal).catch(() => {
          if (signal.aborted) throw signal.reason;
          failed = true;
          return false;
        });
        if (done) {
          this.log.info(`${label}: the target holds ${digest ?? 'the imported image'}; import complete.`);
          return;
        }
        // A steady interval: only a 429 (its Retry-After) or a failed look moves the next one further out.
        watchAt = watch!.nextAt(lookedAt, failed);
      }
      if (clock.now() >= pollAt) {
        let poll;
        try {
          poll = await this.arm.pollImport(currentLocation, signal);
          pollFailures = 0;
        } catch (err) {
          if (signal.aborted) throw signal.reason;
          if (err instanceof RemoteError && err.code === UNTRUSTED_ARM_URL) throw err;
          if (++pollFailures > 5) throw err;
          this.log.debug(
            `${label}: polling the operation failed (${asImportError(err).message}); trying again`,
          );
          pollAt = clock.now() + Math.max(2_000, err instanceof RemoteError ? (err.retryAfterMs ?? 0) : 0);
          continue;
        }
        if (poll.state === 'succeeded') return;
        if (poll.state === 'failed')
          throw describeImportFailure(poll.code, poll.message, label, digest === undefined);
        currentLocation = poll.location;
        this.operations.set(signal, currentLocation);
        pollAt = clock.now() + pollDelay(poll.retryAfterMs);
      }
    }
  }

  private watchOf(client: RegistryClient): RegistryWatch {
    let watch = this.watches.get(client);
    if (!watch) {
      watch = new RegistryWatch(client, this.ports.clock, this.stopped.signal);
      this.watches.set(client, watch);
    }
    return watch;
  }

  private async targetsHold(
    watch: RegistryWatch,
    watched: TargetState[],
    untagged: TargetState[],
    digest: string | undefined,
    signal: AbortSignal,
  ): Promise<boolean> {
    const head = (repository: string, reference: string): Promise<ManifestInfo | undefined> =>
      abortable(watch.head(repository, reference), signal);
    if (!digest) {
      // Unpinned: every (new) tag exists, and they all point to the same manifest.
      const held = await Promise.all(watched.map(async (s) => (await head(s.repository, s.tag!))?.digest));
      return held.every((d) => d !== undefined && d === held[0]);
    }
    const checks = await Promise.all([
      ...watched.map(async (s) => (await head(s.repository, s.tag!))?.digest === digest),
      ...untagged.map(async (s) => (await head(s.repository, digest)) !== undefined),
    ]);
    return checks.every(Boolean);
  }

  private referrers(
    spec: ImageSpec,
    result: ImageResult,
    signal: AbortSignal,
    deadline: number,
  ): Promise<void> {
    return runReferrers(
      {
        config: this.config,
        log: this.log,
        slots: this.referrerSlots,
        target: async () => ({ registry: await this.targetRegistry(), client: await this.targetDataPlane() }),
        importManifest: async (registry, body, digest, watch, signal) => {
          const label = `${spec.sourceText} referrer ${digest}`;
          const start = await this.arm.beginImport(registry, body, signal).catch((err: unknown) => {
            throw withImportHint(err);
          });
          if (!start.done) {
            await this.waitForImport(
              label,
              start.location,
              start.retryAfterMs,
              digest,
              watch,
              signal,
              deadline,
            );
          }
        },
      },
      spec,
      result,
      this.plans.get(result),
      signal,
    );
  }
}

class ImportConflict extends VerificationError {}

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

type Resolved = { info: ManifestInfo; platformNote?: string } | undefined;
interface PreResolved {
  plan: SourcePlan;
  resolved: Resolved;
}

function emptyResult(spec: ImageSpec): ImageResult {
  return {
    source: spec.sourceText,
    sourceDigest: undefined,
    mediaType: undefined,
    platforms: undefined,
    targets: [],
    status: 'failed',
    durationMs: 0,
    notes: [],
  };
}

/** Waits for shared work on behalf of one image: the image's own abort (its timeout) ends the wait, not the work. */
function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err as Error);
      },
    );
  });
}

/**
 * Starts a shared piece of work whose result several images await later. Its failure is reported to each of them,
 * so an early rejection must not count as unhandled (which would end the process).
 */
function handled<T>(work: () => Promise<T>): Promise<T> {
  const promise = work();
  promise.catch(() => undefined);
  return promise;
}

/**
 * The child manifests of the index `digest` that some target repository lacks (HEADs in parallel): a target whose
 * tag holds the index but lost a platform manifest is not unchanged.
 */
async function missingChildren(
  client: RegistryClient,
  states: TargetState[],
  digest: string,
  signal: AbortSignal,
): Promise<string[]> {
  const repositories = [...new Set(states.map((s) => s.repository))];
  const index = await client.getManifest(repositories[0]!, digest, signal);
  if (!index) return [digest];
  const children = childDigests(index.bytes);
  const missing = await Promise.all(
    repositories.flatMap((repository) =>
      children.map(async (child) =>
        (await client.headManifest(repository, child, signal)) ? undefined : `${repository}@${child}`,
      ),
    ),
  );
  return missing.filter((m): m is string => m !== undefined);
}

/** Every manifest an index lists (platforms and attestations alike). */
function childDigests(index: Buffer): string[] {
  try {
    const entries = (JSON.parse(index.toString('utf8')) as { manifests?: unknown }).manifests;
    if (!Array.isArray(entries)) return [];
    return entries
      .map((e) => (e as { digest?: unknown }).digest)
      .filter((d): d is string => typeof d === 'string');
  } catch {
    return [];
  }
}

/** Why a source does not match its lock entry, or undefined when it does. */
function lockDrift(
  source: string,
  digest: string | undefined,
  locked: string | undefined,
): string | undefined {
  if (!locked) return `${source} is not in the lock file.`;
  if (!digest) return `${source} cannot be resolved from the runner, so the lock cannot be checked.`;
  if (digest !== locked) return `${source} now resolves to ${digest}, the lock file says ${locked}.`;
  return undefined;
}

/** ARM may refuse an import at once (4xx) with the text an operation fails with: give it the same hint. */
function withImportHint(err: unknown, unpinned = false): unknown {
  if (!(err instanceof RemoteError) || err.hint || err.status === undefined || err.status >= 500) return err;
  const hint = importFailureHint(err.code, err.message, unpinned);
  if (!hint) return err;
  return new RemoteError({
    service: err.service,
    status: err.status,
    code: err.code,
    message: err.message,
    hint,
    retryable: err.retryable,
    cause: err,
  });
}

/** Container image configs; any other config media type (or an artifactType) marks an OCI artifact. */
const IMAGE_CONFIG_TYPES = new Set([
  'application/vnd.oci.image.config.v1+json',
  'application/vnd.docker.container.image.v1+json',
]);

/** The artifact type of a single manifest that is not a container image (a Helm chart, a signature ...). */
function artifactTypeOf(manifest: Buffer): string | undefined {
  try {
    const doc = JSON.parse(manifest.toString('utf8')) as {
      artifactType?: unknown;
      config?: { mediaType?: unknown };
    };
    if (typeof doc.artifactType === 'string' && doc.artifactType) return doc.artifactType;
    const config = doc.config?.mediaType;
    return typeof config === 'string' && !IMAGE_CONFIG_TYPES.has(config) ? config : undefined;
  } catch {
    return undefined;
  }
}

function pollDelay(retryAfterMs: number | undefined): number {
  // ARM asks for 10 s; the watch usually finishes long before. Without Retry-After, poll every 5 s.
  return Math.max(1_000, retryAfterMs ?? 5_000);
}

function describeOperation(url: string): string {
  try {
    return new URL(url).pathname;
  } catch {
    return url;
  }
}

function describeTarget(config: ImportConfig): string {
  const t = config.target;
  return t.kind === 'name' ? t.name : t.kind === 'loginServer' ? t.loginServer : t.resourceId;
}

export function formatMs(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}

/** Runs `fn` over `items` with at most `limit` at once; results keep the input order. Never rejects early. */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
