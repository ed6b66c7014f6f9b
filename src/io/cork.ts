/**
 * Small writes made close together leave in one writev. Each SMTP reply or SMPP PDU written on its own is a
 * syscall, and on loopback the peer's receive work runs inside it too: per-write costs were a fifth of the
 * daemon's CPU at full load.
 */
interface Corkable {
  cork(): void;
  uncork(): void;
}

const corked = new WeakSet<Corkable>();

/**
 * Holds the socket's writes until `until` runs: 'tick' (process.nextTick: replies of one pipelined command
 * group) or 'turn' (setImmediate: everything this event-loop turn sends, e.g. PDUs for a burst of submits and
 * receipts; it costs well under a millisecond of latency).
 */
export function corkSocket(socket: Corkable | undefined, until: 'tick' | 'turn'): void {
  if (!socket || corked.has(socket)) return;
  corked.add(socket);
  socket.cork();
  const release = () => {
    corked.delete(socket);
    socket.uncork();
  };
  if (until === 'tick') process.nextTick(release);
  else setImmediate(release);
}
