/** Kept in step with package.json by scripts/post-bundle.mjs (which fails the build when they differ). */
export const VERSION = '0.1.0';

/** Azure asks tools to identify themselves; registries log it too. */
export function userAgent(host: string): string {
  return `acr-import/${VERSION} (${host}; node ${globalThis.navigator?.userAgent?.split('/')[1] ?? 'unknown'})`;
}
