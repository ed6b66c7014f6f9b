/**
 * SUBMIT_SM command_status → what to do. SMPP 3.4 § 5.1.3 names; the action column is ours: `throttle` slows
 * down and retries soon, `retry` retries with back-off, `fail` is final (the message cannot succeed as it is).
 * Unknown codes retry (an SMSC-specific temporary code must not lose an alert); `smpp.status_overrides` changes any.
 */
export type StatusAction = 'ok' | 'throttle' | 'retry' | 'fail';

const TABLE: Record<number, [string, StatusAction]> = {
  0x00: ['ESME_ROK', 'ok'],
  0x01: ['ESME_RINVMSGLEN', 'fail'],
  0x02: ['ESME_RINVCMDLEN', 'fail'],
  0x03: ['ESME_RINVCMDID', 'fail'],
  0x04: ['ESME_RINVBNDSTS', 'retry'],
  0x05: ['ESME_RALYBND', 'retry'],
  0x06: ['ESME_RINVPRTFLG', 'fail'],
  0x07: ['ESME_RINVREGDLVFLG', 'fail'],
  0x08: ['ESME_RSYSERR', 'retry'],
  0x0a: ['ESME_RINVSRCADR', 'fail'],
  0x0b: ['ESME_RINVDSTADR', 'fail'],
  0x0c: ['ESME_RINVMSGID', 'fail'],
  0x0d: ['ESME_RBINDFAIL', 'retry'],
  0x0e: ['ESME_RINVPASWD', 'retry'],
  0x0f: ['ESME_RINVSYSID', 'retry'],
  0x11: ['ESME_RCANCELFAIL', 'fail'],
  0x13: ['ESME_RREPLACEFAIL', 'fail'],
  0x14: ['ESME_RMSGQFUL', 'throttle'],
  0x15: ['ESME_RINVSERTYP', 'fail'],
  0x33: ['ESME_RINVNUMDESTS', 'fail'],
  0x34: ['ESME_RINVDLNAME', 'fail'],
  0x40: ['ESME_RINVDESTFLAG', 'fail'],
  0x42: ['ESME_RINVSUBREP', 'fail'],
  0x43: ['ESME_RINVESMCLASS', 'fail'],
  0x44: ['ESME_RCNTSUBDL', 'fail'],
  0x45: ['ESME_RSUBMITFAIL', 'fail'],
  0x48: ['ESME_RINVSRCTON', 'fail'],
  0x49: ['ESME_RINVSRCNPI', 'fail'],
  0x50: ['ESME_RINVDSTTON', 'fail'],
  0x51: ['ESME_RINVDSTNPI', 'fail'],
  0x53: ['ESME_RINVSYSTYP', 'fail'],
  0x54: ['ESME_RINVREPFLAG', 'fail'],
  0x55: ['ESME_RINVNUMMSGS', 'fail'],
  0x58: ['ESME_RTHROTTLED', 'throttle'],
  0x61: ['ESME_RINVSCHED', 'fail'],
  0x62: ['ESME_RINVEXPIRY', 'fail'],
  0x63: ['ESME_RINVDFTMSGID', 'fail'],
  0x64: ['ESME_RX_T_APPN', 'retry'],
  0x65: ['ESME_RX_P_APPN', 'fail'],
  0x66: ['ESME_RX_R_APPN', 'fail'],
  0x67: ['ESME_RQUERYFAIL', 'fail'],
  0xc0: ['ESME_RINVOPTPARSTREAM', 'fail'],
  0xc1: ['ESME_ROPTPARNOTALLWD', 'fail'],
  0xc2: ['ESME_RINVPARLEN', 'fail'],
  0xc3: ['ESME_RMISSINGOPTPARAM', 'fail'],
  0xc4: ['ESME_RINVOPTPARAMVAL', 'fail'],
  0xfe: ['ESME_RDELIVERYFAILURE', 'fail'],
  0xff: ['ESME_RUNKNOWNERR', 'retry'],
};

export function statusName(status: number): string {
  return TABLE[status]?.[0] ?? `0x${status.toString(16).padStart(8, '0')}`;
}

export function statusAction(status: number, overrides: Readonly<Record<string, StatusAction>> = {}): StatusAction {
  const hex = `0x${status.toString(16).padStart(2, '0')}`;
  return overrides[hex] ?? overrides[String(status)] ?? TABLE[status]?.[1] ?? 'retry';
}
