// fast-check set-up shared by the property tests: one fixed seed for every
// property of a file (FC_SEED replays another), printed so that a failure
// can be reproduced, and a per-file summary of what the generated inputs did.
import fc from 'fast-check';

export const SEED = process.env.FC_SEED !== undefined ? Number(process.env.FC_SEED) : 0x6d707463;

/** Fixes the seed for every fc.assert of the calling file; returns it. */
export function configure(file: string): number {
  if (!Number.isSafeInteger(SEED)) throw new Error(`FC_SEED must be an integer, got ${process.env.FC_SEED}`);
  fc.configureGlobal({ seed: SEED, endOnFailure: false });
  console.log(`[fast-check] ${file}: seed ${SEED} (FC_SEED=${SEED} replays it)`);
  return SEED;
}

/** Counts of labelled outcomes, to show what a property actually exercised. */
export class Tally {
  private readonly counts = new Map<string, number>();
  add(label: string): void {
    this.counts.set(label, (this.counts.get(label) ?? 0) + 1);
  }
  get(label: string): number {
    return this.counts.get(label) ?? 0;
  }
  toString(): string {
    return [...this.counts].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k}: ${v}`).join(', ');
  }
}

export { fc };
