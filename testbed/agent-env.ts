/**
 * The Azure Pipelines agent's side of a task run, for tests:
 * - `agentEnv(...)` builds the environment the agent gives a task (inputs, the referenced service connections, the
 *   job's access token and OIDC request URI, the agent's directories and the System.* / Build.* variables);
 * - `bedServiceConnection(bed, kind)` describes one of the bed's service connections in each sign-in scheme;
 * - `parseAgentLog(stdout)` reads back the logging commands a run printed (`##vso[area.event props]data` anywhere in
 *   a line, as the agent finds them, and `##[group]` / `##[endgroup]` at the start of a line).
 *
 * Naming rules (shared/reference/azure-pipelines.md): `INPUT_<NAME>` upper-cased with `.` and spaces as `_`;
 * `ENDPOINT_URL_<id>`, `ENDPOINT_AUTH_<id>` (JSON `{"parameters":{...},"scheme":"..."}`), `ENDPOINT_AUTH_SCHEME_<id>`,
 * `ENDPOINT_AUTH_PARAMETER_<id>_<KEY>` and `ENDPOINT_DATA_<id>_<KEY>` with the id as given and the key upper-cased;
 * `ENDPOINT_AUTH_SYSTEMVSSCONNECTION` `{"parameters":{"AccessToken":"..."},"scheme":"OAuth"}`.
 */
import { join } from 'node:path';
import type { ServiceConnectionFixture } from './azure-devops-bed.js';
import type { StartedBed } from './bed.js';

export interface ServiceConnectionSpec {
  /** The connection's GUID (the value of the task's connectedService input). */
  id: string;
  /** ENDPOINT_URL_<id>: the ARM URL (with its trailing slash, as Azure DevOps stores it). */
  url: string;
  /** Absent: the agent sets no ENDPOINT_AUTH_SCHEME_<id> (and the JSON has no scheme), which means ServicePrincipal. */
  scheme: string | undefined;
  /** Authorization parameters, names as Azure DevOps stores them (`serviceprincipalid`, `tenantid` ...). */
  parameters: Record<string, string>;
  /** Endpoint data (`subscriptionId`, `environment`, `activeDirectoryAuthority` ...). */
  data: Record<string, string>;
}

export interface AgentEnvOptions {
  /** Task inputs by name (`azureSubscription`, `registry` ...). */
  inputs: Record<string, string>;
  /** The service connections the task's inputs reference. */
  connections?: ServiceConnectionSpec[];
  /** System.AccessToken of the job; omit for none. */
  accessToken?: string;
  /** System.OidcRequestUri; omit for none. */
  oidcRequestUri?: string;
  /** The agent's work folder: `_temp` (Agent.TempDirectory) and `s` (Build.SourcesDirectory) live under it. */
  workFolder: string;
  collectionUri?: string;
  project?: string;
  projectId?: string;
}

/** The agent's input-to-variable rule. */
export function agentInputName(name: string): string {
  return `INPUT_${name.replace(/[. ]/g, '_').toUpperCase()}`;
}

/** The variables the agent sets for one service connection. */
export function serviceConnectionEnv(connection: ServiceConnectionSpec): Record<string, string> {
  const { id } = connection;
  const env: Record<string, string> = {
    [`ENDPOINT_URL_${id}`]: connection.url,
    [`ENDPOINT_AUTH_${id}`]: JSON.stringify({
      parameters: connection.parameters,
      ...(connection.scheme !== undefined ? { scheme: connection.scheme } : {}),
    }),
  };
  if (connection.scheme !== undefined) env[`ENDPOINT_AUTH_SCHEME_${id}`] = connection.scheme;
  for (const [key, value] of Object.entries(connection.parameters)) {
    env[`ENDPOINT_AUTH_PARAMETER_${id}_${key.toUpperCase()}`] = value;
  }
  for (const [key, value] of Object.entries(connection.data)) {
    env[`ENDPOINT_DATA_${id}_${key.toUpperCase()}`] = value;
  }
  return env;
}

/** The environment a Linux agent gives a Node task (without PATH, HOME and the CA, which the caller adds). */
export function agentEnv(options: AgentEnvOptions): Record<string, string> {
  const collectionUri = options.collectionUri ?? 'https://dev.azure.com/acme/';
  const env: Record<string, string> = {
    TF_BUILD: 'True',
    AGENT_VERSION: '4.266.2',
    AGENT_OS: 'Linux',
    AGENT_OSARCHITECTURE: 'X64',
    AGENT_NAME: 'Azure Pipelines 3',
    AGENT_JOBNAME: 'Import',
    AGENT_JOBSTATUS: 'Succeeded',
    AGENT_WORKFOLDER: options.workFolder,
    AGENT_TEMPDIRECTORY: join(options.workFolder, '_temp'),
    AGENT_TOOLSDIRECTORY: join(options.workFolder, '_tool'),
    BUILD_SOURCESDIRECTORY: join(options.workFolder, '1', 's'),
    BUILD_BUILDID: '4711',
    BUILD_BUILDNUMBER: '20261201.1',
    BUILD_REPOSITORY_NAME: 'app',
    BUILD_SOURCEBRANCH: 'refs/heads/main',
    SYSTEM_DEFAULTWORKINGDIRECTORY: join(options.workFolder, '1', 's'),
    SYSTEM_COLLECTIONURI: collectionUri,
    SYSTEM_TEAMFOUNDATIONCOLLECTIONURI: collectionUri,
    SYSTEM_TEAMPROJECT: options.project ?? 'app',
    SYSTEM_TEAMPROJECTID: options.projectId ?? '00000000-0000-4000-a000-000000000001',
    SYSTEM_DEFINITIONNAME: 'app-promote',
    SYSTEM_HOSTTYPE: 'build',
    SYSTEM_JOBNAME: 'Import',
    SYSTEM_STAGENAME: 'Promote',
    SYSTEM_CULTURE: 'en-US',
  };
  if (options.oidcRequestUri) env['SYSTEM_OIDCREQUESTURI'] = options.oidcRequestUri;
  if (options.accessToken) {
    env['ENDPOINT_URL_SYSTEMVSSCONNECTION'] = collectionUri;
    env['ENDPOINT_AUTH_SYSTEMVSSCONNECTION'] = JSON.stringify({
      parameters: { AccessToken: options.accessToken },
      scheme: 'OAuth',
    });
    env['ENDPOINT_AUTH_SCHEME_SYSTEMVSSCONNECTION'] = 'OAuth';
    env['ENDPOINT_AUTH_PARAMETER_SYSTEMVSSCONNECTION_ACCESSTOKEN'] = options.accessToken;
  }
  for (const connection of options.connections ?? []) Object.assign(env, serviceConnectionEnv(connection));
  for (const [name, value] of Object.entries(options.inputs)) env[agentInputName(name)] = value;
  return env;
}

export type ConnectionKind =
  'wif' | 'wif-staging' | 'wif-unreferenced' | 'wif-entra' | 'secret' | 'certificate' | 'managed-identity';

/**
 * One of the bed's service connections as the agent describes it. The emulator is not a public cloud, so every
 * connection says `environment: AzureStack` with the emulator's ARM URL and Entra authority, as a connection to an
 * Azure Stack Hub does.
 */
export function bedServiceConnection(bed: StartedBed, kind: ConnectionKind): ServiceConnectionSpec {
  const ado = bed.azureDevOps;
  const { app } = ado;
  const byKind: Partial<Record<ConnectionKind, ServiceConnectionFixture>> = {
    'wif-staging': ado.connections.staging,
    'wif-unreferenced': ado.connections.unreferenced,
    'wif-entra': ado.connections.entra,
  };
  const connection = byKind[kind] ?? ado.connections.prod;
  const data: Record<string, string> = {
    environment: 'AzureStack',
    scopeLevel: 'Subscription',
    subscriptionId: bed.acrs.target.subscriptionId,
    subscriptionName: 'Acme Production',
    creationMode: 'Manual',
    activeDirectoryAuthority: `${bed.entra.authorityHost}/`,
    environmentUrl: `${bed.arm.endpoint}/`,
  };
  const base = { id: connection.id, url: `${bed.arm.endpoint}/`, data };
  switch (kind) {
    case 'wif':
    case 'wif-staging':
    case 'wif-unreferenced':
    case 'wif-entra':
      return {
        ...base,
        scheme: 'WorkloadIdentityFederation',
        parameters: {
          serviceprincipalid: app.clientId,
          tenantid: app.tenantId,
          workloadIdentityFederationIssuer: ado.issuer,
          workloadIdentityFederationSubject: connection.subject,
        },
      };
    case 'secret':
      return {
        ...base,
        scheme: 'ServicePrincipal',
        parameters: {
          serviceprincipalid: app.clientId,
          tenantid: app.tenantId,
          authenticationType: 'spnKey',
          serviceprincipalkey: app.clientSecret,
        },
      };
    case 'certificate':
      return {
        ...base,
        scheme: 'ServicePrincipal',
        parameters: {
          serviceprincipalid: app.clientId,
          tenantid: app.tenantId,
          authenticationType: 'spnCertificate',
          servicePrincipalCertificate: app.certificatePem,
        },
      };
    case 'managed-identity':
      return {
        ...base,
        scheme: 'ManagedServiceIdentity',
        parameters: { tenantid: bed.tenants.main },
        data: { ...data, msiClientId: bed.managedIdentity.clientId },
      };
  }
}

/** The agent environment for a task run against the bed, signed in through `connection`. */
export function bedAgentEnv(
  bed: StartedBed,
  connection: ServiceConnectionSpec,
  inputs: Record<string, string>,
  workFolder: string,
): Record<string, string> {
  const ado = bed.azureDevOps;
  const env = agentEnv({
    inputs: { azureSubscription: connection.id, ...inputs },
    connections: [connection],
    accessToken: ado.accessToken,
    oidcRequestUri: ado.oidcRequestUri,
    workFolder,
    collectionUri: ado.collectionUri,
    project: ado.project,
    projectId: ado.projectId,
  });
  env['NODE_EXTRA_CA_CERTS'] = bed.caFile;
  if (connection.scheme === 'ManagedServiceIdentity') {
    // A self-hosted agent on Azure compute: its identity endpoint (App Service form, which the emulator plays).
    env['IDENTITY_ENDPOINT'] = bed.managedIdentity.endpoint;
    env['IDENTITY_HEADER'] = bed.managedIdentity.header;
  }
  return env;
}

// ---------------------------------------------------------------------------------------------------------------
// Reading a run's logging commands back

export interface LoggingCommand {
  /** `task.setvariable`, `task.complete` ..., as written (the agent compares case-insensitively). */
  command: string;
  properties: Record<string, string>;
  data: string;
  /** The whole stdout line. */
  line: string;
}

export interface AgentLog {
  /** Every `##vso[...]` command, in order. */
  commands: LoggingCommand[];
  /** `task.setvariable` by variable name (the last value wins, as in the agent). */
  variables: Record<string, { value: string; isOutput: boolean; isSecret: boolean }>;
  /** Values of `task.setsecret`. */
  secrets: string[];
  issues: { type: string; message: string }[];
  /** Paths passed to `task.uploadsummary`. */
  summaries: string[];
  /** Every `task.complete` (a correct run has exactly one). */
  completions: { result: string; message: string }[];
  debug: string[];
  /** `##[group]` names in order, and whether every group was closed. */
  groups: string[];
  groupsBalanced: boolean;
  /** Lines that are no command. */
  text: string[];
}

/** The agent's unescaping: `%AZP25` last, so an escaped `%` never forms another escape. */
export function unescapeCommandValue(value: string, property: boolean): string {
  let out = value.replace(/%0D/gi, '\r').replace(/%0A/gi, '\n');
  if (property) out = out.replace(/%5D/gi, ']').replace(/%3B/gi, ';');
  return out.replace(/%AZP25/gi, '%');
}

const VSO = /##vso\[([A-Za-z0-9_.-]+)((?:\s[^\]]*)?)\](.*)$/;

export function parseAgentLog(stdout: string): AgentLog {
  const log: AgentLog = {
    commands: [],
    variables: {},
    secrets: [],
    issues: [],
    summaries: [],
    completions: [],
    debug: [],
    groups: [],
    groupsBalanced: true,
    text: [],
  };
  let depth = 0;
  for (const raw of stdout.split('\n')) {
    const line = raw.replace(/\r$/, '');
    const group = /^##\[(group|endgroup)\](.*)$/.exec(line);
    if (group) {
      if (group[1] === 'group') {
        if (depth > 0) log.groupsBalanced = false;
        depth++;
        log.groups.push(group[2] ?? '');
      } else {
        if (depth === 0) log.groupsBalanced = false;
        depth = Math.max(0, depth - 1);
      }
      continue;
    }
    const m = VSO.exec(line);
    if (!m) {
      if (line) log.text.push(line);
      continue;
    }
    const command = m[1] ?? '';
    const properties: Record<string, string> = {};
    for (const part of (m[2] ?? '').trim().split(';')) {
      if (!part.trim()) continue;
      const eq = part.indexOf('=');
      const key = (eq < 0 ? part : part.slice(0, eq)).trim();
      properties[key.toLowerCase()] = unescapeCommandValue(eq < 0 ? '' : part.slice(eq + 1), true);
    }
    const data = unescapeCommandValue(m[3] ?? '', false);
    log.commands.push({ command, properties, data, line });
    switch (command.toLowerCase()) {
      case 'task.setvariable':
        log.variables[properties['variable'] ?? ''] = {
          value: data,
          isOutput: (properties['isoutput'] ?? '').toLowerCase() === 'true',
          isSecret: (properties['issecret'] ?? '').toLowerCase() === 'true',
        };
        break;
      case 'task.setsecret':
        log.secrets.push(data);
        break;
      case 'task.logissue':
        log.issues.push({ type: properties['type'] ?? '', message: data });
        break;
      case 'task.uploadsummary':
        log.summaries.push(data);
        break;
      case 'task.complete':
        log.completions.push({ result: properties['result'] ?? '', message: data });
        break;
      case 'task.debug':
        log.debug.push(data);
        break;
    }
  }
  if (depth !== 0) log.groupsBalanced = false;
  return log;
}
