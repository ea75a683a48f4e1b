/**
 * How an Azure Pipelines author sets things up: the phrases the engine's hints use on this host (the shape of the
 * engine's HostWording port of the host-seam work; typed structurally here until that port is merged).
 */
import { taskInputLabel } from './inputs.js';
import { SERVICE_CONNECTION_INPUT } from './service-connection.js';

export const PIPELINES_WORDING = {
  idTokenSetup: `Use an Azure Resource Manager service connection with workload identity federation in the task's ${SERVICE_CONNECTION_INPUT} input: the agent issues its OIDC tokens only to a task that references the connection (a \`script:\` step gets none).`,
  idTokenMissing: `a workload identity federation service connection in ${SERVICE_CONNECTION_INPUT}`,
  idTokenName: 'an OIDC token from the service connection',
  secretFrom: (input: string): string =>
    `pass it from a secret variable (or a variable group linked to Key Vault), e.g. ${taskInputLabel(input)}: $(${taskInputLabel(input)})`,
  existingSession: `sign in through the service connection (${SERVICE_CONNECTION_INPUT}); an Azure CLI session of another step is not shared with this task`,
  authMode: (mode: string): string =>
    `a service connection whose scheme signs in with ${mode} (the task has no auth input: the service connection decides)`,
  setInput: (input: string, value: string): string => `${taskInputLabel(input)}: ${value}`,
} as const;
