/**
 * `config`: the configuration loads and validates. Every problem is listed (the config layer
 * collects them all, with their dot-paths); the other checks fall back to the bare directory.
 */
import { displayPath, joinCommand } from '../../config/index.js';
import { isNaijaSupError } from '../../errors.js';
import type { Check, CheckOutcome, DoctorContext } from '../types.js';

export const configCheck: Check = {
  id: 'config',
  title: 'configuration',
  run(ctx: DoctorContext): CheckOutcome {
    if (ctx.loaded === null) {
      const error = ctx.configError;
      if (isNaijaSupError(error)) {
        return {
          status: 'fail',
          summary: `${error.message} (${error.code})`,
          details: [...error.details],
          ...(error.fix === undefined ? {} : { fix: error.fix }),
        };
      }
      return {
        status: 'fail',
        summary: `the config could not be loaded: ${error instanceof Error ? error.message : String(error)}`,
        fix: 'Run `naija-sup config` to see the resolved configuration and its errors.',
      };
    }
    const { config, filepath } = ctx.loaded;
    const file = filepath === null ? null : displayPath(filepath, ctx.cwd);
    const command = config.command.length === 0 ? null : joinCommand(config.command);
    const details = [
      `name: ${config.name}`,
      `command: ${command ?? '(none)'}`,
      `cwd: ${config.cwd}`,
      `listens on: ${config.host}:${config.port}`,
      `health: ${config.health.type === 'http' ? `GET ${config.health.path}` : config.health.type}`,
    ];
    if (file === null) {
      return {
        status: 'warn',
        summary: 'no config file found: defaults apply',
        details,
        fix: 'Create naija-sup.config.json with at least "command" and "port" (`naija-sup config --json-schema` shows every key).',
      };
    }
    if (command === null) {
      return {
        status: 'warn',
        summary: `${file} loads, but names no command`,
        details,
        fix: `Add "command" to ${file}, or pass one to start: \`naija-sup start -- node server.js\`.`,
      };
    }
    return { status: 'ok', summary: `${file} loads and validates`, details };
  },
};
