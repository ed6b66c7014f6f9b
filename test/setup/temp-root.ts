/**
 * vitest globalSetup: every temp dir a test makes (spools, configs, daemon dirs) lands under one root that is removed
 * when the run ends, so repeated runs do not fill the disk. Workers are forked after this runs and inherit TMPDIR,
 * which os.tmpdir() reads on every call.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export default function setup(): () => void {
  const root = mkdtempSync(join(tmpdir(), 'smtp2sms-tests-'));
  process.env.TMPDIR = root;
  return () => rmSync(root, { recursive: true, force: true });
}
