/** How a GitHub workflow sets things up: the phrases the engine's hints use on this host. */
import type { HostWording, InputVariableWording } from '../../engine/index.js';

export const GITHUB_WORDING: HostWording = {
  idTokenSetup:
    'Add `permissions: id-token: write` to the workflow (or the job), so the runner can issue an OIDC ID token. Note that an explicit permissions block drops the defaults: also list `contents: read`.',
  idTokenMissing: '`permissions: id-token: write` in the workflow',
  idTokenName: 'a GitHub OIDC ID token',
  secretFrom: (_input, envName) => `pass it from a secret, e.g. \${{ secrets.${envName} }}`,
  existingSession: 'run azure/login before this step',
  authMode: (mode) => `auth: ${mode}`,
  setInput: (input, value) => `${input}: ${value}`,
};

/** What the engine says about an `INPUT_*` variable that is no input of this action. */
export const GITHUB_INPUT_VARIABLES: InputVariableWording = {
  step: 'action',
  rename: "Rename it in the step's with: block",
  ignored:
    "If it is a with: key, remove it (the inputs are listed in action.yml); if a job's env: sets it for another tool, nothing needs to change.",
};
