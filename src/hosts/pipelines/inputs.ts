/**
 * The task's inputs as the shared host runner reads them (by action input name): task inputs come from
 * `INPUT_<CAMELCASE KEY>` (the agent's variables for task.json's inputs), the sign-in inputs from the service
 * connection (./service-connection.ts), `subscription-id` from the task's override or else the connection. Messages
 * name inputs the way a pipeline author writes them (`targetTags`), and user paths are relative to
 * System.DefaultWorkingDirectory.
 */
import path from 'node:path';
import {
  checkInputVariables,
  type InputVariableWording,
  INPUTS,
  type InputProblem,
  type WorkspaceRules,
} from '../../engine/index.js';
import { engineInputs, type AgentEnv, type ServiceConnection } from './service-connection.js';
import { REPLACED_BY_SERVICE_CONNECTION, type InputKey } from './task-manifest.js';

const KEY_BY_ACTION_NAME = new Map<string, InputKey>(
  (Object.entries(INPUTS) as [InputKey, string][]).map(([key, name]) => [name, key]),
);

/** How INPUT_* variables that are not task inputs are reported (the task's inputs are listed in its task.json). */
export const PIPELINES_INPUT_VARIABLES: InputVariableWording = {
  step: 'task',
  rename: "Rename it in the step's inputs: block",
  ignored:
    'If it is an inputs: key, remove it (the inputs are listed in task.json); if another tool reads a variable of that name, nothing needs to change.',
};

/** The agent's variable of a task input. */
export function taskInputVariable(key: string): string {
  return `INPUT_${key.replace(/[. ]/g, '_').toUpperCase()}`;
}

/** How a pipeline author writes an action input: its task input name (`target-tags` -> `targetTags`). */
export function taskInputLabel(actionName: string): string {
  return KEY_BY_ACTION_NAME.get(actionName) ?? actionName;
}

export interface TaskInputs {
  /** The raw value of an action input ('' when not given). */
  input(actionName: string): string;
  /**
   * Action names of the task inputs the agent set, and the lower-cased rest of the INPUT_* names (unknown inputs,
   * for "did you mean"). The service connection's input is not among them.
   */
  given: string[];
  inputLabel(actionName: string): string;
  /**
   * The runner's `checkGiven`: INPUT_* variables that are near misses of a task input fail the run, others warn
   * (the agent sets one per task.json input; a job's variables can set more).
   */
  checkGiven(): { problems: InputProblem[]; warnings: string[] };
  /** The runner's `files`: user paths are relative to, and stay in, System.DefaultWorkingDirectory. */
  files: WorkspaceRules;
  /** A user path relative to System.DefaultWorkingDirectory (else Build.SourcesDirectory, else the working dir). */
  resolvePath(file: string): string;
}

export function taskInputs(env: AgentEnv, connection: ServiceConnection): TaskInputs {
  const fromConnection = engineInputs(connection);
  const replaced = new Set<string>(REPLACED_BY_SERVICE_CONNECTION);
  const own = (key: InputKey): string => env[taskInputVariable(key)] ?? '';
  const byVariable = new Map<string, string>(
    (Object.entries(INPUTS) as [InputKey, string][])
      .filter(([key]) => !replaced.has(key) || key === 'subscriptionId')
      .map(([key, name]) => [taskInputVariable(key), name]),
  );
  const ignored = new Set(['INPUT_AZURESUBSCRIPTION', 'INPUT_CONNECTEDSERVICENAMEARM']);
  const given = Object.keys(env)
    .filter((k) => k.startsWith('INPUT_') && !ignored.has(k.toUpperCase()))
    .map((k) => byVariable.get(k.toUpperCase()) ?? k.slice('INPUT_'.length).toLowerCase());
  const base = env['SYSTEM_DEFAULTWORKINGDIRECTORY'] || env['BUILD_SOURCESDIRECTORY'] || process.cwd();
  return {
    input(actionName) {
      const key = KEY_BY_ACTION_NAME.get(actionName);
      if (!key) return '';
      if (key === 'subscriptionId') return own(key).trim() || (fromConnection[actionName] ?? '');
      if (replaced.has(key)) return fromConnection[actionName] ?? '';
      return own(key);
    },
    given,
    inputLabel: taskInputLabel,
    checkGiven: () =>
      checkInputVariables(
        Object.keys(env).filter((k) => k.startsWith('INPUT_') && !ignored.has(k.toUpperCase())),
        [...byVariable.values()].map(taskInputLabel),
        PIPELINES_INPUT_VARIABLES,
      ),
    files: { root: base, rootName: 'the working directory (System.DefaultWorkingDirectory)' },
    resolvePath: (file) => path.resolve(base, file),
  };
}
