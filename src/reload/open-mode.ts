/**
 * Opens the mode the config names (the "open" step of src/reload/mode.ts's lifecycle). Apart from
 * mode.ts because it loads every mode module, and every mode module imports mode.ts for the
 * interface and its helpers: in one file they would import each other. Each mode is imported
 * lazily, so a direct-mode app never loads the proxy.
 */
import type { ResolvedConfig } from '../config/types.js';
import type { Mode } from './mode.js';

/** Opens the mode `config.mode` names. Handoff and proxy bind the public port here. */
export async function openMode(config: ResolvedConfig): Promise<Mode> {
  switch (config.mode) {
    case 'direct': return (await import('./direct-mode.js')).openDirectMode();
    case 'handoff': return (await import('./handoff-mode.js')).openHandoffMode(config);
    case 'proxy': return (await import('./proxy-mode.js')).openProxyMode(config);
    default: {
      const never: never = config.mode;
      throw new Error(`unknown mode ${String(never)}`);
    }
  }
}
