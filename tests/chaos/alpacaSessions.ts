/**
 * Alpaca kill sessions: the emulator (tests/support/alpacaEmulator.ts) runs in the harness's own
 * process on 127.0.0.1, starting with the portfolio's holdings A as its positions (its own rules
 * then hold them). `run --execute` to targets B is killed at its kill point; the emulator keeps
 * filling through the outage, as a broker does; two recoveries follow, and the invariants are
 * counted from the emulator's own order book against Keel's Store. Each portfolio's baseline is
 * the same account run uninterrupted on an emulator of its own.
 */
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { Decimal, format } from "../../src/kernel/decimal.ts"
import { type AlpacaEmulator, startAlpacaEmulator } from "../support/alpacaEmulator.ts"
import { checkBooks, combine, type Findings, type Traded, tradedBy, unexpectedExits } from "./invariants.ts"
import { readStore } from "./keelStore.ts"
import { killAt } from "./killPoints.ts"
import { type Portfolio, portfolioFor, QUANTITY_STEP, UNIVERSE } from "./portfolio.ts"
import { type Exit, exitLabel, keel, lastWords, type Launch, sleep, startKeel } from "./processes.ts"
import { killReport, type SessionResult } from "./report.ts"
import { type AlpacaScenario, type Fills, secondRecoveryArgs } from "./scenarios.ts"
import { RUN_LIMIT_SECONDS } from "./templates.ts"
import type { VenueBooks } from "./venueBooks.ts"
import { ACCOUNT, INSTANT, sessionDir, storeFile, writeAccount } from "./workspace.ts"

const KEY_ID = "PKCHAOS0000000000001"
const SECRET_KEY = "chaos-secret-0000000000000000000001"
const ENV = { APCA_API_KEY_ID: KEY_ID, APCA_API_SECRET_KEY: SECRET_KEY }

/** No `--ignore-market-hours`: the emulator's clock says the market is open. */
const alpacaRun = ["run", "--account", ACCOUNT, "--execute"] as const

/** Holdings A as whole shares bought at the ask from the starting cash; the rest stays cash. */
const holdingsOf = (portfolio: Portfolio) => {
  let cash = new Decimal(portfolio.startingCash)
  const positions: Record<string, string> = {}
  for (const [symbol, weight] of Object.entries(portfolio.holdings)) {
    const ask = new Decimal(UNIVERSE.find((q) => q.symbol === symbol)?.ask ?? "0")
    const quantity = new Decimal(portfolio.startingCash).times(weight).div(ask).round(0, Decimal.roundDown)
    positions[symbol] = format(quantity)
    cash = cash.minus(quantity.times(ask))
  }
  return { cash: format(cash), positions }
}

const startVenue = (portfolio: Portfolio, fills: Fills): Promise<AlpacaEmulator> =>
  startAlpacaEmulator({
    keyId: KEY_ID,
    secretKey: SECRET_KEY,
    ...holdingsOf(portfolio),
    quotes: Object.fromEntries(UNIVERSE.map((q) => [q.symbol, { bid: q.bid, ask: q.ask, last: q.last }])),
    fillDelayMillis: Math.max(20, fills.latencySeconds * 1000),
    partialFill: fills.partialFills,
    // Keel's own limiter paces it; the emulator's would only slow a suite down.
    requestsPerMinute: 100_000
  })

const writeAlpacaAccount = (dir: string, emulator: AlpacaEmulator, portfolio: Portfolio, fills: Fills) =>
  writeAccount(
    dir,
    ACCOUNT,
    {
      kind: "alpaca",
      tradingUrl: emulator.tradingUrl,
      dataUrl: emulator.dataUrl,
      streamUrl: emulator.streamUrl,
      feed: "iex"
    },
    portfolio.targets,
    fills
  )

const OrderRequest = Schema.Struct({ client_order_id: Schema.String, side: Schema.String })
const readOrderRequest = Schema.decodeUnknownOption(OrderRequest)

/** The emulator's books: its cash, every order, and the buys it refused for buying power (403). */
const emulatorBooks = (emulator: AlpacaEmulator): VenueBooks => ({
  cash: new Decimal(emulator.account().cash),
  orders: emulator.orders().map((o) => ({
    id: o.id,
    clientOrderId: o.client_order_id,
    symbol: o.symbol,
    side: o.side,
    status: o.status,
    filledQuantity: new Decimal(o.filled_qty)
  })),
  refusedForCash: emulator.requests.flatMap((r) => {
    if (r.method !== "POST" || r.path !== "/v2/orders" || r.status !== 403) return []
    return Option.match(readOrderRequest(r.body), {
      onNone: () => [],
      onSome: (order) => (order.side === "buy" ? [order.client_order_id] : [])
    })
  })
})

const judge = (emulator: AlpacaEmulator, dir: string, baseline: Traded): Findings =>
  checkBooks({
    venue: emulatorBooks(emulator),
    store: readStore(storeFile(dir)),
    before: new Set(),
    baseline,
    step: QUANTITY_STEP
  })

export interface AlpacaBaseline {
  readonly traded: Traded
  readonly result: SessionResult
}

const failure = (exit: Exit) => `the uninterrupted run exited ${exitLabel(exit)}: ${lastWords(exit)}`

const makeBaseline = async (root: string, seed: string, index: number): Promise<AlpacaBaseline> => {
  const portfolio = portfolioFor(seed, index)
  const emulator = await startVenue(portfolio, INSTANT)
  try {
    const id = `alpaca-baseline-${index}`
    const dir = sessionDir(root, id)
    writeAlpacaAccount(dir, emulator, portfolio, INSTANT)
    const exit = await keel(alpacaRun, { cwd: dir, env: ENV, limitSeconds: RUN_LIMIT_SECONDS })
    const traded = tradedBy(emulatorBooks(emulator).orders, new Set())
    const findings = combine(judge(emulator, dir, traded), unexpectedExits([["the uninterrupted run", exit]]))
    const result: SessionResult = { id, kind: "uninterrupted", portfolio: index, exits: [exitLabel(exit)], findings }
    return exit.code === 0 ? { traded, result } : { traded, result: { ...result, error: failure(exit) } }
  } finally {
    await emulator.close()
  }
}

/** Each portfolio's Alpaca baseline, made on first use. */
export const alpacaBaselines = (root: string, seed: string): (index: number) => Promise<AlpacaBaseline> => {
  const made = new Map<number, Promise<AlpacaBaseline>>()
  return (index) => {
    let baseline = made.get(index)
    if (baseline === undefined) {
      baseline = makeBaseline(root, seed, index)
      made.set(index, baseline)
    }
    return baseline
  }
}

export const alpacaSession = async (
  scenario: AlpacaScenario,
  root: string,
  seed: string,
  baseline: AlpacaBaseline
): Promise<SessionResult> => {
  const portfolio = portfolioFor(seed, scenario.portfolio)
  const emulator = await startVenue(portfolio, scenario.fills)
  try {
    const dir = sessionDir(root, scenario.id)
    writeAlpacaAccount(dir, emulator, portfolio, scenario.fills)
    const launch: Launch = { cwd: dir, env: ENV, limitSeconds: RUN_LIMIT_SECONDS }
    const kill = await killAt(startKeel(alpacaRun, launch), scenario.kill, dir, new Set())
    await sleep(scenario.outageSeconds)
    const first = await keel(alpacaRun, launch)
    const second = await keel(secondRecoveryArgs(scenario.secondRecovery, alpacaRun, ACCOUNT), launch)
    const findings = combine(
      judge(emulator, dir, baseline.traded),
      unexpectedExits([
        ...(kill.missed ? [["the run (not killed)", kill.exit] as const] : []),
        ["the first recovery (run)", first],
        [`the second recovery (${scenario.secondRecovery})`, second]
      ])
    )
    return {
      id: scenario.id,
      kind: "alpaca",
      portfolio: scenario.portfolio,
      kill: killReport(kill),
      outage: `emulator alone ${scenario.outageSeconds}s`,
      exits: [exitLabel(kill.exit), exitLabel(first), exitLabel(second)],
      findings
    }
  } finally {
    await emulator.close()
  }
}
