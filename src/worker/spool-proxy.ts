/** The Spool interface over another thread: the work thread (worker/entry.ts) owns the SQLite connection. */
import type { RpcClient } from '../worker/rpc.js';
import type { Spool } from './types.js';

export class RemoteSpool implements Spool {
  constructor(readonly rpc: RpcClient) {}

  accept: Spool['accept'] = (...a) => this.rpc.call('accept', ...a);
  recentAccepted: Spool['recentAccepted'] = (...a) => this.rpc.call('recentAccepted', ...a);
  acceptedSince: Spool['acceptedSince'] = (...a) => this.rpc.call('acceptedSince', ...a);
  claim: Spool['claim'] = (...a) => this.rpc.call('claim', ...a);
  stopWaiting: Spool['stopWaiting'] = () => this.rpc.call('stopWaiting');
  submitted: Spool['submitted'] = (...a) => this.rpc.call('submitted', ...a);
  reschedule: Spool['reschedule'] = (...a) => this.rpc.call('reschedule', ...a);
  finish: Spool['finish'] = (...a) => this.rpc.call('finish', ...a);
  applyReceipt: Spool['applyReceipt'] = (...a) => this.rpc.call('applyReceipt', ...a);
  storeInbound: Spool['storeInbound'] = (...a) => this.rpc.call('storeInbound', ...a);
  requeueSending: Spool['requeueSending'] = (...a) => this.rpc.call('requeueSending', ...a);
  expireQueued: Spool['expireQueued'] = (...a) => this.rpc.call('expireQueued', ...a);
  prune: Spool['prune'] = (...a) => this.rpc.call('prune', ...a);
  pendingCount: Spool['pendingCount'] = () => this.rpc.call('pendingCount');
  countsByState: Spool['countsByState'] = () => this.rpc.call('countsByState');
  oldestQueuedAt: Spool['oldestQueuedAt'] = () => this.rpc.call('oldestQueuedAt');
  byQueueId: Spool['byQueueId'] = (...a) => this.rpc.call('byQueueId', ...a);
  close: Spool['close'] = () => this.rpc.call('close');
}
