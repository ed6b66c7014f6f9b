/**
 * What a node reports about itself: /healthz and /readyz (ops/http.ts), the web page's status, the work thread's
 * answers (worker/). Types only, so the listeners and the web page need nothing of the worker's modules.
 */
import type { ClusterView } from '../spool/open.js';

export interface BindHealth {
  name: string;
  mode: string;
  up: boolean;
}

/** The status page's view of several nodes on one database (undefined for one node alone: its own binds). */
export interface ClusterStatus extends ClusterView {
  node: string;
  /** This node relays (holds the binds) now. */
  holding: boolean;
}

export interface Health {
  spoolWritable: boolean;
  /** Why the spool takes no writes (only when it does not). */
  spoolProblem?: string;
  binds: BindHealth[];
  /**
   * single: the only node (SQLite); holder: the cluster node holding the SMPP binds; standby: a cluster node that
   * accepts mail and stands by (its binds are reported, not required).
   */
  role: 'single' | 'holder' | 'standby';
  /** Why this node takes no mail: its clock is too far off the database's (only then). */
  clockProblem?: string;
}
