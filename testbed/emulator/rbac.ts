/**
 * Azure role-based access control as far as the emulator needs it: the built-in roles of EmulatorConfig mapped to
 * their ARM actions, scope inheritance (subscription > resource group > resource), and the data-plane rights
 * (`pull`, `push`, `delete`) a principal holds on a registry.
 */
import type { EmulatorConfig } from './config.js';

type Role = EmulatorConfig['roleAssignments'][number]['role'];

export const ACTIONS = {
  registryRead: 'Microsoft.ContainerRegistry/registries/read',
  importImage: 'Microsoft.ContainerRegistry/registries/importImage/action',
  pull: 'Microsoft.ContainerRegistry/registries/pull/read',
  push: 'Microsoft.ContainerRegistry/registries/push/write',
  deleteArtifact: 'Microsoft.ContainerRegistry/registries/artifacts/delete',
  resourceGroupRead: 'Microsoft.Resources/subscriptions/resourceGroups/read',
  subscriptionRead: 'Microsoft.Resources/subscriptions/read',
} as const;

/**
 * Actions per role. `importer` = "Container Registry Data Importer and Data Reader"; `reader` is deliberately
 * narrow (registry metadata only, no pull), as the bed's contract says; `pull` = AcrPull; `push` = AcrPush.
 */
const ROLE_ACTIONS: Record<Role, readonly string[]> = {
  importer: [ACTIONS.importImage, ACTIONS.registryRead, ACTIONS.pull],
  reader: [ACTIONS.registryRead, ACTIONS.resourceGroupRead, ACTIONS.subscriptionRead],
  pull: [ACTIONS.pull],
  push: [ACTIONS.pull, ACTIONS.push],
  contributor: ['*'],
};

export type DataAction = 'pull' | 'push' | 'delete';

export class Rbac {
  constructor(private readonly assignments: EmulatorConfig['roleAssignments']) {}

  /** Whether `principal` (its config name) may perform `action` at `scope` (an ARM id, any case). */
  can(principal: string, action: string, scope: string): boolean {
    const target = normalise(scope);
    return this.assignments.some(
      (a) =>
        a.principal === principal &&
        covers(normalise(a.scope), target) &&
        ROLE_ACTIONS[a.role].some(
          (granted) => granted === '*' || granted.toLowerCase() === action.toLowerCase(),
        ),
    );
  }

  /** Whether `principal` holds any role at or below `scope` (e.g. to see a subscription at all). */
  hasAnyRoleUnder(principal: string, scope: string): boolean {
    const target = normalise(scope);
    return this.assignments.some(
      (a) =>
        a.principal === principal &&
        (covers(target, normalise(a.scope)) || covers(normalise(a.scope), target)),
    );
  }

  /** Data-plane rights of `principal` on the registry with resource ID `registryId`. */
  dataActions(principal: string, registryId: string): Set<DataAction> {
    const rights = new Set<DataAction>();
    if (this.can(principal, ACTIONS.pull, registryId)) rights.add('pull');
    if (this.can(principal, ACTIONS.push, registryId)) rights.add('push');
    if (this.can(principal, ACTIONS.deleteArtifact, registryId)) rights.add('delete');
    return rights;
  }
}

function normalise(scope: string): string {
  return scope.toLowerCase().replace(/\/+$/, '');
}

/** `outer` is `inner` or one of its ancestors (segment-wise prefix). */
function covers(outer: string, inner: string): boolean {
  return inner === outer || inner.startsWith(`${outer}/`);
}
