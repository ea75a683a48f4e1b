/**
 * Azure DevOps as a pipeline job sees it, on its own listener (`azureDevOps.port`):
 * - `POST /<org>/<projectId>/_apis/distributedtask/hubs/build/plans/<plan>/jobs/<job>/oidctoken?api-version=7.1&serviceConnectionId=<id>`
 *   (what `System.OidcRequestUri` points at) with `Authorization: Bearer <System.AccessToken>` ->
 *   `{"oidcToken":"<JWT>"}`: iss `https://vstoken.dev.azure.com/<organization id>`, sub `sc://<org>/<project>/<connection>`,
 *   aud `api://AzureADTokenExchange`, about 10 minutes of validity, RS256 with a `kid`.
 *   A GET answers 405; a missing api-version 400; a bad bearer 401 (203 and a sign-in page without
 *   `X-TFS-FedAuthRedirect: Suppress`, as Azure DevOps answers browsers); a missing `serviceConnectionId` 400; a
 *   connection the job does not reference (a `script:` step, or an unknown id) 400 "There is no explicit reference to
 *   service connection <id> from current stage" (the check Azure DevOps added in 2026-03).
 * - `GET /<organization id>/.well-known/openid-configuration` and `GET /<organization id>/.well-known/jwks`: the
 *   issuer's metadata (its `issuer` is the vstoken URL, which is what Entra compares; its keys are served here).
 * Entra (entra.ts) checks these tokens through `federatedIssuerKeys`.
 *
 * A connection with `entraIssuer` (the newer default) gets tokens issued by Entra: iss
 * `https://login.microsoftonline.com/<tenant>/v2.0` (the emulator's Entra URL here) and an `/eid1/...` subject.
 *
 * Unconfirmed (no public source settled them; the stricter form is modelled): the Entra-issuer subject, the status and body of the
 * "no explicit reference" refusal, the answer to a missing `serviceConnectionId`, and the jwks_uri's path.
 */
import { randomUUID, timingSafeEqual } from 'node:crypto';
import { applyNetworkFaults, bearer, send, sendJson, type Ctx } from './http.js';
import { jwks, nowSeconds, signJwt, type SigningKey } from './jwt.js';
import type { World } from './state.js';

/** The Azure DevOps side of EmulatorConfig. */
export interface AzureDevOpsConfig {
  /** HTTPS port of the Azure DevOps listener (stands in for https://dev.azure.com). */
  port: number;
  /** Organization name (`acme` of https://dev.azure.com/acme) and its GUID (in the token issuer). */
  organization: string;
  organizationId: string;
  project: string;
  projectId: string;
  planId: string;
  jobId: string;
  /** The job's System.AccessToken. */
  accessToken: string;
  /**
   * Service connections of the project; `referenced`: the job references it (a task input of that type).
   * `entraIssuer`: a connection of the newer kind whose tokens Entra issues (see entraIssuedClaims).
   */
  connections: {
    id: string;
    name: string;
    referenced: boolean;
    entraIssuer?: { tenantId: string; clientId: string };
  }[];
}

export const AZURE_DEVOPS_TOKEN_LIFETIME = 600;
const AUDIENCE = 'api://AzureADTokenExchange';
const SUPPORTED_API_VERSION = /^7\.[12](-preview(\.\d+)?)?$/;

/** `iss` of the OIDC tokens of an organization. */
export function azureDevOpsIssuer(organizationId: string): string {
  return `https://vstoken.dev.azure.com/${organizationId}`;
}

/** `iss` of the tokens of an Entra-issuer connection: the tenant's v2 issuer (the emulator's Entra stands in). */
export function entraConnectionIssuer(world: World, tenantId: string): string {
  return `${world.urls.entra}/${tenantId}/v2.0`;
}

/**
 * The subject of an Entra-issuer connection's tokens. Unconfirmed (shared/reference/azure-pipelines.md): modelled on
 * the `/eid1/c/pub/t/<tenant>/a/<app>/sc/<organization id>/<connection id>` form, tenant and app as base64url of
 * the GUIDs' bytes. The task reads issuer and subject from the token, so it does not depend on this shape.
 */
export function entraConnectionSubject(
  config: Pick<AzureDevOpsConfig, 'organizationId'>,
  connection: { id: string; entraIssuer?: { tenantId: string; clientId: string } },
): string {
  const b64 = (guid: string): string => Buffer.from(guid.replace(/-/g, ''), 'hex').toString('base64url');
  const { tenantId, clientId } = connection.entraIssuer ?? { tenantId: '', clientId: '' };
  return `/eid1/c/pub/t/${b64(tenantId)}/a/${b64(clientId)}/sc/${config.organizationId}/${connection.id}`;
}

/** The path of System.OidcRequestUri for the configured job. */
export function oidcRequestPath(config: AzureDevOpsConfig): string {
  return `/${config.organization}/${config.projectId}/_apis/distributedtask/hubs/build/plans/${config.planId}/jobs/${config.jobId}/oidctoken`;
}

/**
 * The issuers whose assertions Entra accepts for federated credentials, with the key that signs them: the GitHub
 * OIDC emulator always, Azure DevOps when configured.
 */
export function federatedIssuerKeys(world: World): Map<string, SigningKey> {
  const issuers = new Map<string, SigningKey>([[world.urls.oidc, world.keys.oidc]]);
  const ado = world.config.azureDevOps;
  if (ado) {
    issuers.set(azureDevOpsIssuer(ado.organizationId), world.keys.azureDevOps);
    // Entra-issuer connections: Entra signs those tokens with its own keys.
    for (const c of ado.connections) {
      if (c.entraIssuer) issuers.set(entraConnectionIssuer(world, c.entraIssuer.tenantId), world.keys.entra);
    }
  }
  return issuers;
}

/** Azure DevOps' error body shape (`$id`, `innerException`, `message`, `typeName`, `typeKey`, `errorCode`, `eventId`). */
function vssError(ctx: Ctx, status: number, typeKey: string, message: string, headers = {}): void {
  sendJson(
    ctx,
    status,
    {
      $id: '1',
      innerException: null,
      message,
      typeName: `Microsoft.VisualStudio.Services.WebApi.${typeKey}, Microsoft.VisualStudio.Services.WebApi`,
      typeKey,
      errorCode: 0,
      eventId: 3000,
    },
    { activityid: randomUUID(), 'x-vss-e2eid': randomUUID(), ...headers },
  );
}

export async function handleAzureDevOps(ctx: Ctx, world: World): Promise<void> {
  const config = world.config.azureDevOps;
  if (!config) return vssError(ctx, 404, 'ResourceNotFoundException', 'Azure DevOps is not configured.');
  const faulted = applyNetworkFaults(
    ctx,
    world.control,
    { drop: 'azuredevops', throttle: 'azuredevops', serverError: 'azuredevops' },
    {
      throttled: () => ({
        body: {
          $id: '1',
          innerException: null,
          message: 'Request was blocked due to exceeding usage of resource.',
          typeKey: 'RequestBlockedException',
        },
      }),
      serverError: (status) => ({
        $id: '1',
        innerException: null,
        message: `Server error ${status}`,
        typeKey: 'VssServiceException',
      }),
    },
  );
  if (faulted) return;
  const issuerBase = `/${config.organizationId}/.well-known`;
  if (ctx.method === 'GET' && ctx.path === `${issuerBase}/openid-configuration`) {
    return sendJson(ctx, 200, {
      issuer: azureDevOpsIssuer(config.organizationId),
      jwks_uri: `https://127.0.0.1:${config.port}${issuerBase}/jwks`,
      subject_types_supported: ['public'],
      response_types_supported: ['id_token'],
      claims_supported: ['sub', 'aud', 'exp', 'iat', 'iss', 'nbf', 'jti'],
      id_token_signing_alg_values_supported: ['RS256'],
      scopes_supported: ['openid'],
    });
  }
  if (ctx.method === 'GET' && ctx.path === `${issuerBase}/jwks`) {
    return sendJson(ctx, 200, jwks([world.keys.azureDevOps]));
  }
  if (ctx.path.endsWith('/oidctoken')) return oidcToken(ctx, world, config);
  return vssError(ctx, 404, 'ResourceNotFoundException', `No route ${ctx.method} ${ctx.path}.`);
}

function oidcToken(ctx: Ctx, world: World, config: AzureDevOpsConfig): void {
  if (ctx.path !== oidcRequestPath(config)) {
    return vssError(
      ctx,
      404,
      'TaskOrchestrationJobNotFoundException',
      'The job was not found: the plan or job id of the request URL is not a running job.',
    );
  }
  if (ctx.method !== 'POST') {
    return vssError(
      ctx,
      405,
      'HttpResponseException',
      `The requested resource does not support http method '${ctx.method}'.`,
      { allow: 'POST' },
    );
  }
  const apiVersion = ctx.query.get('api-version');
  if (!apiVersion) {
    return vssError(
      ctx,
      400,
      'VssVersionNotSpecifiedException',
      'No api-version was supplied for the "POST" request. The version must be supplied either as part of the Accept header (e.g. "application/json; api-version=1.0") or as a query parameter (e.g. \'?api-version=1.0\').',
    );
  }
  if (!SUPPORTED_API_VERSION.test(apiVersion)) {
    return vssError(
      ctx,
      400,
      'VssVersionOutOfRangeException',
      `The requested REST API version of ${apiVersion} is out of range for this resource. Use 7.1.`,
    );
  }
  const presented = bearer(ctx);
  if (!presented || !sameSecret(presented, config.accessToken)) {
    if ((ctx.headers['x-tfs-fedauthredirect'] ?? '').toLowerCase() !== 'suppress') {
      // Without the header Azure DevOps answers an unauthenticated API call with its sign-in page.
      return send(ctx, 203, '<html><head><title>Azure DevOps Services | Sign In</title></head></html>', {
        'content-type': 'text/html; charset=utf-8',
      });
    }
    return vssError(
      ctx,
      401,
      'UnauthorizedRequestException',
      "TF400813: The user '' is not authorized to access this resource.",
    );
  }
  const id = ctx.query.get('serviceConnectionId');
  if (!id) {
    return vssError(
      ctx,
      400,
      'ArgumentNullException',
      'Value cannot be null.\r\nParameter name: serviceConnectionId',
    );
  }
  const connection = config.connections.find((c) => c.id.toLowerCase() === id.toLowerCase());
  if (!connection?.referenced) {
    return vssError(
      ctx,
      400,
      'InvalidServiceEndpointReferenceException',
      `There is no explicit reference to service connection ${id} from current stage. Please reference the service connection explicitly in a task input, or in the stage's or job's variables.`,
    );
  }
  const iat = nowSeconds();
  const entra = connection.entraIssuer;
  const claims = {
    jti: randomUUID(),
    sub: entra
      ? entraConnectionSubject(config, connection)
      : `sc://${config.organization}/${config.project}/${connection.name}`,
    aud: AUDIENCE,
    iss: entra ? entraConnectionIssuer(world, entra.tenantId) : azureDevOpsIssuer(config.organizationId),
    nbf: iat,
    exp: iat + world.lifetime(AZURE_DEVOPS_TOKEN_LIFETIME),
    iat,
  };
  const token = signJwt(entra ? world.keys.entra : world.keys.azureDevOps, claims);
  world.control.addSecret(token);
  sendJson(ctx, 200, { oidcToken: token });
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
