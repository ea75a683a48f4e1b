/**
 * The bed's Azure DevOps organization: one project, one running job (plan + job ids, its System.AccessToken), its
 * service connections, and the Entra app they sign in as (`pipelines`: importer on the target ACR, a federated
 * credential for the `acr-prod` connection's subject, a client secret and an RSA certificate). Made by startBed()
 * (testbed/bed.ts) and exposed as `bed.azureDevOps`; testbed/agent-env.ts turns it into a task's environment.
 *
 * Connections (all of the `pipelines` app): `acr-prod` (referenced by the job, federated credential on the app),
 * `acr-staging` (referenced, but the app has no federated credential for its subject: AADSTS70021/700213),
 * `acr-unreferenced` (exists, not referenced by the job: the OIDC endpoint refuses it, as for a `script:` step) and
 * `acr-entra` (referenced, of the newer kind whose tokens Entra issues; federated credential on the app).
 */
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  azureDevOpsIssuer,
  entraConnectionSubject,
  oidcRequestPath,
  type AzureDevOpsConfig,
} from './emulator/azure-devops.js';
import type { EmulatorConfig } from './emulator/config.js';

const run = promisify(execFile);

export interface ServiceConnectionFixture {
  /** The connection's GUID: the value of an input of type connectedService:AzureRM. */
  id: string;
  name: string;
  /** The subject of its OIDC tokens: `sc://<org>/<project>/<name>` (an `/eid1/...` one for acr-entra). */
  subject: string;
  /** The issuer of its OIDC tokens. */
  issuer: string;
}

export interface AzureDevOpsBed {
  organization: string;
  organizationId: string;
  project: string;
  projectId: string;
  /** System.CollectionUri: `https://127.0.0.1:<port>/<org>/`. */
  collectionUri: string;
  /** System.OidcRequestUri of the running job. */
  oidcRequestUri: string;
  /** System.AccessToken of the running job. */
  accessToken: string;
  /** `https://vstoken.dev.azure.com/<organization id>` */
  issuer: string;
  connections: {
    prod: ServiceConnectionFixture;
    staging: ServiceConnectionFixture;
    unreferenced: ServiceConnectionFixture;
    entra: ServiceConnectionFixture;
  };
  /** The app behind the connections. */
  app: {
    clientId: string;
    objectId: string;
    tenantId: string;
    clientSecret: string;
    /** PEM certificate followed by its RSA private key, as ENDPOINT_AUTH_PARAMETER_<id>_SERVICEPRINCIPALCERTIFICATE carries it. */
    certificatePem: string;
  };
}

function guid(label: string): string {
  const h = createHash('sha256').update(`acr-import-bed:ado:${label}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** The pipelines app's self-signed RSA certificate (PEM), made with openssl in `dir`; slow, so started early. */
export async function appCertificate(dir: string): Promise<{ cert: string; key: string }> {
  const keyFile = join(dir, 'pipelines-app.key');
  const certFile = join(dir, 'pipelines-app.crt');
  await run('openssl', [
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-noenc',
    '-days',
    '2',
    '-subj',
    '/CN=acr-import-pipelines',
    '-keyout',
    keyFile,
    '-out',
    certFile,
  ]);
  const [cert, key] = await Promise.all([readFile(certFile, 'utf8'), readFile(keyFile, 'utf8')]);
  return { cert, key };
}

/** Everything startBed() needs: the emulator's `azureDevOps` section, the app principal, and the bed's view. */
export function azureDevOpsSetup(
  port: number,
  tenantId: string,
  { cert, key }: { cert: string; key: string },
  /** The emulator's Entra URL: the issuer of acr-entra's tokens is `<entraUrl>/<tenant>/v2.0`. */
  entraUrl: string,
): {
  config: AzureDevOpsConfig;
  principal: EmulatorConfig['principals'][number];
  bed: AzureDevOpsBed;
  /** The federated credential another tenant's app holds for acr-prod (a source ACR in another tenant). */
  crossTenantFederation: EmulatorConfig['principals'][number]['federated'][number];
} {
  const organization = 'acme';
  const project = 'app';
  const organizationId = guid('org');
  const projectId = guid('project');
  const issuer = azureDevOpsIssuer(organizationId);
  const clientId = guid('app:pipelines');
  const connection = (name: string): ServiceConnectionFixture => ({
    id: guid(`connection:${name}`),
    name,
    subject: `sc://${organization}/${project}/${name}`,
    issuer,
  });
  const entraIssuer = { tenantId, clientId };
  const entraId = guid('connection:acr-entra');
  const connections = {
    prod: connection('acr-prod'),
    staging: connection('acr-staging'),
    unreferenced: connection('acr-unreferenced'),
    entra: {
      id: entraId,
      name: 'acr-entra',
      subject: entraConnectionSubject({ organizationId }, { id: entraId, entraIssuer }),
      issuer: `${entraUrl}/${tenantId}/v2.0`,
    },
  };
  const config: AzureDevOpsConfig = {
    port,
    organization,
    organizationId,
    project,
    projectId,
    planId: guid('plan'),
    jobId: guid('job'),
    accessToken: randomBytes(32).toString('base64url'),
    connections: [
      { ...connections.prod, referenced: true },
      { ...connections.staging, referenced: true },
      { ...connections.unreferenced, referenced: false },
      { id: entraId, name: 'acr-entra', referenced: true, entraIssuer },
    ],
  };

  const app = {
    clientId,
    objectId: guid('sp:pipelines'),
    tenantId,
    clientSecret: randomBytes(24).toString('base64url'),
    certificatePem: `${cert.trim()}\n${key.trim()}\n`,
  };
  const origin = `https://127.0.0.1:${port}`;
  return {
    config,
    crossTenantFederation: {
      issuer: connections.prod.issuer,
      subject: connections.prod.subject,
      audiences: ['api://AzureADTokenExchange'],
    },
    principal: {
      name: 'pipelines',
      clientId: app.clientId,
      tenantId,
      objectId: app.objectId,
      clientSecret: app.clientSecret,
      certificates: [cert],
      federated: [connections.prod, connections.entra].map((c) => ({
        issuer: c.issuer,
        subject: c.subject,
        audiences: ['api://AzureADTokenExchange'],
      })),
    },
    bed: {
      organization,
      organizationId,
      project,
      projectId,
      collectionUri: `${origin}/${organization}/`,
      oidcRequestUri: `${origin}${oidcRequestPath(config)}`,
      accessToken: config.accessToken,
      issuer,
      connections,
      app,
    },
  };
}
