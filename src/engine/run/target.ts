/**
 * Target lookup: the target registry through ARM (by resource ID, by name in a resource group, or from the
 * subscription's list), and the target references of one image with what each holds before the import.
 */
import { registryId, type RegistryResource } from '../clients/arm.js';
import type { ImageSpec, ImportConfig } from '../config/model.js';
import { RemoteError } from '../errors.js';
import type { Logger } from '../ports.js';
import { abortable } from '../abortable.js';
import type { Session } from './session.js';
import type { ArmClient } from '../clients/arm.js';

/** One target reference of an image. */
export interface TargetState {
  /** `repo:tag` or `repo` (untagged). */
  key: string;
  repository: string;
  tag: string | undefined;
  ref: string;
  before: string | undefined;
}

export async function findTargetRegistry(
  config: ImportConfig,
  arm: ArmClient,
  registries: () => Promise<RegistryResource[]>,
  log: Logger,
): Promise<RegistryResource> {
  const t = config.target;
  const { subscriptionId, resourceGroup } = config;
  let registry: RegistryResource;
  if (t.kind === 'resourceId') {
    registry = await arm.getRegistry(t.resourceId);
  } else if (t.kind === 'name' && resourceGroup) {
    registry = await arm.getRegistry(registryId(subscriptionId, resourceGroup, t.name));
  } else {
    const all = await registries();
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
  log.info(
    `Target registry: ${registry.name} (${registry.loginServer}) in resource group ${registry.resourceGroup}`,
  );
  return registry;
}

/** The target references of an image in `target`, nothing known about them yet. */
export function targetKeys(spec: ImageSpec, target: RegistryResource): TargetState[] {
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
export async function readTargets(s: Session, spec: ImageSpec, signal: AbortSignal): Promise<TargetState[]> {
  const target = await abortable(s.targetRegistry(), signal);
  const client = await abortable(s.targetDataPlane(), signal);
  const states = targetKeys(spec, target);
  await Promise.all(
    states
      .filter((st) => st.tag !== undefined)
      .map(async (st) => {
        st.before = (await client.headManifest(st.repository, st.tag!, signal))?.digest;
      }),
  );
  return states;
}

/** Whether each untagged target repository holds `digest` (the manifest is there by digest). */
export async function readUntagged(
  s: Session,
  states: TargetState[],
  digest: string,
  signal: AbortSignal,
): Promise<void> {
  const client = await s.targetDataPlane();
  await Promise.all(
    states
      .filter((st) => st.tag === undefined)
      .map(async (st) => {
        st.before = (await client.headManifest(st.repository, digest, signal)) ? digest : undefined;
      }),
  );
}
