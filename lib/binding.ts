// The one place that loads the native addon, through node-gyp-build: at
// install time a matching prebuild is used and nothing is compiled, else the
// addon is built locally; at load time a local build (build/Release) wins
// over prebuilds/, so a developer's fresh build is what runs. A missing or
// broken addon is not fatal: the library then behaves as plain `net`
// (support() reports `addon-unavailable`, mode 'require' refuses).
import * as path from 'node:path';
import type { NativeBinding } from '../types/binding';

let cached: { binding: NativeBinding | null; error: Error | null } | undefined;

function load(): { binding: NativeBinding | null; error: Error | null } {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const nodeGypBuild = require('node-gyp-build') as (dir: string) => unknown;
    const binding = nodeGypBuild(path.join(__dirname, '..')) as NativeBinding;
    // A non-Linux build is a stub with no socket functions: treat it as absent.
    if (!binding.platformSupported) return { binding: null, error: new Error(`MPTCP is not supported on ${process.platform}`) };
    return { binding, error: null };
  } catch (err) {
    return { binding: null, error: err instanceof Error ? err : new Error(String(err)) };
  }
}

/** The loaded addon, or null when it cannot be loaded on this system. */
export function getBinding(): NativeBinding | null {
  cached ??= load();
  return cached.binding;
}

/** Why the addon could not be loaded, if it could not. */
export function getBindingError(): Error | null {
  cached ??= load();
  return cached.error;
}
