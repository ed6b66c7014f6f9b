/**
 * The architecture as rules (npm run check:imports, part of npm test): the layers read in one direction.
 *
 *   bottom   config/, the pure rules (sms/, mail/, policy/, delivery/, outbox/facts.ts and plan.ts), errors.ts, replies.ts,
 *            types/, io/, ops/log.ts: import nothing above them
 *   spool    spool/: the one queue (spool/queue/) over its two drivers (spool/sqlite/, spool/postgres/), opened by
 *            spool/open.ts, the only module outside the drivers that knows there are two
 *   stages   smtp/, smpp/, outbox/, simulator/, ops/: the pipeline's stages, over the spool
 *   top      worker/, web/, commands/, daemon.ts, cli.ts: the wiring, the CLI and the web page
 */
const BOTTOM =
  '^src/(config/|sms/|mail/|policy/|delivery/|types/|io/|errors\\.ts$|replies\\.ts$|ops/log\\.ts$|outbox/(facts|plan)\\.ts$)';
const SPOOL = '^src/spool/';
const TOP = '^src/(worker/|web/|commands/|daemon\\.ts$|cli\\.ts$)';

module.exports = {
  forbidden: [
    {
      name: 'no-cycles',
      severity: 'error',
      comment: 'A cycle (types included) means two modules are one: merge them, or move what both need down.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'bottom-imports-bottom',
      severity: 'error',
      comment: 'Configuration and the pure rules import nothing above them.',
      from: { path: BOTTOM },
      to: { path: '^src/', pathNot: BOTTOM },
    },
    {
      name: 'spool-below-stages',
      severity: 'error',
      comment: 'The spool imports only the bottom layer and itself.',
      from: { path: SPOOL },
      to: { path: '^src/', pathNot: [BOTTOM, SPOOL] },
    },
    {
      name: 'stages-below-top',
      severity: 'error',
      comment: 'No stage imports the wiring, the CLI or the web page.',
      from: { path: '^src/', pathNot: [BOTTOM, SPOOL, TOP] },
      to: { path: TOP },
    },
    {
      name: 'drivers-apart',
      severity: 'error',
      comment: 'Each driver stands alone: what both need is shared code in spool/queue/ or spool/.',
      from: { path: '^src/spool/(sqlite|postgres)/' },
      to: { path: '^src/spool/(sqlite|postgres)/', pathNot: '^src/spool/$1/' },
    },
    {
      name: 'queue-knows-no-driver',
      severity: 'error',
      comment: "The queue's algorithms are written once, for every engine: they see only EngineSql and Ownership.",
      from: { path: '^src/spool/queue/' },
      to: { path: '^src/spool/(sqlite|postgres)/' },
    },
    {
      name: 'backend-through-the-factory',
      severity: 'error',
      comment: 'Outside the spool only spool/open.ts opens a store; nothing names SQLite or PostgreSQL.',
      from: { path: '^src/', pathNot: SPOOL },
      to: { path: '^src/spool/(sqlite|postgres)/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: 'node_modules' },
    // Type-only imports count: a type cycle is a cycle, and a type from above is a dependency on it.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
  },
};
