/**
 * Demo mode's web user. With the embedded simulator on, the web page on and no users of the operator's own, the
 * history page would have nobody to sign in with: one admin user, `demo`, is made for this run (a new random
 * password each start, printed then). Users in the config file replace it, at start and on a reload.
 */
import type { Config } from './schema.js';

type User = Config['smtp']['auth']['users'][number];

export const DEMO_USERNAME = 'demo';

export function needsDemoUser(config: Config): boolean {
  return config.simulator.enabled && config.web.port !== 0 && config.smtp.auth.users.length === 0;
}

/** `config` with the demo user as its only user when it needs one; otherwise as it is. */
export function withDemoUser(config: Config, passwordHash: string): Config {
  if (!needsDemoUser(config)) return config;
  const demo: User = { username: DEMO_USERNAME, password_hash: passwordHash, allowed_senders: [], admin: true };
  return { ...config, smtp: { ...config.smtp, auth: { ...config.smtp.auth, users: [demo] } } };
}
