/**
 * The Azure Pipelines task (AcrImport@1): the agent's environment in, the shared host runner in the middle, logging
 * commands out. Order matters: the agent's secrets (the job access token, the connection's key or certificate, the
 * source password) are declared with `task.setsecret` before any other line; then the service connection is read
 * (a missing or unusable one fails before any request); the runner runs with the connection's credential; and the
 * outputs, the summary tab, one issue per failed image and exactly one `task.complete` are written.
 */
import { ImportError, InputError, VERSION, type AuthHost, type ProxySettings } from '../../engine/index.js';
import { runHost, type HostResult } from '../common/runner.js';
import {
  agentGroup,
  agentLogger,
  completionMessage,
  publishOutputs,
  publishSummary,
  reportImageErrors,
  taskResult,
} from './agent.js';
import { createConnectionCredential } from './connection-credential.js';
import { taskInputs, taskInputVariable } from './inputs.js';
import { AgentLog, type TaskResult } from './logging.js';
import { agentProxySecrets, agentProxySettings, standardProxyEnv } from './proxy.js';
import {
  agentSecrets,
  checkCustomCloudAuthority,
  readServiceConnection,
  SERVICE_CONNECTION_INPUT,
  type AgentEnv,
  type ServiceConnection,
} from './service-connection.js';
import { PIPELINES_WORDING } from './wording.js';

export interface TaskIo {
  env: AgentEnv;
  /** Writes one stdout line (without its newline). */
  write(line: string): void;
}

const processIo: TaskIo = {
  env: process.env,
  write: (line) => void process.stdout.write(`${line}\n`),
};

/** The task's AuthHost: the service connection signs in, so no other way is offered. */
const NO_OTHER_SIGN_IN: AuthHost = {
  idToken: undefined,
  azureCliAvailable: false,
  azureCliNote: 'the task signs in only through its service connection (azureSubscription)',
  managedIdentityPossible: false,
};

/** Runs the task; resolves to the result it reported with task.complete. */
export async function run(io: TaskIo = processIo): Promise<TaskResult> {
  const { env } = io;
  // Secrets first: the job token and the connection's secrets, and the source password, before any other line.
  const sourcePassword = env[taskInputVariable('sourcePassword')];
  const log = new AgentLog(io.write, [
    ...agentSecrets(env),
    ...agentProxySecrets(env),
    ...(sourcePassword ? [sourcePassword] : []),
  ]);
  let result: TaskResult;
  try {
    result = await runTask(env, log);
  } catch (err) {
    // Nothing the task did should end here; if it does, the step still ends once, failed, with the reason.
    log.error(describe(err));
    result = 'Failed';
    if (!log.result) log.complete(result, firstLine(describe(err)));
  }
  if (result === 'Failed') process.exitCode = 1;
  return result;
}

async function runTask(env: AgentEnv, log: AgentLog): Promise<TaskResult> {
  let connection: ServiceConnection;
  let proxy: ProxySettings;
  try {
    connection = readServiceConnection(env);
    proxy = agentProxySettings(env);
  } catch (err) {
    return fail(log, describe(err));
  }
  for (const secret of connection.secrets) log.setSecret(secret);
  const inputs = taskInputs(env, connection);
  const sourceFederation = checkSourceFederation(env, connection);
  if (sourceFederation) return fail(log, describe(sourceFederation));
  const outcome: HostResult = await runHost({
    input: (name) => inputs.input(name),
    checkGiven: () => inputs.checkGiven(),
    inputLabel: inputs.inputLabel,
    env: standardProxyEnv(env),
    proxy,
    files: inputs.files,
    mask: (secret) => log.setSecret(secret),
    logger: agentLogger(log),
    authHost: () => NO_OTHER_SIGN_IN,
    // Built once the cloud is known (a custom cloud's authority from its ARM metadata), sending through the engine.
    signIn: () => async (context) => {
      if (connection.endpoints) checkCustomCloudAuthority(connection, context.authorityHost);
      const made = await createConnectionCredential(connection, {
        authorityHost: context.authorityHost,
        disableInstanceDiscovery: context.disableInstanceDiscovery,
        mask: (secret) => log.setSecret(secret),
        send: context.send,
        identityOptions: context.identityOptions,
      });
      return { credential: made.credential, ...(made.federated ? { federated: made.federated } : {}) };
    },
    wording: PIPELINES_WORDING,
    userAgentHost: userAgentHost(env),
    group: agentGroup(log),
    summarySubtitle: async () => subtitle(env),
  });

  if (outcome.outputs) publishOutputs(log, outcome.outputs);
  if (outcome.summary !== undefined) await publishSummary(log, env['AGENT_TEMPDIRECTORY'], outcome.summary);
  if (!outcome.result) return fail(log, outcome.failure ?? 'failed');
  reportImageErrors(log, outcome.result);
  if (outcome.outcome !== 'done') {
    // Every image landed but the run failed after (the lock file could not be written): say why.
    if (outcome.result.ok) log.error(outcome.failure ?? 'failed');
    log.complete(
      'Failed',
      completionMessage(outcome.result) + (outcome.result.ok ? ', but the run failed' : ''),
    );
    return 'Failed';
  }
  const result = taskResult(outcome.result, log);
  log.complete(result, completionMessage(outcome.result));
  return result;
}

/** The run ended before the engine ran: one error issue with the whole text, and the first line as the result. */
function fail(log: AgentLog, text: string): TaskResult {
  log.error(text);
  log.complete('Failed', firstLine(text));
  return 'Failed';
}

/**
 * sourceTenantId/sourceClientId sign the source tenant's app in with the connection's OIDC tokens: only a workload
 * identity federation connection has them. Any other scheme fails here, before any request, saying what to use.
 */
function checkSourceFederation(env: AgentEnv, connection: ServiceConnection): InputError | undefined {
  if (connection.scheme === 'WorkloadIdentityFederation') return undefined;
  const given = (['sourceTenantId', 'sourceClientId'] as const).filter((key) =>
    env[taskInputVariable(key)]?.trim(),
  );
  const [first] = given;
  if (!first) return undefined;
  const how =
    connection.scheme === 'ServicePrincipal'
      ? `a service principal with a ${connection.secret?.kind === 'certificate' ? 'certificate' : 'secret'}`
      : 'a managed identity';
  return new InputError([
    {
      input: first,
      value: env[taskInputVariable(first)]?.trim() ?? '',
      message: `needs a workload identity federation service connection in ${SERVICE_CONNECTION_INPUT}, but '${connection.id}' signs in with ${how} (scheme ${connection.scheme}), which has no OIDC token for the source tenant's app. Convert the connection to workload identity federation and add a federated credential for its subject (sc://ORG/PROJECT/CONNECTION) to the source tenant's app, or give sourceUsername and sourcePassword (e.g. a token of the source registry) instead`,
    },
  ]);
}

function userAgentHost(env: AgentEnv): string {
  const collection = env['SYSTEM_COLLECTIONURI']?.replace(/\/+$/, '');
  return collection ? `Azure Pipelines; ${collection}` : 'Azure Pipelines';
}

function subtitle(env: AgentEnv): string {
  const pipeline = env['BUILD_DEFINITIONNAME'];
  const build = env['BUILD_BUILDNUMBER'];
  const project = env['SYSTEM_TEAMPROJECT'];
  const where = [project, pipeline].filter(Boolean).join(' · ');
  return `acr-import ${VERSION} (Azure Pipelines)${where ? ` · ${where}${build ? ` #${build}` : ''}` : ''}`;
}

function describe(err: unknown): string {
  if (err instanceof ImportError) return err.describe();
  return err instanceof Error ? err.message : String(err);
}

/** The first line of a failure, for task.complete (with the line it introduces, for `Invalid input:`). */
function firstLine(text: string): string {
  const [first = text, second] = text.split(/\r?\n/);
  return first.endsWith(':') && second ? `${first} ${second.trim()}` : first;
}
