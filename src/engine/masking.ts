/**
 * The mask policy every host uses: a secret is registered with the host's redaction (`::add-mask::` on GitHub, a
 * redaction list in the CLI) once, however often it arrives, so a token that serves 5,000 images is one mask, not
 * 5,000. Empty and very short values are not registered (masking `1` would blank every 1 in the log); none of the
 * secrets the engine handles is that short.
 */
import type { SecretSink } from './ports.js';

/** The shortest value registered as a secret. */
export const MIN_SECRET_LENGTH = 4;

/** Wraps a host's redaction into a sink that registers each distinct secret once. */
export function secretSink(register: (secret: string) => void): SecretSink {
  const seen = new Set<string>();
  return (secret) => {
    if (secret.length < MIN_SECRET_LENGTH || seen.has(secret)) return;
    seen.add(secret);
    register(secret);
  };
}
