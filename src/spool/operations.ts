/**
 * The Spool's operations by name: the one list from which the work-thread RPC is made, both the client proxy
 * (worker/spool-proxy.ts) and the server's dispatch (worker/entry.ts). Adding an operation to Spool is adding its
 * name here; the check below fails the build when one is missing.
 */
import type { Spool } from './spool.js';

export const SPOOL_OPERATIONS = [
  'accept',
  'recentAccepted',
  'acceptedSince',
  'claim',
  'stopWaiting',
  'submitted',
  'reschedule',
  'finish',
  'applyReceipt',
  'resolveEarlyReceipts',
  'storeInbound',
  'storeReplyPart',
  'expireReplyParts',
  'requeueSending',
  'expireQueued',
  'prune',
  'pendingCount',
  'countsByState',
  'oldestQueuedAt',
  'byQueueId',
  'listMessages',
  'dailyCounts',
  'cancelQueued',
  'outboxFor',
  'close',
] as const satisfies readonly (keyof Spool)[];

export type SpoolOperation = (typeof SPOOL_OPERATIONS)[number];

/** Every Spool member is listed (this is `true` only when none is missing). */
const complete: [Exclude<keyof Spool, SpoolOperation>] extends [never] ? true : never = true;
void complete;
