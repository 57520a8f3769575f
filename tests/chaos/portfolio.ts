/**
 * What a chaos account holds and where it is sent: the holdings a setup run buys from cash
 * (targets A), then the targets of the session's run (targets B). A and B each leave a symbol the
 * other lacks, so every run to B both sells (a whole position, sent as a close) and buys. Quotes
 * are static, so the plan, the buy re-plan and the traded quantities depend on the portfolio
 * alone, never on how fast or in how many parts the venue fills: one uninterrupted baseline serves
 * every session on the same portfolio.
 *
 * A suite draws from a fixed number of portfolios, each from (seed, its index): setups and
 * baselines are made once per portfolio, and `--only` rebuilds exactly the one a session used.
 */
import { Decimal } from "../../src/kernel/decimal.ts"
import { drawsFor } from "./draws.ts"

export interface Quote {
  readonly symbol: string
  readonly bid: string
  readonly ask: string
  readonly last: string
}

/** The market every chaos account trades, for the paper venue's quotes file and the Alpaca emulator. */
export const UNIVERSE: ReadonlyArray<Quote> = [
  { symbol: "VTI", bid: "245.10", ask: "245.20", last: "245.15" },
  { symbol: "VXUS", bid: "61.30", ask: "61.36", last: "61.33" },
  { symbol: "BND", bid: "72.48", ask: "72.52", last: "72.50" },
  { symbol: "GLD", bid: "215.30", ask: "215.50", last: "215.40" },
  { symbol: "VNQ", bid: "88.37", ask: "88.43", last: "88.40" },
  { symbol: "IEF", bid: "94.10", ask: "94.14", last: "94.12" }
]

/**
 * The account's policy. The cash reserve keeps slippage and commissions from ever making a planned
 * buy too dear for the venue; the drift band makes a run right after a completed one trade nothing.
 */
export const POLICY = { shares: "whole", cashReserve: "0.01", driftBand: "0.01", minOrderValue: "1" } as const

/** The quantity step under POLICY (whole shares): what a re-plan after a crash may trade beyond the baseline. */
export const QUANTITY_STEP = new Decimal("1")

/** How many portfolios a suite draws its sessions from. */
export const PORTFOLIOS = 8

/** symbol → weight as text ("0.35"); the rest is the cash target. */
export type Weights = Readonly<Record<string, string>>

export interface Portfolio {
  readonly index: number
  readonly startingCash: string
  /** Targets A: what the setup run buys from cash. */
  readonly holdings: Weights
  /** Targets B: the session's targets. */
  readonly targets: Weights
  readonly slippageBps: number
  readonly commissionPerShare: string
}

/** Weights over `symbols` summing to 95 points (the rest is cash), each at least 9 points. */
const weightsOver = (symbols: ReadonlyArray<string>, raw: () => number): Weights => {
  const shares = symbols.map(raw)
  const total = shares.reduce((a, b) => a + b, 0)
  return Object.fromEntries(symbols.map((symbol, i) => {
    const points = Math.floor((shares[i]! * 95) / total)
    return [symbol, `0.${String(points).padStart(2, "0")}`]
  }))
}

export const portfolioFor = (seed: string, index: number): Portfolio => {
  const draw = drawsFor(seed, `portfolio-${index}`)
  const symbols = draw.shuffle(UNIVERSE.map((q) => q.symbol))
  const held = draw.int(3, 4)
  const overlap = draw.int(1, 2)
  const wanted = draw.int(3, Math.min(4, symbols.length - held + overlap))
  const raw = () => draw.int(2, 6)
  return {
    index,
    startingCash: String(draw.int(40, 160) * 1000),
    holdings: weightsOver(symbols.slice(0, held), raw),
    targets: weightsOver(symbols.slice(held - overlap, held - overlap + wanted), raw),
    slippageBps: draw.int(0, 5),
    commissionPerShare: draw.pick(["0", "0.005"])
  }
}

/** The paper venue's quotes file (CSV `symbol,bid,ask,last`). */
export const quotesCsv = (): string =>
  ["symbol,bid,ask,last", ...UNIVERSE.map((q) => `${q.symbol},${q.bid},${q.ask},${q.last}`)].join("\n") + "\n"

/** A targets file (CSV `symbol,weight`). */
export const targetsCsv = (weights: Weights): string =>
  ["symbol,weight", ...Object.entries(weights).map(([symbol, weight]) => `${symbol},${weight}`)].join("\n") + "\n"
