/** Option values on the command line, parsed as operators write them (`queue --since 2h --limit 50`). */
const UNIT_MS = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** Milliseconds in "30s", "15m", "2h" or "7d"; throws naming the accepted forms. */
export function parseDuration(text: string): number {
  const m = /^(\d+)([smhd])$/.exec(text.trim());
  const n = m ? Number(m[1]) : 0;
  if (!m || n === 0 || !Number.isSafeInteger(n * UNIT_MS[m[2] as keyof typeof UNIT_MS])) {
    throw new Error(
      `"${text}" is not a duration: expected a whole number above 0 and a unit s, m, h or d (30s, 15m, 2h, 7d)`,
    );
  }
  return n * UNIT_MS[m[2] as keyof typeof UNIT_MS];
}

/** A whole number above 0 ("20"), for --limit. */
export function parseCount(text: string): number {
  if (!/^\d+$/.test(text.trim()) || Number(text) === 0 || !Number.isSafeInteger(Number(text))) {
    throw new Error(`"${text}" is not a count: expected a whole number above 0`);
  }
  return Number(text);
}
