/**
 * The Spool interface over another thread: the work thread (worker/entry.ts) owns the spool. Each operation in
 * SPOOL_OPERATIONS becomes a method that calls its namesake there.
 */
import { SPOOL_OPERATIONS } from '../spool/operations.js';
import type { Spool } from '../spool/spool.js';
import type { RpcClient } from './rpc.js';

// The methods are made in the constructor from the list; this declaration gives the class their types.
export interface RemoteSpool extends Spool {}

// biome-ignore lint/suspicious/noUnsafeDeclarationMerging: the constructor defines every method the interface names
export class RemoteSpool {
  constructor(readonly rpc: RpcClient) {
    const self = this as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
    for (const op of SPOOL_OPERATIONS) self[op] = (...args) => rpc.call(op, ...args);
  }
}
