/** `smtp2sms check-config`: validate a config file and show what the daemon would run with. */
import YAML from 'yaml';
import { configWarnings, loadConfig, maskSecrets } from '../config/load.js';

export function checkConfig(path: string, env: NodeJS.ProcessEnv): { output: string; warnings: string[] } {
  const config = loadConfig(path, env);
  return { output: YAML.stringify(maskSecrets(config)), warnings: configWarnings(config) };
}
