/**
 * Entra ID (what MSAL calls the authority) and an App Service-style managed identity endpoint, on one listener:
 * - `GET /{tenant}/v2.0/.well-known/openid-configuration` (and the v1 `/{tenant}/.well-known/openid-configuration`),
 *   `GET /{tenant}/discovery/v2.0/keys`, `GET /common/discovery/instance` (instance discovery, for clients that do not
 *   disable it);
 * - `POST /{tenant}/oauth2/v2.0/token` (`scope`) and `POST /{tenant}/oauth2/token` (v1, `resource`):
 *   `grant_type=client_credentials` with `client_secret` or a federated `client_assertion` (checked against the OIDC
 *   emulator's keys and the app's federated credentials: issuer, subject and audience, case-sensitive; lifetime);
 *   answers a JWT access token for the resource, or an AADSTS error body shaped like Entra's;
 * - `GET /msi/token?resource=...&api-version=2019-08-01` with `X-IDENTITY-HEADER` (what msal-node's AppService source
 *   sends) for the principal marked `managedIdentity`.
 * Also exports the access-token check that ARM and the ACR data plane use.
 */
import { randomUUID } from 'node:crypto';
import { applyNetworkFaults, form, sendJson, type Ctx } from './http.js';
import {
  audiences,
  decodeJwt,
  jwks,
  nowSeconds,
  numClaim,
  signJwt,
  strClaim,
  verifyJwt,
  type Claims,
} from './jwt.js';
import { ACR_AUDIENCE, type PrincipalConfig, type World } from './state.js';
import { federatedIssuerKeys } from './azure-devops.js';
import { checkCertificateAssertion, isCertificateAssertion } from './entra-certificate.js';

export const ENTRA_DEFAULT_LIFETIME = 3600;
const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
const DEFAULT_FEDERATED_AUDIENCE = 'api://AzureADTokenExchange';

export async function handleEntra(ctx: Ctx, world: World): Promise<void> {
  const faulted = applyNetworkFaults(
    ctx,
    world.control,
    { drop: 'entra', throttle: 'entra', serverError: 'entra' },
    {
      throttled: () => ({
        body: aadErrorBody(
          ctx,
          'temporarily_unavailable',
          50196,
          'The server terminated an operation because it encountered a client request loop. Please contact your app vendor.',
        ),
      }),
      serverError: () =>
        aadErrorBody(
          ctx,
          'temporarily_unavailable',
          90033,
          'A transient error has occurred. Please try again.',
        ),
    },
  );
  if (faulted) return;

  const segments = ctx.path.split('/').filter(Boolean);
  const [tenant, ...rest] = segments;
  const tail = rest.join('/');
  if (ctx.method === 'GET' && tenant === 'msi' && tail === 'token') return managedIdentityToken(ctx, world);
  if (!tenant) return sendJson(ctx, 404, { error: 'not_found' });

  if (ctx.method === 'GET' && tail === 'discovery/instance') return instanceDiscovery(ctx, world);
  if (
    ctx.method === 'GET' &&
    (tail === 'v2.0/.well-known/openid-configuration' || tail === '.well-known/openid-configuration')
  ) {
    if (!knownTenantOrAlias(world, tenant)) return tenantNotFound(ctx, tenant);
    return sendJson(ctx, 200, openidConfiguration(world, tenant, tail.startsWith('v2.0')));
  }
  if (ctx.method === 'GET' && (tail === 'discovery/v2.0/keys' || tail === 'discovery/keys')) {
    if (!knownTenantOrAlias(world, tenant)) return tenantNotFound(ctx, tenant);
    return sendJson(ctx, 200, jwks([world.keys.entra]));
  }
  if (ctx.method === 'POST' && (tail === 'oauth2/v2.0/token' || tail === 'oauth2/token')) {
    return clientCredentialsToken(ctx, world, tenant, tail === 'oauth2/v2.0/token');
  }
  return sendJson(ctx, 404, { error: 'not_found', error_description: `No route ${ctx.method} ${ctx.path}` });
}

function knownTenantOrAlias(world: World, tenant: string): boolean {
  return ['common', 'organizations'].includes(tenant.toLowerCase()) || world.hasTenant(tenant);
}

function openidConfiguration(world: World, tenant: string, v2: boolean): Record<string, unknown> {
  const alias = ['common', 'organizations'].includes(tenant.toLowerCase());
  const t = alias ? '{tenantid}' : tenant;
  const base = `${world.urls.entra}/${tenant}`;
  const v = v2 ? '/v2.0' : '';
  return {
    token_endpoint: `${base}/oauth2${v}/token`,
    token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
    jwks_uri: `${base}/discovery${v}/keys`,
    response_modes_supported: ['query', 'fragment', 'form_post'],
    subject_types_supported: ['pairwise'],
    id_token_signing_alg_values_supported: ['RS256'],
    response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
    scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
    issuer: v2 ? `${world.urls.entra}/${t}/v2.0` : `https://sts.windows.net/${t}/`,
    request_uri_parameter_supported: false,
    userinfo_endpoint: `${world.urls.entra}/oidc/userinfo`,
    authorization_endpoint: `${base}/oauth2${v}/authorize`,
    device_authorization_endpoint: `${base}/oauth2${v}/devicecode`,
    http_logout_supported: true,
    frontchannel_logout_supported: true,
    end_session_endpoint: `${base}/oauth2${v}/logout`,
    claims_supported: ['sub', 'iss', 'aud', 'exp', 'iat', 'auth_time', 'acr', 'nonce', 'tid', 'ver', 'oid'],
    kerberos_endpoint: `${base}/kerberos`,
    tenant_region_scope: 'NA',
    cloud_instance_name: 'microsoftonline.com',
    cloud_graph_host_name: 'graph.windows.net',
    msgraph_host: 'graph.microsoft.com',
    rbac_url: 'https://pas.windows.net',
  };
}

function instanceDiscovery(ctx: Ctx, world: World): void {
  const host = new URL(world.urls.entra).host;
  sendJson(ctx, 200, {
    tenant_discovery_endpoint: `${world.urls.entra}/{tenant}/v2.0/.well-known/openid-configuration`,
    'api-version': '1.1',
    metadata: [{ preferred_network: host, preferred_cache: host, aliases: [host] }],
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Errors, shaped like Entra's

/** Entra's timestamp format in error bodies: `2026-11-23 14:05:09Z`. */
function aadTimestamp(date = new Date()): string {
  return `${date.toISOString().slice(0, 19).replace('T', ' ')}Z`;
}

function aadErrorBody(ctx: Ctx, error: string, code: number, text: string): Record<string, unknown> {
  const traceId = randomUUID();
  const formFields = ctx.method === 'POST' ? form(ctx) : new URLSearchParams();
  const correlationId =
    ctx.headers['client-request-id'] ?? formFields.get('client-request-id') ?? randomUUID();
  const timestamp = aadTimestamp();
  return {
    error,
    error_description: `AADSTS${code}: ${text} Trace ID: ${traceId} Correlation ID: ${correlationId} Timestamp: ${timestamp}`,
    error_codes: [code],
    timestamp,
    trace_id: traceId,
    correlation_id: correlationId,
    error_uri: `https://${ctx.headers['host'] ?? '127.0.0.1'}/error?code=${code}`,
  };
}

function aadError(ctx: Ctx, status: number, error: string, code: number, text: string): void {
  sendJson(ctx, status, aadErrorBody(ctx, error, code, text));
}

function tenantNotFound(ctx: Ctx, tenant: string): void {
  aadError(
    ctx,
    400,
    'invalid_tenant',
    90002,
    `Tenant '${tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant.`,
  );
}

// ---------------------------------------------------------------------------------------------------------------
// Token endpoint

function clientCredentialsToken(ctx: Ctx, world: World, tenant: string, v2: boolean): void {
  if (!world.hasTenant(tenant)) return tenantNotFound(ctx, tenant);
  const f = form(ctx);
  const missing = (name: string): void =>
    aadError(
      ctx,
      400,
      'invalid_request',
      900144,
      `The request body must contain the following parameter: '${name}'.`,
    );

  const grantType = f.get('grant_type');
  if (!grantType) return missing('grant_type');
  if (grantType !== 'client_credentials') {
    return aadError(
      ctx,
      400,
      'unsupported_grant_type',
      70003,
      `The app requested an unsupported grant type '${grantType}'.`,
    );
  }
  const clientId = f.get('client_id');
  if (!clientId) return missing('client_id');

  let resource: string;
  if (v2) {
    const scope = f.get('scope');
    if (!scope) return missing('scope');
    const scopes = scope
      .split(/\s+/)
      .filter((s) => s && !['openid', 'profile', 'offline_access'].includes(s));
    const [only] = scopes;
    if (scopes.length !== 1 || !only?.endsWith('/.default')) {
      return aadError(
        ctx,
        400,
        'invalid_scope',
        1002012,
        `The provided value for scope ${scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).`,
      );
    }
    resource = only.slice(0, -'/.default'.length);
  } else {
    const r = f.get('resource');
    if (!r) return missing('resource');
    resource = r;
  }

  const app = world.principalByClientId(clientId, tenant);
  if (!app) {
    return aadError(
      ctx,
      400,
      'unauthorized_client',
      700016,
      `Application with identifier '${clientId}' was not found in the directory '${tenant}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.`,
    );
  }

  const secret = f.get('client_secret');
  const assertion = f.get('client_assertion');
  let appidacr: string;
  if (secret !== null) {
    if (!app.clientSecret || secret !== app.clientSecret) {
      return aadError(
        ctx,
        401,
        'invalid_client',
        7000215,
        `Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${app.clientId}'.`,
      );
    }
    appidacr = '1';
  } else if (assertion !== null) {
    if (f.get('client_assertion_type') !== JWT_BEARER) {
      return aadError(
        ctx,
        400,
        'invalid_request',
        90014,
        `The required field 'client_assertion_type' is missing or is not '${JWT_BEARER}'.`,
      );
    }
    const decoded = decodeJwt(assertion);
    if (decoded && isCertificateAssertion(decoded, app.clientId)) {
      const endpoints = ['oauth2/v2.0/token', 'oauth2/token'].map(
        (t) => `${world.urls.entra}/${tenant}/${t}`,
      );
      const checked = checkCertificateAssertion(decoded, app, endpoints);
      if (!checked.ok) return aadError(ctx, 401, checked.error, checked.code, checked.text);
    } else {
      const problem = checkFederatedAssertion(ctx, world, app, assertion);
      if (problem) return;
    }
    appidacr = '2';
  } else {
    return aadError(
      ctx,
      401,
      'invalid_client',
      7000218,
      "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
    );
  }

  if (!knownResource(world, resource)) {
    return aadError(
      ctx,
      400,
      'invalid_resource',
      500011,
      `The resource principal named ${resource} was not found in the tenant named ${tenant}. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant.`,
    );
  }

  const { token, lifetime } = issueAccessToken(world, app, resource, appidacr);
  sendJson(
    ctx,
    200,
    { token_type: 'Bearer', expires_in: lifetime, ext_expires_in: lifetime, access_token: token },
    { 'cache-control': 'no-store, no-cache', pragma: 'no-cache' },
  );
}

/** Answers the error itself and returns true when the assertion does not pass. */
function checkFederatedAssertion(ctx: Ctx, world: World, app: PrincipalConfig, assertion: string): boolean {
  const decoded = decodeJwt(assertion);
  if (!decoded) {
    aadError(ctx, 400, 'invalid_client', 50027, 'JWT token is invalid or malformed.');
    return true;
  }
  const claims = decoded.claims;
  const iss = strClaim(claims, 'iss') ?? '';
  const sub = strClaim(claims, 'sub') ?? '';
  const auds = audiences(claims);
  const issuerKey = federatedIssuerKeys(world).get(iss);
  const match =
    issuerKey !== undefined &&
    app.federated.some(
      (fc) =>
        (fc.issuer ?? world.urls.oidc) === iss &&
        fc.subject === sub &&
        (fc.audiences.length > 0 ? fc.audiences : [DEFAULT_FEDERATED_AUDIENCE]).some((a) => auds.includes(a)),
    );
  if (!match) {
    const code = world.control.faults.federatedMismatchCode ?? 70021;
    const text =
      code === 700213
        ? `No matching federated identity record found for presented assertion subject '${sub}'. Please check your federated identity credential Subject, Audience and Issuer against the presented assertion. https://learn.microsoft.com/entra/workload-id/workload-identity-federation`
        : `No matching federated identity record found for presented assertion. Assertion Issuer: '${iss}'. Assertion Subject: '${sub}'. Assertion Audience: '${auds.join(',')}'. https://docs.microsoft.com/en-us/azure/active-directory/develop/workload-identity-federation`;
    aadError(ctx, 400, 'invalid_request', code, text);
    return true;
  }
  const verified = verifyJwt(assertion, [issuerKey]);
  if (!verified.ok) {
    aadError(ctx, 400, 'invalid_client', 700027, 'Client assertion failed signature validation.');
    return true;
  }
  const now = nowSeconds();
  const exp = numClaim(claims, 'exp');
  const nbf = numClaim(claims, 'nbf') ?? numClaim(claims, 'iat');
  if (exp === undefined || now >= exp || (nbf !== undefined && now < nbf)) {
    const iso = (s: number | undefined): string =>
      s === undefined ? 'unknown' : new Date(s * 1000).toISOString().replace(/\.\d+Z$/, '.0000000Z');
    aadError(
      ctx,
      400,
      'invalid_client',
      700024,
      `Client assertion is not within its valid time range. Current time: ${iso(now)}, assertion valid from ${iso(nbf)}, expiry time of assertion ${iso(exp)}. Review the documentation at https://learn.microsoft.com/entra/identity-platform/certificate-credentials .`,
    );
    return true;
  }
  return false;
}

/**
 * Resources the emulated tenant knows: ARM (the public cloud's and the emulator cloud's audience, never a URL that
 * merely hosts ARM) and ACR. Anything else is AADSTS500011, as Entra answers.
 */
function knownResource(world: World, resource: string): boolean {
  const r = resource.replace(/\/+$/, '');
  return world.armAudiences().includes(r) || r === ACR_AUDIENCE;
}

/** A v1 access token for `resource` (exactly as requested, trailing slash kept), like Entra issues for ARM. */
export function issueAccessToken(
  world: World,
  principal: PrincipalConfig,
  resource: string,
  appidacr: string,
  extra: Claims = {},
): { token: string; lifetime: number; expiresOn: number } {
  const iat = nowSeconds();
  const lifetime = world.lifetime(ENTRA_DEFAULT_LIFETIME);
  const iss = world.entraIssuer(principal.tenantId);
  const claims: Claims = {
    aud: resource,
    iss,
    iat,
    nbf: iat,
    exp: iat + lifetime,
    aio: randomUUID().replace(/-/g, ''),
    appid: principal.clientId,
    appidacr,
    idp: iss,
    idtyp: 'app',
    oid: principal.objectId,
    rh: `0.${randomUUID().replace(/-/g, '')}.`,
    sub: principal.objectId,
    tid: principal.tenantId,
    uti: randomUUID().replace(/-/g, '').slice(0, 22),
    ver: '1.0',
    ...extra,
  };
  const token = signJwt(world.keys.entra, claims, { x5t: world.keys.entra.kid });
  world.control.addSecret(token);
  return { token, lifetime, expiresOn: iat + lifetime };
}

// ---------------------------------------------------------------------------------------------------------------
// Access-token check for the resource servers (ARM, ACR /oauth2/exchange)

export type EntraTokenCheck =
  | { ok: true; claims: Claims; principal: PrincipalConfig; tenantId: string; audience: string }
  | {
      ok: false;
      reason: 'malformed' | 'signature' | 'expired' | 'not-yet-valid' | 'issuer';
      claims?: Claims;
    };

/** Verifies an Entra access token's signature, issuer and lifetime (no skew); the audience is the caller's job. */
export function verifyEntraToken(world: World, token: string): EntraTokenCheck {
  const verified = verifyJwt(token, [world.keys.entra]);
  if (!verified.ok) {
    return verified.reason === 'malformed'
      ? { ok: false, reason: 'malformed' }
      : { ok: false, reason: 'signature', ...(verified.claims ? { claims: verified.claims } : {}) };
  }
  const { claims } = verified;
  const tid = strClaim(claims, 'tid') ?? '';
  const oid = strClaim(claims, 'oid') ?? '';
  const principal = world.principalByObjectId(oid, tid);
  if (!principal || strClaim(claims, 'iss') !== world.entraIssuer(tid))
    return { ok: false, reason: 'issuer', claims };
  const now = nowSeconds();
  const exp = numClaim(claims, 'exp') ?? 0;
  const nbf = numClaim(claims, 'nbf') ?? 0;
  if (now >= exp) return { ok: false, reason: 'expired', claims };
  if (now < nbf) return { ok: false, reason: 'not-yet-valid', claims };
  return { ok: true, claims, principal, tenantId: tid, audience: audiences(claims)[0] ?? '' };
}

// ---------------------------------------------------------------------------------------------------------------
// App Service managed identity (IDENTITY_ENDPOINT / IDENTITY_HEADER, api-version 2019-08-01)

function managedIdentityToken(ctx: Ctx, world: World): void {
  const fail = (status: number, message: string): void =>
    sendJson(ctx, status, { statusCode: status, message, correlationId: randomUUID() });
  if (ctx.headers['x-identity-header'] !== world.managedIdentityHeader) {
    return fail(401, 'The X-IDENTITY-HEADER header is missing or does not hold the expected secret.');
  }
  const apiVersion = ctx.query.get('api-version');
  if (apiVersion !== '2019-08-01') {
    return fail(400, `The api-version '${apiVersion ?? ''}' is not supported; use 2019-08-01.`);
  }
  const resource = ctx.query.get('resource');
  if (!resource) return fail(400, "The 'resource' query parameter is required.");
  const identity = world.config.principals.find((p) => p.managedIdentity);
  if (!identity) return fail(400, 'No managed identity is assigned to this app.');
  const clientId = ctx.query.get('client_id');
  const principalId = ctx.query.get('principal_id') ?? ctx.query.get('object_id');
  if (
    (clientId && clientId.toLowerCase() !== identity.clientId.toLowerCase()) ||
    (principalId && principalId.toLowerCase() !== identity.objectId.toLowerCase()) ||
    ctx.query.get('mi_res_id')
  ) {
    return fail(400, 'Unable to load the proper Managed Identity.');
  }
  if (!knownResource(world, resource)) {
    return fail(
      400,
      `AADSTS500011: The resource principal named ${resource} was not found in the tenant named ${identity.tenantId}.`,
    );
  }
  const { token, expiresOn } = issueAccessToken(world, identity, resource, '2', {
    xms_mirid: `/subscriptions/${world.config.subscriptions[0]?.id ?? '0'}/resourcegroups/identities/providers/Microsoft.ManagedIdentity/userAssignedIdentities/${identity.name}`,
  });
  sendJson(ctx, 200, {
    access_token: token,
    expires_on: String(expiresOn),
    resource,
    token_type: 'Bearer',
    client_id: identity.clientId,
  });
}
