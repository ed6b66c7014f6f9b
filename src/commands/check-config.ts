/** `smtp2sms check-config`: validate a config file and show what the daemon would run with. */
import YAML from 'yaml';
import { runnableConfig } from '../config/files.js';
import { configWarnings, loadConfig, maskSecrets } from '../config/load.js';

/**
 * What serve checks before it starts, without starting: the schema, then every file the config names, opened as
 * the daemon opens them (systemd credentials included). `quiet`: no output when all is well (the unit's reload).
 */
export function checkConfig(
  path: string,
  env: NodeJS.ProcessEnv,
  opts: { quiet?: boolean } = {},
): { output: string; warnings: string[] } {
  const { config, warnings } = runnableConfig(loadConfig(path, env), env, path);
  return {
    output: opts.quiet ? '' : YAML.stringify(maskSecrets(config)),
    warnings: [...configWarnings(config), ...warnings],
  };
}
