/**
 * Seeded draws: every choice a chaos session makes comes from its suite's seed and its own label,
 * so one session replays alone (`--only`) exactly as it ran among the others, whatever ran beside
 * it. Each draw is a SHA-256 of (seed, label, counter): slow next to a PRNG, but a session draws a
 * dozen numbers, and there is no state to share.
 */
import { createHash } from "node:crypto"

export interface Draws {
  /** A number in [0, 1). */
  readonly fraction: () => number
  /** A whole number from `min` to `max`, both included. */
  readonly int: (min: number, max: number) => number
  /** A number in [min, max), rounded to `places` decimals. */
  readonly between: (min: number, max: number, places: number) => number
  readonly chance: (probability: number) => boolean
  readonly pick: <A>(items: ReadonlyArray<A>) => A
  readonly shuffle: <A>(items: ReadonlyArray<A>) => Array<A>
}

/** 2^48: a draw reads 48 bits of its digest. */
const SPAN = 2 ** 48

export const drawsFor = (seed: string, label: string): Draws => {
  let counter = 0
  const fraction = (): number =>
    createHash("sha256").update(`${seed}/${label}/${counter++}`).digest().readUIntBE(0, 6) / SPAN
  const int = (min: number, max: number): number => min + Math.floor(fraction() * (max - min + 1))
  const pick = <A>(items: ReadonlyArray<A>): A => {
    const item = items[int(0, items.length - 1)]
    if (item === undefined) throw new Error("pick: nothing to pick from")
    return item
  }
  const shuffle = <A>(items: ReadonlyArray<A>): Array<A> => {
    const out = [...items]
    for (let i = out.length - 1; i > 0; i--) {
      const j = int(0, i)
      ;[out[i], out[j]] = [out[j]!, out[i]!]
    }
    return out
  }
  return {
    fraction,
    int,
    between: (min, max, places) => Number((min + fraction() * (max - min)).toFixed(places)),
    chance: (probability) => fraction() < probability,
    pick,
    shuffle
  }
}
