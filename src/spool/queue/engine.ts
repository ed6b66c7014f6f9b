/**
 * What a spool driver tells the shared queue programs: the few things its engine spells its own way, and the
 * locking and ownership it has. SQLite has one writer, so it locks nothing and its one node owns every row;
 * PostgreSQL serialises on advisory locks, skips locked rows, and fences writes by owner and lease epoch.
 */
import type { SendOutcome } from '../store.js';
import type { Fragment, Stmt } from './program.js';

export interface EngineSql {
  /** Serialise this transaction's decisions on these keys (PostgreSQL: advisory locks); none with one writer. */
  lockKeys(keys: readonly string[]): Stmt | undefined;
  /** False where lockKeys locks nothing: the keys need not even be worked out. */
  readonly locks: boolean;
  /** Lock one reply's parts for this transaction (by the message's key); none with one writer. */
  lockReply(key: string): Stmt | undefined;
  /** The same without waiting: its row's `ok` says whether it was taken. */
  tryLockReply(key: string): Stmt | undefined;
  /** After a read whose rows the transaction then updates. */
  readonly forUpdate: Fragment;
  /** After a read of rows another node's transaction may be working on: leave those to it. */
  readonly skipLocked: Fragment;
  /** The same for a join's rows of one table (its alias). */
  skipLockedOf(alias: string): Fragment;
  /** An outbox row's queue id: a report's, or that of the SMS a reply answers (as its index spells it). */
  readonly outboxQueueId: Fragment;
  /** `smsc_ids` with element `part` set to `smscId`. */
  setPartId(part: number, smscId: string): Fragment;
  /** The receipt stat (text or NULL) of part `i.part` in `s.receipts`. */
  readonly partStat: Fragment;
  /** The insertion order of `smsc_ids` (alias `i`) and of `early_receipts` rows. */
  readonly smscIdSeq: Fragment;
  readonly earlyId: Fragment;
  /** A boolean column's value (SQLite stores 0/1). */
  bool(v: boolean): unknown;
  /** After an INSERT, so its result carries the new row's id (SQLite's comes as lastId without it). */
  readonly returningId: Fragment;
  /** After `FROM sms` in the duplicate rule's read: SQLite's planner is told the index that serves it. */
  readonly byRecipient: Fragment;
}

/** Who may write a row's send outcome (the cluster's fencing): the row's owner in the lease epoch it holds now. */
export interface Ownership {
  /** A WHERE condition: this node owns the row now. */
  owned(): Fragment;
  /** Rows this node's restart may take back from 'sending' (PostgreSQL: its own; SQLite: all). */
  mine(): Fragment;
  /** SET items (each with a leading comma) that make a row this node's claim. */
  claimSet(): Fragment;
  /** The same as columns and values of an INSERT (a row stored 'sending'). */
  claimInsert(): { columns: Fragment; values: Fragment };
  /** SET items (each with a leading comma) that end the claim of a row whose outcome is written. */
  readonly release: Fragment;
  /** The same, only where `cond` holds (the row becomes submitted). */
  releaseWhen(cond: Fragment): Fragment;
  /** A deposed owner's write, refused: told, never applied. */
  onFenced?(outcome: SendOutcome): void;
}

/**
 * Kept receipts (ones that overtook their submit_sm_resp). SQLite counts them so the common write skips looking;
 * PostgreSQL, with several nodes writing, always looks.
 */
export interface EarlyReceipts {
  mayExist(): boolean;
  added(n: number): void;
}

export interface QueueContext {
  readonly sql: EngineSql;
  readonly own: Ownership;
  readonly early: EarlyReceipts;
}

/** For engines where another node's receipts may be kept at any time. */
export const ALWAYS_LOOK: EarlyReceipts = { mayExist: () => true, added: () => undefined };
