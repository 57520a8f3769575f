/**
 * The sessions of a suite, each drawn from (seed, its id) alone: its portfolio, how the venue
 * fills (latency, parts), Keel's timeouts, where the run is killed, whether the venue keeps
 * trading during the outage, and which command recovers second. Ids name the kind and the number
 * (`paper-0007`, `pair-003`, `alpaca-002`), so `--only ID` with the same seed is the same session.
 */
import { type Draws, drawsFor } from "./draws.ts"
import { KILL_STEPS, type KillPoint } from "./killPoints.ts"
import { PORTFOLIOS } from "./portfolio.ts"

/** How the venue fills and how long Keel waits for it. */
export interface Fills {
  /** Seconds before each fill of an order. */
  readonly latencySeconds: number
  /** Each order fills in this many parts. */
  readonly partialFills: number
  /** Keel's `timeouts.fillSeconds`: always above the slowest phase, so an uninterrupted run completes. */
  readonly fillSeconds: number
  readonly pollSeconds: number
}

/** The command that recovers second: `recover` alone, or another run. */
export type SecondRecovery = "recover" | "run"

/** The arguments of the second recovery, for an account whose runs start with `run`. */
export const secondRecoveryArgs = (kind: SecondRecovery, run: ReadonlyArray<string>, account: string) =>
  kind === "recover" ? ["recover", "--account", account] : run

export interface PaperScenario {
  readonly kind: "paper"
  readonly id: string
  readonly portfolio: number
  readonly fills: Fills
  readonly kill: KillPoint
  /** Seconds `paper-venue` runs between the kill and the first recovery (a quarter of the sessions). */
  readonly venueDuringOutage: number | undefined
  readonly secondRecovery: SecondRecovery
}

/** Two `run --execute` started at once on one account. */
export interface PairScenario {
  readonly kind: "pair"
  readonly id: string
  readonly portfolio: number
  readonly fills: Fills
}

/** A run against the Alpaca emulator, killed; the emulator keeps filling through the outage. */
export interface AlpacaScenario {
  readonly kind: "alpaca"
  readonly id: string
  readonly portfolio: number
  readonly fills: Fills
  readonly kill: KillPoint
  readonly outageSeconds: number
  readonly secondRecovery: SecondRecovery
}

export type Scenario = PaperScenario | PairScenario | AlpacaScenario

const fillsFrom = (draw: Draws): Fills => {
  const latencySeconds = draw.between(0.2, 1.5, 1)
  const partialFills = draw.int(1, 4)
  const slowestPhase = latencySeconds * partialFills
  return {
    latencySeconds,
    partialFills,
    fillSeconds: Math.ceil(slowestPhase * 2 + draw.between(3, 6, 0)),
    pollSeconds: draw.between(0.2, 1, 1)
  }
}

/** One kill in four at a random time (up to the length of a whole run), the rest at a step. */
const killFrom = (draw: Draws, fills: Fills): KillPoint =>
  draw.chance(0.25)
    ? { at: "time", seconds: draw.between(0.5, 2 + 2 * fills.latencySeconds * fills.partialFills, 2) }
    : { at: "step", step: draw.pick(KILL_STEPS) }

const portfolioFrom = (draw: Draws) => draw.int(0, PORTFOLIOS - 1)

export const paperScenario = (seed: string, id: string): PaperScenario => {
  const draw = drawsFor(seed, id)
  const portfolio = portfolioFrom(draw)
  const fills = fillsFrom(draw)
  return {
    kind: "paper",
    id,
    portfolio,
    fills,
    kill: killFrom(draw, fills),
    venueDuringOutage: draw.chance(0.25) ? draw.between(0.5, 3, 1) : undefined,
    secondRecovery: draw.pick(["recover", "run"] as const)
  }
}

export const pairScenario = (seed: string, id: string): PairScenario => {
  const draw = drawsFor(seed, id)
  return { kind: "pair", id, portfolio: portfolioFrom(draw), fills: fillsFrom(draw) }
}

export const alpacaScenario = (seed: string, id: string): AlpacaScenario => {
  const draw = drawsFor(seed, id)
  const portfolio = portfolioFrom(draw)
  const fills = fillsFrom(draw)
  return {
    kind: "alpaca",
    id,
    portfolio,
    fills,
    kill: killFrom(draw, fills),
    outageSeconds: draw.between(0, 2, 1),
    secondRecovery: draw.pick(["recover", "run"] as const)
  }
}

export interface SuiteSize {
  readonly sessions: number
  readonly pairs: number
  readonly alpaca: number
}

const ids = (prefix: string, count: number, width: number): Array<string> =>
  Array.from({ length: count }, (_, i) => `${prefix}-${String(i + 1).padStart(width, "0")}`)

/** Every session of a suite, paper kills first. */
export const scenarios = (seed: string, size: SuiteSize): Array<Scenario> => [
  ...ids("paper", size.sessions, 4).map((id) => paperScenario(seed, id)),
  ...ids("pair", size.pairs, 3).map((id) => pairScenario(seed, id)),
  ...ids("alpaca", size.alpaca, 3).map((id) => alpacaScenario(seed, id))
]

/** The one session `id` names, or undefined when no kind has that prefix. */
export const scenarioById = (seed: string, id: string): Scenario | undefined => {
  if (/^paper-\d+$/.test(id)) return paperScenario(seed, id)
  if (/^pair-\d+$/.test(id)) return pairScenario(seed, id)
  if (/^alpaca-\d+$/.test(id)) return alpacaScenario(seed, id)
  return undefined
}
