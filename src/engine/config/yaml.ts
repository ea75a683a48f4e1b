/**
 * The YAML parser, loaded only by runs that read an images-file: about 290 KB that every other run would compile
 * before its first request (issue 11). A host awaits `loadYaml()` before `parseConfig` when an images-file is given
 * (common/runner.ts does).
 */
import type * as Yaml from 'yaml';

let yaml: typeof Yaml | undefined;

export async function loadYaml(): Promise<void> {
  yaml ??= await import('yaml');
}

export function yamlParser(): typeof Yaml {
  if (!yaml) throw new Error('internal error: an images-file was parsed before loadYaml() finished');
  return yaml;
}
