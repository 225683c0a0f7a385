/**
 * Runs a quick form (quick-forms.ts): the command's module only, loaded lazily, and the error
 * renderer only when there is an error. main.ts runs these for `run()`; bin/naija-sup.js runs the
 * standalone ones from the CommonJS quick bundle (quick-main.ts), without Node's ESM loader.
 */
import type { CliIO } from './context.js';
import type { QuickForm } from './quick-forms.js';
import { InternalError } from '../errors.js';
import { packageVersion } from '../package-root.js';

export async function runQuick(form: QuickForm, io: CliIO): Promise<number> {
  try {
    switch (form.command) {
      case 'version':
        io.stdout(`${packageVersion()}\n`);
        return 0;
      case 'probe':
        return await (await import('./commands/probe.js')).probeCommand(io, { name: form.name });
      case 'status':
        return await (await import('./commands/status.js')).statusCommand(io, form.opts);
      case 'stop':
        return await (await import('./commands/stop.js')).stopCommand(io, form.opts);
      default: {
        const never: never = form;
        throw new InternalError(`unknown quick form ${JSON.stringify(never)}`);
      }
    }
  } catch (error) {
    return (await import('./render.js')).renderError(io, error);
  }
}
