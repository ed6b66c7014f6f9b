/** Real-world mail samples (copied from the team's shared/mail-samples), read as they are. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const SAMPLES_DIR = fileURLToPath(new URL('../fixtures/mail-samples/', import.meta.url));

export function sample(name: string): Buffer {
  return readFileSync(`${SAMPLES_DIR}${name}`);
}
