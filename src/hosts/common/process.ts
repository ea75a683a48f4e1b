/**
 * What a host process sets up before the engine loads (imported first by each entry point; never by the engine,
 * which is also a library and leaves its caller's globals alone).
 *
 * `FormData`: Node defines it, like `fetch` and `Headers`, as a lazy global; the first look at any of them loads
 * Node's built-in fetch implementation, about 36 ms of CPU on a 2-core runner. `@azure/identity`'s request pipeline
 * looks (`typeof FormData`) on every request, for a kind of body none of its requests has, so that load fell on the
 * sign-in, between the OpenID configuration and the first token (issue 11). Nothing these bundles run uses the global
 * FormData (undici brings its own), so this process does not offer it. `fetch` and the rest stay as Node has them.
 */
// Deleted, not redefined: redefining (or reading its descriptor) runs the lazy load.
delete (globalThis as { FormData?: unknown }).FormData;
