/**
 * End to end against a stateful local Alpaca emulator (tests/support/alpacaEmulator.ts):
 * `rebalance run --account X --execute --json --record session.jsonl` as a real process,
 * pointed at the emulator's trading, market-data and trade_updates URLs, under injected
 * faults. For every scenario:
 *
 * - the run ends as it must (exit 0 completed; exit 3 aborted for a closed market);
 * - the emulator's final positions and cash equal an expectation computed independently:
 *   the kernel run on the starting state (sells), the emulator's fill rule (sells at the
 *   bid, buys at the ask, cash moved by the amount rounded half-up to the cent), the
 *   kernel's buy re-plan on the cash that gives, and every buy filled;
 * - every intent was placed exactly once, and the emulator holds no order the run does not
 *   report (a sell of a whole position goes out as DELETE /v2/positions/{symbol}, and its
 *   order carries Alpaca's own client_order_id: it is the run's sell of that symbol);
 * - the session file replays identically (`rebalance replay`, exit 0) and holds neither
 *   the key id, nor the secret key, nor the account number (nor does anything else the
 *   run leaves behind: stdout, stderr, the database, the artifacts).
 *
 * Timeouts are short (fills after 40 ms, a poll every 0.3 s); nothing asserts speed.
 * KEEP_E2E=1 keeps each scenario's temp directory (keel.yaml, session, database, artifacts).
 */
import * as Result from "effect/Result"
import { readFileSync } from "node:fs"
import { afterAll, afterEach, describe, expect, it } from "vitest"
import { stringify } from "yaml"
import { Decimal, format, ZERO } from "../../../../src/kernel/decimal.ts"
import type { Order } from "../../../../src/kernel/rebalance/orders.ts"
import { planBuys, rebalance, validateModel } from "../../../../src/kernel/rebalance/rebalance.ts"
import { validateAccount } from "../../../../src/kernel/rebalance/snapshot.ts"
import {
  type AlpacaEmulator,
  type EmulatorOptions,
  type QuoteInput,
  startAlpacaEmulator
} from "../../../support/alpacaEmulator.ts"
import { type CliResult, type OutcomeJson, parseJson, type Workspace, workspace } from "../../../support/cli.ts"

// ---------------------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------------------

const KEY_ID = "PKE2E7XQ4ZLMN3RT8W"
const SECRET_KEY = "e2eSecret-9f8e7d6c5b4a3f2e1d0c9b8a7"
const ACCOUNT_NUMBER = "PA3E2E9Z7Q1K"
const ACCOUNT = "alpaca-e2e"
const SESSION = "sessions/session.jsonl"

/** Realistic quotes for four ETFs (and a fund the drifted account holds but no longer targets). */
const QUOTES: Readonly<Record<string, QuoteInput>> = {
  VTI: { bid: "245.10", ask: "245.16" },
  VXUS: { bid: "61.18", ask: "61.21" },
  BND: { bid: "72.49", ask: "72.52" },
  VNQ: { bid: "88.37", ask: "88.43" },
  ARKK: { bid: "48.90", ask: "48.95" }
}

const TARGETS = { VTI: "0.40", VXUS: "0.25", BND: "0.25", VNQ: "0.08" } as const
/** The reserve is Alpaca's collar: an Alpaca account keeps at least 2% in cash whatever its policy says. */
const POLICY = { shares: "whole", cashReserve: "0.02", minOrderValue: "1" } as const

/** A fractional account: Alpaca's rules make VNQ (not fractionable here) whole shares, and every order at least $1. */
const FRACTIONAL_POLICY = { ...POLICY, shares: "fractional" } as const
const FRACTIONAL_AT_ALPACA = { ...FRACTIONAL_POLICY, lotSizes: { VNQ: "1" }, minOrderValue: "1" } as const

/** From cash: buys only. */
const FROM_CASH = { cash: "100000" } as const

/** Drifted: VTI overweight, BND and VXUS under, ARKK untargeted: sells (VTI, ARKK), then buys. */
const DRIFTED = {
  cash: "2500.00",
  positions: {
    VTI: { qty: "260", avgEntryPrice: "201.40" },
    BND: "150",
    VXUS: "200",
    ARKK: { qty: "40", avgEntryPrice: "61.07" }
  }
} as const

/** Drifted, with a fractional ARKK holding (from a dividend reinvestment, say) in a whole-share account. */
const DRIFTED_FRACTIONAL_ARKK = {
  ...DRIFTED,
  positions: { ...DRIFTED.positions, ARKK: { qty: "40.5", avgEntryPrice: "61.07" } }
} as const

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

const emulators: Array<AlpacaEmulator> = []
const spaces: Array<Workspace> = []
afterEach(async () => {
  await Promise.all(emulators.splice(0).map((e) => e.close()))
})
afterAll(() => {
  for (const w of spaces.splice(0)) if (process.env["KEEP_E2E"] === undefined) w.cleanup()
})

interface Setup {
  readonly emu: AlpacaEmulator
  readonly ws: Workspace
  /** The emulator's state before the run (positions by symbol, cash, quotes). */
  readonly start: {
    readonly cash: string
    readonly positions: Readonly<Record<string, string>>
    readonly quotes: Readonly<Record<string, QuoteInput>>
  }
}

const setup = async (
  options: EmulatorOptions = {},
  policy: Readonly<Record<string, unknown>> = POLICY,
  targets: Readonly<Record<string, string>> = TARGETS
): Promise<Setup> => {
  const quotes = { ...QUOTES, ...options.quotes }
  const emu = await startAlpacaEmulator({
    keyId: KEY_ID,
    secretKey: SECRET_KEY,
    accountNumber: ACCOUNT_NUMBER,
    fillDelayMillis: 40,
    ...options,
    quotes
  })
  emulators.push(emu)
  const ws = workspace("keel-alpaca-e2e-", [])
  spaces.push(ws)
  ws.write(
    "keel.yaml",
    stringify({
      timeouts: { fillSeconds: 15, pollSeconds: 0.3 },
      // Tests run an account again on one day (after a fault, or to see a fixed point).
      guards: { oncePerDay: false },
      accounts: [
        {
          name: ACCOUNT,
          broker: {
            kind: "alpaca",
            tradingUrl: emu.tradingUrl,
            dataUrl: emu.dataUrl,
            streamUrl: emu.streamUrl,
            feed: "iex",
            accountNumberEnv: "APCA_ACCOUNT_NUMBER"
          },
          targets: "targets.csv",
          policy: "policy.yaml"
        }
      ]
    })
  )
  ws.write("targets.csv", ["symbol,weight", ...Object.entries(targets).map(([s, w]) => `${s},${w}`)].join("\n") + "\n")
  ws.write("policy.yaml", stringify(policy))
  const positions = Object.fromEntries(emu.positions().map((p) => [p.symbol, p.qty]))
  return { emu, ws, start: { cash: emu.account().cash, positions, quotes } }
}

const ENV = {
  APCA_API_KEY_ID: KEY_ID,
  APCA_API_SECRET_KEY: SECRET_KEY,
  APCA_ACCOUNT_NUMBER: ACCOUNT_NUMBER,
  KEEL_WEBHOOK_URL: undefined
}

const execute = (ws: Workspace): Promise<CliResult> =>
  ws.run(["run", "--account", ACCOUNT, "--execute", "--json", "--record", SESSION], ENV)

/** The run's JSON; fails with both streams when stdout is not one JSON object. */
const outcomeOf = (run: CliResult): OutcomeJson => {
  try {
    return parseJson<OutcomeJson>(run.stdout)
  } catch {
    throw new Error(`run printed no JSON (exit ${run.code})\nstdout:\n${run.stdout}\nstderr:\n${run.stderr}`)
  }
}

interface Expected {
  readonly sells: ReadonlyArray<{ symbol: string; quantity: string }>
  readonly buys: ReadonlyArray<{ symbol: string; quantity: string }>
  readonly positions: Readonly<Record<string, string>>
  readonly cash: string
}

const brief = (orders: ReadonlyArray<Order>) => orders.map((o) => ({ symbol: o.symbol, quantity: format(o.quantity) }))
const round2 = (d: Decimal) => d.round(2, 1 /* half up */)

/**
 * A quote as the adapter should read it: bid and ask when both are quoted (a zero side is
 * none), and with a side missing the latest trade as `last` (the emulator's trade price:
 * its last, else the one side quoted).
 */
const kernelQuote = (symbol: string, q: QuoteInput) => {
  const bid = new Decimal(q.bid).gt(ZERO) ? q.bid : undefined
  const ask = new Decimal(q.ask).gt(ZERO) ? q.ask : undefined
  const last = bid !== undefined && ask !== undefined ? undefined : (q.last ?? bid ?? ask)
  return {
    symbol,
    ...(bid === undefined ? {} : { bid }),
    ...(ask === undefined ? {} : { ask }),
    ...(last === undefined ? {} : { last })
  }
}

/**
 * What the run must end with, computed without the program: the kernel's plan on the
 * starting snapshot (quotes as the adapter should read them), its sells filled at the bid
 * (the emulator's rule), the kernel's buy re-plan on the cash that leaves, its buys filled
 * at the ask. `skip` lists buys the venue refuses (they move nothing). `policy` is the policy
 * as the venue's rules leave it (for a fractional account: whole shares for symbols Alpaca
 * does not trade fractionally, and its $1 minimum).
 */
const expectedOf = (
  start: Setup["start"],
  skip: ReadonlyArray<string> = [],
  policy: Readonly<Record<string, unknown>> = POLICY
): Expected => {
  const quotes = Object.entries(start.quotes).map(([symbol, q]) => kernelQuote(symbol, q))
  const planned = rebalance({
    snapshot: {
      cash: start.cash,
      positions: Object.entries(start.positions).map(([symbol, quantity]) => ({ symbol, quantity })),
      quotes
    },
    targets: TARGETS,
    policy
  })
  if (Result.isFailure(planned)) throw new Error(`kernel: ${planned.failure.message}`)
  const sells = planned.success.orders.orders.filter((o) => o.phase === "sell")
  let cash = new Decimal(start.cash)
  const held = new Map(Object.entries(start.positions).map(([s, q]) => [s, new Decimal(q)]))
  const price = (symbol: string, side: "bid" | "ask") => new Decimal(start.quotes[symbol]![side])
  for (const o of sells) {
    held.set(o.symbol, (held.get(o.symbol) ?? ZERO).minus(o.quantity))
    cash = cash.plus(round2(o.quantity.times(price(o.symbol, "bid"))))
  }
  const account = validateAccount({
    cash: format(cash),
    positions: [...held].filter(([, q]) => q.gt(ZERO)).map(([symbol, q]) => ({ symbol, quantity: format(q) }))
  })
  const on = validateModel(TARGETS, quotes, policy)
  if (Result.isFailure(account) || Result.isFailure(on)) throw new Error("kernel: invalid buy-phase input")
  const buys = planBuys(account.success, on.success).orders.orders.filter((o) => o.phase === "buy")
  for (const o of buys) {
    if (skip.includes(o.symbol)) continue
    held.set(o.symbol, (held.get(o.symbol) ?? ZERO).plus(o.quantity))
    cash = cash.minus(round2(o.quantity.times(price(o.symbol, "ask"))))
  }
  return {
    sells: brief(sells),
    buys: brief(buys),
    positions: Object.fromEntries(
      [...held].filter(([, q]) => q.gt(ZERO)).map(([s, q]): [string, string] => [s, format(q)]).sort(([a], [b]) =>
        a < b ? -1 : 1
      )
    ),
    cash: format(cash)
  }
}

const positionsOf = (emu: AlpacaEmulator) => Object.fromEntries(emu.positions().map((p) => [p.symbol, p.qty]))

/** Emulator orders placed by a position close (DELETE /v2/positions/{symbol}): no POST ever carried their (Alpaca-chosen) client ids. */
const closeOrders = (emu: AlpacaEmulator) => emu.orders().filter((o) => emu.submissionsFor(o.client_order_id) === 0)

/** The run's intent an emulator order is: by its client order id, or for a position close the run's sell of that symbol. */
const intentOf = (emu: AlpacaEmulator, outcome: OutcomeJson) => {
  const closes = new Set(closeOrders(emu).map((o) => o.id))
  return (
    order: { readonly id: string; readonly client_order_id: string; readonly symbol: string; readonly side: string }
  ): string | undefined => {
    if (!closes.has(order.id)) {
      return outcome.orders.find((o) => o.clientOrderId === order.client_order_id)?.clientOrderId
    }
    return outcome.orders.find((o) => o.side === "sell" && o.symbol === order.symbol)?.clientOrderId
  }
}

/** How many emulator orders are the run's intent `id`. */
const placedFor = (emu: AlpacaEmulator, outcome: OutcomeJson, id: string) =>
  emu.orders().map(intentOf(emu, outcome)).filter((i) => i === id).length

const deletes = (emu: AlpacaEmulator, symbol?: string) =>
  emu.requests.filter((r) =>
    r.method === "DELETE" &&
    (symbol === undefined ? r.path.startsWith("/v2/positions/") : r.path === `/v2/positions/${symbol}`)
  )

/** Every order of the run was placed exactly once, and the emulator has no order the run does not report. */
const expectEachPlacedOnce = (emu: AlpacaEmulator, outcome: OutcomeJson) => {
  const intents = emu.orders().map(intentOf(emu, outcome))
  expect(intents.filter((i) => i === undefined)).toEqual([])
  for (const o of outcome.orders) {
    expect(intents.filter((i) => i === o.clientOrderId).length, o.clientOrderId).toBeLessThanOrEqual(1)
  }
  // Never a client order id placed twice, never a position closed twice.
  for (const o of emu.orders()) expect(emu.ordersPlacedFor(o.client_order_id), o.client_order_id).toBe(1)
  for (const o of closeOrders(emu)) {
    expect(deletes(emu, o.symbol).filter((r) => r.status !== 404), o.symbol).toHaveLength(1)
  }
  // One order per planned (phase, side, symbol): no duplicate intents either.
  expect(new Set(outcome.orders.map((o) => o.clientOrderId)).size).toBe(outcome.orders.length)
}

/** The run completed, placed and filled exactly the expected orders, and the emulator ends where it must. */
const expectCompleted = (run: CliResult, emu: AlpacaEmulator, expected: Expected, parse = outcomeOf): OutcomeJson => {
  expect(run.code, run.stderr).toBe(0)
  const outcome = parse(run)
  expect([outcome.run.status, outcome.run.step]).toEqual(["completed", "done"])
  expect(outcome.plan?.orders.filter((o) => o.phase === "sell").map(({ symbol, quantity }) => ({ symbol, quantity })))
    .toEqual(expected.sells)
  expect(outcome.buyReplan?.orders.map(({ symbol, quantity }) => ({ symbol, quantity }))).toEqual(expected.buys)
  const sent = outcome.orders.map(({ phase, side, symbol, quantity }) => ({ phase, side, symbol, quantity }))
  expect(sent).toEqual([
    ...expected.sells.map((o) => ({ phase: "sell", side: "sell", ...o })),
    ...expected.buys.map((o) => ({ phase: "buy", side: "buy", ...o }))
  ])
  expect(positionsOf(emu)).toEqual(expected.positions)
  expect(emu.account().cash).toBe(expected.cash)
  expect(outcome.discrepancies).toEqual([])
  expectEachPlacedOnce(emu, outcome)
  return outcome
}

/** Every order of the run filled in full, each placed exactly once. */
const expectAllFilled = (emu: AlpacaEmulator, outcome: OutcomeJson) => {
  for (const o of outcome.orders) {
    expect([o.symbol, o.status, o.filledQuantity]).toEqual([o.symbol, "filled", o.quantity])
    expect(placedFor(emu, outcome, o.clientOrderId), o.clientOrderId).toBe(1)
  }
}

/** The recording replays identically without a word to the venue, and no secret is in it or anywhere else the run left. */
const expectReplaysIdentically = async (ws: Workspace, run: CliResult, emu: AlpacaEmulator) => {
  const session = ws.read(SESSION)
  const lines = session.trimEnd().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>)
  expect(lines[0]).toMatchObject({ type: "header", format: "keel-session", broker: "alpaca", account: ACCOUNT })
  expect(lines.at(-1)?.["type"]).toBe("outcome")
  const before = { requests: emu.requests.length, stream: emu.streamMessages.length }
  const replay = await ws.run(["replay", SESSION, "--json"], ENV)
  expect({ requests: emu.requests.length, stream: emu.streamMessages.length }).toEqual(before)
  const report = (() => {
    try {
      return JSON.parse(replay.stdout) as {
        identical: boolean
        divergence: unknown
        unmatched: unknown
        differences: unknown
      }
    } catch {
      throw new Error(`replay printed no JSON (exit ${replay.code})\n${replay.stdout}\n${replay.stderr}`)
    }
  })()
  expect({ divergence: report.divergence, unmatched: report.unmatched, differences: report.differences }).toEqual({
    divergence: null,
    unmatched: [],
    differences: []
  })
  expect(report.identical).toBe(true)
  expect(replay.code).toBe(0)
  const texts = [session, run.stdout, run.stderr, ...ws.files().map((f) => readFileSync(ws.path(f), "latin1"))]
  for (const text of texts) {
    expect(text).not.toContain(KEY_ID)
    expect(text).not.toContain(SECRET_KEY)
    expect(text).not.toContain(ACCOUNT_NUMBER)
  }
  return lines
}

/** Resolves once `check` holds (polled every 10 ms), or fails after `ms`. */
const until = async (check: () => boolean, ms = 20_000): Promise<void> => {
  const deadline = Date.now() + ms
  while (!check()) {
    if (Date.now() > deadline) throw new Error("condition not met in time")
    await new Promise((r) => setTimeout(r, 10))
  }
}

const posts = (emu: AlpacaEmulator) => emu.requests.filter((r) => r.method === "POST" && r.path === "/v2/orders")
const postedId = (r: { readonly body: unknown }) => (r.body as { client_order_id: string }).client_order_id
/** The client order ids POSTed, in order, each once. */
const postedIds = (emu: AlpacaEmulator) => [...new Set(posts(emu).map(postedId))]
/** Every request that carried one client order id (its POSTs and its lookups), as `METHOD path status`. */
const trailOf = (emu: AlpacaEmulator, id: string) =>
  emu.requests
    .filter((r) => (r.method === "POST" && postedId(r) === id) || r.query["client_order_id"] === id)
    .map((r) => `${r.method} ${r.path} ${r.status}`)
const calls = (lines: ReadonlyArray<Record<string, unknown>>, method: string) =>
  lines.filter((l) => l["type"] === "call" && l["method"] === method)

// ---------------------------------------------------------------------------------------
// Scenarios
// ---------------------------------------------------------------------------------------

describe("rebalance run --execute against the Alpaca emulator", () => {
  it("no fault: sells, waits for their fills, re-plans from the real cash, buys; the session replays", async () => {
    const { emu, ws, start } = await setup(DRIFTED)
    const expected = expectedOf(start)
    expect(expected.sells.map((o) => o.symbol)).toEqual(["ARKK", "VTI"])
    expect(expected.buys.length).toBeGreaterThan(0)
    const run = await execute(ws)
    const outcome = expectCompleted(run, emu, expected)
    expectAllFilled(emu, outcome)
    // Every sell had filled when the first buy was sent (the emulator's own times).
    const at = (o: Record<string, unknown>, field: string) => Date.parse(o[field] as string)
    const firstBuy = Math.min(...emu.orders().filter((o) => o.side === "buy").map((o) => at(o, "submitted_at")))
    for (const o of emu.orders().filter((x) => x.side === "sell")) {
      expect(at(o, "filled_at")).toBeLessThanOrEqual(firstBuy)
    }
    // ARKK, sold in full, is closed by DELETE /v2/positions/ARKK; every other order is one POST.
    expect(deletes(emu).map((r) => [r.path, r.status])).toEqual([["/v2/positions/ARKK", 200]])
    expect(posts(emu).map((r) => (r.body as { symbol: string }).symbol)).not.toContain("ARKK")
    expect(posts(emu).length).toBe(outcome.orders.length - 1)
    expect(emu.requests.every((r) => r.authorized)).toBe(true)
    // The stream was used: authenticated in the current form, and listening.
    expect(emu.streamMessages.slice(0, 2).map((m) => m.message)).toEqual([
      { action: "auth", key: KEY_ID, secret: "[redacted]" },
      { action: "listen", data: { streams: ["trade_updates"] } }
    ])
    const lines = await expectReplaysIdentically(ws, run, emu)
    expect(lines.some((l) => l["type"] === "update")).toBe(true)
  })

  it("429 on GETs (retried) and on one POST: the program re-sends it after the wait, one order placed", async () => {
    const { emu, ws, start } = await setup(DRIFTED)
    const expected = expectedOf(start)
    // A reset one second away, as Alpaca's X-Ratelimit-Reset would say near the end of its window.
    const soon = () => ({ "X-Ratelimit-Reset": String(Math.ceil(Date.now() / 1000) + 1) })
    emu.faults.next({ method: "GET", path: "/v2/account" }, { status: 429, headers: soon() })
    emu.faults.next({ method: "GET", path: "/v2/stocks/quotes/latest", server: "data" }, {
      status: 429,
      times: 2,
      headers: soon()
    })
    emu.faults.next({ method: "POST", path: "/v2/orders" }, { status: 429, headers: soon() })
    const run = await execute(ws)
    const outcome = expectCompleted(run, emu, expected)
    expectAllFilled(emu, outcome)
    expect(emu.faults.pending()).toBe(0)
    const first = postedIds(emu)[0]!
    expect(emu.submissionsFor(first)).toBe(1) // the 429 was answered before the body was read as an order
    expect(posts(emu).filter((r) => postedId(r) === first).map((r) => r.status)).toEqual([429, 200])
    expect(emu.requests.filter((r) => r.status === 429).map((r) => r.path)).toEqual([
      "/v2/account",
      "/v2/stocks/quotes/latest",
      "/v2/stocks/quotes/latest",
      "/v2/orders"
    ])
    const lines = await expectReplaysIdentically(ws, run, emu)
    const placed = calls(lines, "placeOrder")
    expect(placed.filter((l) => (l["error"] as { _tag: string } | undefined)?._tag === "RateLimited")).toHaveLength(1)
    expect(placed.length).toBe(outcome.orders.length + 1)
  })

  it("500 on GETs (retried) and on a POST: UnknownOutcome, looked up by client order id, sent again once, one order", async () => {
    // Orders fill in three parts here, so the partial fills go through the stream, the Store and the replay too.
    const { emu, ws, start } = await setup({ ...DRIFTED, partialFill: 3 })
    const expected = expectedOf(start)
    emu.faults.next({ method: "GET", path: "/v2/positions" }, { status: 500 })
    emu.faults.next({ method: "GET", path: "/v2/clock" }, { status: 503, times: 2 })
    emu.faults.next({ method: "POST", path: "/v2/orders" }, { status: 500 })
    const run = await execute(ws)
    const outcome = expectCompleted(run, emu, expected)
    expectAllFilled(emu, outcome)
    expect(emu.faults.pending()).toBe(0)
    const first = postedIds(emu)[0]!
    // The lookup came between the two submissions, and found nothing.
    const trail = trailOf(emu, first)
    expect(trail).toEqual(["POST /v2/orders 500", "GET /v2/orders:by_client_order_id 404", "POST /v2/orders 200"])
    expect(emu.ordersPlacedFor(first)).toBe(1)
    expect(emu.tradeUpdates.filter((u) => u.event === "partial_fill").length).toBe(2 * outcome.orders.length)
    const lines = await expectReplaysIdentically(ws, run, emu)
    expect(
      calls(lines, "placeOrder").filter((l) => (l["error"] as { _tag: string } | undefined)?._tag === "UnknownOutcome")
    ).toHaveLength(1)
    expect((calls(lines, "getOrderByClientId")[0]!["error"] as { _tag: string })._tag).toBe("OrderNotFound")
  })

  it("a lost POST answer: the order exists; the program finds it by client order id and never places a second", async () => {
    const { emu, ws, start } = await setup(DRIFTED)
    const expected = expectedOf(start)
    emu.faults.next({ method: "POST", path: "/v2/orders" }, { loseAnswer: true, times: 2 })
    emu.faults.next({ method: "GET", path: "/v2/account" }, { loseAnswer: true })
    const run = await execute(ws)
    const outcome = expectCompleted(run, emu, expected)
    expectAllFilled(emu, outcome)
    expect(emu.faults.pending()).toBe(0)
    for (const id of postedIds(emu).slice(0, 2)) {
      // Sent once (its answer lost), found by the lookup, never sent again.
      expect(emu.submissionsFor(id)).toBe(1)
      expect(emu.ordersPlacedFor(id)).toBe(1)
      expect(emu.requests.filter((r) => r.query["client_order_id"] === id).map((r) => r.status)).toEqual([200])
    }
    for (const id of postedIds(emu)) expect(emu.submissionsFor(id)).toBe(1)
    const lines = await expectReplaysIdentically(ws, run, emu)
    const lost = calls(lines, "placeOrder").filter((l) => l["error"] !== undefined)
    expect(lost).toHaveLength(2)
    for (const l of lost) expect((l["error"] as { _tag: string })._tag).toBe("UnknownOutcome")
    expect(calls(lines, "getOrderByClientId").map((l) => (l["result"] as { status: string } | undefined) !== undefined))
      .toEqual([true, true])
  })

  it("the websocket dropped mid-wait and down a while: the fills are seen by polling, and the stream comes back", async () => {
    const { emu, ws, start } = await setup(DRIFTED)
    const expected = expectedOf(start)
    const listening = () =>
      emu.streamMessages.filter((m) => (m.message as { action?: string }).action === "listen").length
    const side = (o: { side: string }) => o.side
    emu.faults.pauseFills()
    const running = execute(ws)
    // The program waits for its sells (it polls them) with its stream listening: drop the stream and keep it down.
    await until(() =>
      emu.requests.some((r) => r.method === "GET" && /^\/v2\/orders\/[^/:]+$/.test(r.path)) && listening() >= 1 &&
      emu.streamClients() > 0
    )
    expect(emu.orders().map((o) => [side(o), o.status])).toEqual(expected.sells.map(() => ["sell", "new"]))
    emu.faults.refuseStream(true)
    expect(emu.faults.dropSocket()).toBe(1)
    // The sells fill while no socket is connected: only polling can see them.
    emu.faults.resumeFills()
    await until(() => emu.orders().every((o) => o.status === "filled"))
    // Hold the buys until the stream is back.
    emu.faults.pauseFills()
    await until(() => posts(emu).some((r) => (r.body as { side: string }).side === "buy"))
    expect(emu.streamClients()).toBe(0)
    emu.faults.refuseStream(false)
    await until(() => listening() >= 2 && emu.streamClients() > 0)
    emu.faults.resumeFills()
    const run = await running
    const outcome = expectCompleted(run, emu, expected, outcomeOf)
    expectAllFilled(emu, outcome)
    const lines = await expectReplaysIdentically(ws, run, emu)
    // No fill of a sell came on the stream; the polls (GET /v2/orders/{id}) saw each of them filled.
    const updates = lines.filter((l) => l["type"] === "update").map((l) =>
      l["update"] as { kind: string; order: { symbol: string; side: string } }
    )
    expect(updates.filter((u) => u.order.side === "sell" && u.kind === "fill")).toEqual([])
    const polledFilled = calls(lines, "getOrder")
      .map((l) => l["result"] as { symbol: string; side: string; status: string })
      .filter((o) => o.side === "sell" && o.status === "filled")
      .map((o) => o.symbol)
    expect(polledFilled.sort()).toEqual(expected.sells.map((o) => o.symbol).sort())
    // Every update came on the one subscription, across the reconnect.
    expect(new Set(lines.filter((l) => l["type"] === "update").map((l) => l["sub"]))).toEqual(new Set([1]))
  })

  it("rejected orders: one refused at submission (422), one rejected on the stream; the run completes and reports both", async () => {
    const { emu, ws, start } = await setup(FROM_CASH)
    const plain = expectedOf(start)
    expect(plain.sells).toEqual([])
    expect(plain.buys.length).toBe(4)
    const [refused, streamed] = [plain.buys[0]!.symbol, plain.buys[1]!.symbol]
    const expected = expectedOf(start, [refused, streamed])
    emu.faults.next({ method: "POST", path: "/v2/orders" }, {
      status: 422,
      body: { code: 42210000, message: `asset ${refused} is not tradable` }
    })
    emu.faults.rejectNextOrder("emulated venue rejection")
    const run = await execute(ws)
    const outcome = expectCompleted(run, emu, expected)
    const bySymbol = new Map(outcome.orders.map((o) => [o.symbol, o]))
    expect(bySymbol.get(refused)).toMatchObject({
      status: "rejected",
      filledQuantity: "0",
      reason: `asset ${refused} is not tradable`
    })
    expect(bySymbol.get(streamed)).toMatchObject({
      status: "rejected",
      filledQuantity: "0",
      reason: "Alpaca status rejected"
    })
    for (const o of outcome.orders.filter((x) => x.symbol !== refused && x.symbol !== streamed)) {
      expect([o.status, o.filledQuantity]).toEqual(["filled", o.quantity])
    }
    // Placed once each; the refused one never became an order.
    expect(emu.ordersPlacedFor(bySymbol.get(refused)!.clientOrderId)).toBe(0)
    for (const o of outcome.orders.filter((x) => x.symbol !== refused)) {
      expect(emu.ordersPlacedFor(o.clientOrderId)).toBe(1)
    }
    expect(outcome.summary.orders).toEqual({ placed: 3, filled: 2, failed: 2 })
    expect(outcome.summary.warnings).toContain(`${refused}: buy rejected: asset ${refused} is not tradable`)
    // The one rejected after acceptance is said and counted too, not only in `failed`.
    expect(outcome.summary.warnings).toContain(
      `${streamed}: buy rejected after it was accepted: Alpaca status rejected`
    )
    expect(outcome.summary.errors).toEqual({ rejected: 2 })
    const lines = await expectReplaysIdentically(ws, run, emu)
    expect((calls(lines, "placeOrder")[0]!["error"] as { _tag: string })._tag).toBe("OrderRejected")
  })

  it("market closed: exit 3, aborted at the guards, no order sent; the session replays", async () => {
    const { emu, ws } = await setup({ ...DRIFTED, marketOpen: false })
    const before = positionsOf(emu)
    const run = await execute(ws)
    expect(run.code, run.stderr).toBe(3)
    const outcome = outcomeOf(run)
    expect([outcome.run.status, outcome.run.step]).toEqual(["aborted", "guards"])
    expect(outcome.run.reason).toMatch(/^the market is closed \(next open \d{4}-\d\d-\d\dT/)
    expect(outcome.orders).toEqual([])
    expect(posts(emu)).toEqual([])
    expect(emu.orders()).toEqual([])
    expect(positionsOf(emu)).toEqual(before)
    const lines = await expectReplaysIdentically(ws, run, emu)
    expect(calls(lines, "placeOrder")).toEqual([])
    expect(lines.at(-1)).toMatchObject({ status: "aborted", step: "guards", orders: [] })
  })

  it("a one-sided quote: the holding is valued at its latest trade (/v2/stocks/trades/latest) and sold at its bid", async () => {
    // ARKK has a bid and no ask (IEX sends 0 for the missing side); its last trade is 49.30.
    const { emu, ws, start } = await setup({ ...DRIFTED, quotes: { ARKK: { bid: "48.90", ask: "0", last: "49.30" } } })
    const expected = expectedOf(start)
    expect(expected.sells).toContainEqual({ symbol: "ARKK", quantity: "40" })
    const run = await execute(ws)
    const outcome = expectCompleted(run, emu, expected)
    expectAllFilled(emu, outcome)
    // Valued at the trade, not at the bid alone; the liquidation filled at the bid.
    expect(outcome.plan?.plan.find((l) => l.symbol === "ARKK")).toMatchObject({ price: "49.3", action: "sell" })
    expect(outcome.orders.find((o) => o.symbol === "ARKK")).toMatchObject({
      side: "sell",
      status: "filled",
      averageFillPrice: "48.9"
    })
    // Asked for the one symbol that needed it, on the data host.
    const trades = emu.requests.filter((r) => r.path === "/v2/stocks/trades/latest")
    expect(trades.map((r) => [r.server, r.status, r.query["symbols"], r.query["feed"]])).toEqual([[
      "data",
      200,
      "ARKK",
      "iex"
    ]])
    const lines = await expectReplaysIdentically(ws, run, emu)
    expect(calls(lines, "quotes")[0]!["result"] as ReadonlyArray<unknown>).toContainEqual({
      symbol: "ARKK",
      bid: "48.9",
      last: "49.3"
    })
  })

  it("latest trades unavailable (403): the one-sided quote stands, valued at its bid alone, and the plan is made anyway", async () => {
    const { emu, ws } = await setup({ ...DRIFTED, quotes: { ARKK: { bid: "48.90", ask: "0", last: "49.30" } } })
    emu.faults.next({ path: "/v2/stocks/trades/latest" }, {
      status: 403,
      body: { code: 40310000, message: "subscription does not permit querying recent SIP data" }
    })
    const run = await ws.run(["run", "--account", ACCOUNT, "--json"], ENV)
    expect(run.code, run.stderr).toBe(0)
    const outcome = outcomeOf(run)
    expect([outcome.run.mode, outcome.run.status]).toEqual(["preview", "completed"])
    expect(outcome.plan?.plan.find((l) => l.symbol === "ARKK")).toMatchObject({ price: "48.9", action: "sell" })
    // Asked once (a 403 is not worth repeating), and said why, without a secret.
    expect(emu.requests.filter((r) => r.path === "/v2/stocks/trades/latest").map((r) => r.status)).toEqual([403])
    expect(run.stdout + run.stderr).toContain("no latest trades for ARKK, quotes kept as they are")
    expect(run.stdout + run.stderr).not.toContain(SECRET_KEY)
    expect(emu.orders()).toEqual([])
  })

  it("with --json, stdout is one JSON object even when the adapter logs a warning (logs go to stderr)", async () => {
    const { emu, ws } = await setup({ ...DRIFTED, quotes: { ARKK: { bid: "48.90", ask: "0", last: "49.30" } } })
    emu.faults.next({ path: "/v2/stocks/trades/latest" }, { status: 403 })
    const run = await ws.run(["run", "--account", ACCOUNT, "--json"], ENV)
    expect(() => JSON.parse(run.stdout) as unknown).not.toThrow()
    expect(run.stderr).toContain("no latest trades for ARKK")
  })

  it("shares: fractional, VNQ not fractionable at Alpaca: VNQ in whole shares, the others fractional, none rejected", async () => {
    const { emu, ws, start } = await setup(
      { ...FROM_CASH, fractionable: ["VTI", "VXUS", "BND", "ARKK"] },
      FRACTIONAL_POLICY
    )
    const expected = expectedOf(start, [], FRACTIONAL_AT_ALPACA)
    const whole = (q: string) => new Decimal(q).round(0, 0).eq(new Decimal(q))
    expect(expected.buys.find((o) => o.symbol === "VNQ")).toSatisfy((o: { quantity: string }) => whole(o.quantity))
    expect(expected.buys.filter((o) => o.symbol !== "VNQ").every((o) => !whole(o.quantity))).toBe(true)
    const run = await execute(ws)
    const outcome = expectCompleted(run, emu, expected)
    expectAllFilled(emu, outcome)
    expect(outcome.orders.filter((o) => o.status === "rejected")).toEqual([])
    expect(outcome.summary.errors).toEqual({})
    expect(outcome.summary.warnings).toContain("not fractionable at the venue, traded in whole shares: VNQ")
    // Alpaca was asked for its active assets once, never symbol by symbol, and refused nothing.
    expect(emu.requests.filter((r) => r.path.startsWith("/v2/assets")).map((r) => [r.path, r.query, r.status]))
      .toEqual([["/v2/assets", { status: "active", asset_class: "us_equity" }, 200]])
    expect(posts(emu).map((r) => r.status)).toEqual(posts(emu).map(() => 200))
    // Fractional quantities go out as day orders.
    for (const r of posts(emu)) expect((r.body as { time_in_force: string }).time_in_force).toBe("day")
    const lines = await expectReplaysIdentically(ws, run, emu)
    expect(calls(lines, "assets")).toHaveLength(1)
  })

  it("a whole-share account holding ARKK 40.5 (untargeted): one DELETE /v2/positions/ARKK closes it", async () => {
    const { emu, ws, start } = await setup(DRIFTED_FRACTIONAL_ARKK)
    const expected = expectedOf(start)
    expect(expected.sells).toContainEqual({ symbol: "ARKK", quantity: "40.5" })
    const run = await execute(ws)
    const outcome = expectCompleted(run, emu, expected)
    expectAllFilled(emu, outcome)
    expect(positionsOf(emu)).not.toHaveProperty("ARKK")
    expect(deletes(emu).map((r) => [r.path, r.status])).toEqual([["/v2/positions/ARKK", 200]])
    expect(posts(emu).map((r) => (r.body as { symbol: string }).symbol)).not.toContain("ARKK")
    // Alpaca named the order its own way; the run knows it by its intent's id.
    const [close] = closeOrders(emu)
    const intent = outcome.orders.find((o) => o.symbol === "ARKK")!
    expect(close).toMatchObject({ symbol: "ARKK", side: "sell", qty: "40.5", filled_qty: "40.5", status: "filled" })
    expect(close!.client_order_id).not.toBe(intent.clientOrderId)
    expect(intent).toMatchObject({
      phase: "sell",
      side: "sell",
      quantity: "40.5",
      status: "filled",
      filledQuantity: "40.5",
      averageFillPrice: "48.9"
    })
    expect(run.stdout + run.stderr).not.toContain("refused")
    const lines = await expectReplaysIdentically(ws, run, emu)
    const placed = calls(lines, "placeOrder").filter((l) => (l["args"] as { symbol: string }).symbol === "ARKK")
    expect(placed.map((l) => [l["args"], l["result"]])).toEqual([[
      expect.objectContaining({ clientOrderId: intent.clientOrderId, quantity: "40.5", closesPosition: true }),
      expect.objectContaining({ clientOrderId: intent.clientOrderId, symbol: "ARKK", id: close!.id })
    ]])
  })

  it("a lost answer on that DELETE: the close is looked up among ARKK's orders, never sent again; exactly one close", async () => {
    const { emu, ws, start } = await setup(DRIFTED_FRACTIONAL_ARKK)
    const expected = expectedOf(start)
    emu.faults.next({ method: "DELETE", path: "/v2/positions/ARKK" }, { loseAnswer: true })
    const run = await execute(ws)
    const outcome = expectCompleted(run, emu, expected)
    expectAllFilled(emu, outcome)
    expect(emu.faults.pending()).toBe(0)
    expect(positionsOf(emu)).not.toHaveProperty("ARKK")
    // One DELETE (its answer lost), one lookup of ARKK's orders since, and never a second close.
    expect(deletes(emu).map((r) => [r.path, r.status])).toEqual([["/v2/positions/ARKK", undefined]])
    expect(closeOrders(emu)).toHaveLength(1)
    const lookups = emu.requests.filter((r) =>
      r.method === "GET" && r.path === "/v2/orders" && r.query["status"] === "all"
    )
    expect(lookups.map((r) => [r.query["symbols"], r.status])).toEqual([["ARKK", 200]])
    const intent = outcome.orders.find((o) => o.symbol === "ARKK")!
    expect(intent).toMatchObject({ status: "filled", filledQuantity: "40.5" })
    const lines = await expectReplaysIdentically(ws, run, emu)
    const arkk = (l: Record<string, unknown>) => JSON.stringify(l["args"]).includes(intent.clientOrderId)
    expect(calls(lines, "placeOrder").filter(arkk).map((l) => (l["error"] as { _tag: string } | undefined)?._tag))
      .toEqual(["UnknownOutcome"])
    expect(calls(lines, "getOrderByClientId").filter(arkk).map((l) => l["result"])).toEqual([
      expect.objectContaining({ clientOrderId: intent.clientOrderId, symbol: "ARKK", side: "sell" })
    ])
  })

  it("a lost POST answer, then a 404 on the lookup by client order id: the resend is refused, looked up again, tracked", async () => {
    // Placed once, filled, nothing rejected.
    const { emu, ws, start } = await setup(FROM_CASH)
    const expected = expectedOf(start)
    emu.faults.next({ method: "POST", path: "/v2/orders" }, { loseAnswer: true })
    emu.faults.next({ method: "GET", path: "/v2/orders:by_client_order_id" }, {
      status: 404,
      body: { code: 40410000, message: "order not found" }
    })
    const run = await execute(ws)
    const outcome = expectCompleted(run, emu, expected)
    expectAllFilled(emu, outcome)
    expect(emu.faults.pending()).toBe(0)
    const first = postedIds(emu)[0]!
    const trail = trailOf(emu, first)
    expect(trail).toEqual([
      "POST /v2/orders undefined",
      "GET /v2/orders:by_client_order_id 404",
      "POST /v2/orders 422",
      "GET /v2/orders:by_client_order_id 200"
    ])
    expect(emu.submissionsFor(first)).toBe(2)
    expect(emu.ordersPlacedFor(first)).toBe(1)
    expect(outcome.orders.find((o) => o.clientOrderId === first)).toMatchObject({ status: "filled" })
    expect(outcome.orders.map((o) => o.status)).not.toContain("rejected")
    expect(outcome.summary.errors).toEqual({})
    expect(JSON.stringify(outcome.summary.warnings)).not.toContain("rejected")
    await expectReplaysIdentically(ws, run, emu)
  })
})

// ---------------------------------------------------------------------------------------
// Alpaca as it really behaves (issue 13)
// ---------------------------------------------------------------------------------------

/** Sells that cannot fill within a short `fillSeconds`: the run times out with its two sells open. */
const timedOutRun = async (setupOptions: EmulatorOptions) => {
  const s = await setup(setupOptions)
  s.ws.editConfig((config) => {
    config.timeouts = { fillSeconds: 3, pollSeconds: 0.2 }
  })
  s.emu.faults.pauseFills()
  const first = outcomeOf(await s.ws.run(["run", "--account", ACCOUNT, "--execute", "--json"], ENV))
  expect([first.run.status, first.run.step]).toEqual(["timed_out", "sell-wait"])
  expect(s.emu.orders().map((o) => [o.symbol, o.status])).toEqual([["ARKK", "new"], ["VTI", "new"]])
  return s
}

const orderCancels = (emu: AlpacaEmulator) =>
  emu.requests.filter((r) => r.method === "DELETE" && r.path.startsWith("/v2/orders/"))

describe("a cancel is asynchronous (pending_cancel at the emulator)", () => {
  it("a run after a timed-out run: its cancels are confirmed before planning, no close is refused, the run completes", async () => {
    const { emu, ws, start } = await timedOutRun({ ...DRIFTED, cancelDelayMillis: 1_200 })
    const stale = emu.orders().map((o) => o.id)
    const expected = expectedOf(start)
    const running = execute(ws)
    // Fills resume once the earlier run's orders are being cancelled: pending, they fill no more.
    await until(() => orderCancels(emu).length === 2)
    emu.faults.resumeFills()
    const run = await running
    expect(run.code, run.stderr).toBe(0)
    const outcome = outcomeOf(run)
    expect([outcome.run.status, outcome.run.step]).toEqual(["completed", "done"])
    expect(emu.orders().filter((o) => stale.includes(o.id)).map((o) => [o.status, o.filled_qty])).toEqual([
      ["canceled", "0"],
      ["canceled", "0"]
    ])
    // Nothing of the new run went out while a cancel was pending, and nothing was refused.
    const canceledAt = Math.max(
      ...emu.tradeUpdates.filter((u) => u.event === "canceled").map((u) => Date.parse(u.timestamp))
    )
    for (const r of emu.orders().filter((o) => !stale.includes(o.id))) {
      expect(Date.parse(r["submitted_at"] as string)).toBeGreaterThanOrEqual(canceledAt)
    }
    expect(emu.requests.filter((r) => r.status === 403)).toEqual([])
    expect(outcome.orders.map((o) => o.status)).toEqual(outcome.orders.map(() => "filled"))
    expect(outcome.summary.errors).toEqual({})
    expect(positionsOf(emu)).toEqual(expected.positions)
    expect(emu.account().cash).toBe(expected.cash)
    expect(outcome.discrepancies).toEqual([])
  })

  it("rebalance recover returns only once the venue has cancelled every open order of the timed-out run", async () => {
    const { emu, ws } = await timedOutRun({ ...DRIFTED, cancelDelayMillis: 800 })
    const recovered = await ws.run(["recover", "--account", ACCOUNT, "--json"], ENV)
    expect(recovered.code, recovered.stderr).toBe(0)
    expect(emu.orders().map((o) => [o.symbol, o.status])).toEqual([["ARKK", "canceled"], ["VTI", "canceled"]])
    expect(emu.tradeUpdates.filter((u) => u.event === "pending_cancel")).toHaveLength(2)
    expect(parseJson<{ runs: ReadonlyArray<{ cancelled: number }> }>(recovered.stdout).runs.map((r) => r.cancelled))
      .toEqual([2])
  })
})

describe("a fixed point", () => {
  /** Runs twice, quotes unchanged; the second run's plan. */
  const twice = async (from: EmulatorOptions) => {
    const { emu, ws, start } = await setup(from)
    expectCompleted(await execute(ws), emu, expectedOf(start))
    const orders = emu.orders().length
    const again = await ws.run(["run", "--account", ACCOUNT, "--execute", "--json"], ENV)
    expect(again.code, again.stderr).toBe(0)
    const outcome = outcomeOf(again)
    return { emu, orders, outcome }
  }

  for (const [name, from] of [["from cash", FROM_CASH], ["drifted", DRIFTED]] as const) {
    it(`${name}: a second run right after a completed run, quotes unchanged, places no order`, async () => {
      const { emu, orders, outcome } = await twice(from)
      expect(outcome.plan?.orders).toEqual([])
      expect(outcome.orders).toEqual([])
      expect(emu.orders()).toHaveLength(orders)
    })
  }
})

describe("Alpaca's buying-power check on market buys (at the ask plus its 2% collar)", () => {
  const refusedForBuyingPower = (emu: AlpacaEmulator) =>
    posts(emu).filter((r) => r.status === 403).map((r) => (r.body as { symbol: string }).symbol)
  /** Fully invested: the targets sum to 1, and the policy keeps no reserve of its own. */
  const INVESTED = { VTI: "0.42", VXUS: "0.25", BND: "0.25", VNQ: "0.08" } as const
  const NO_RESERVE = { shares: "whole", minOrderValue: "1" } as const

  for (const cash of ["100000", "10000"]) {
    it(`$${cash}, fully invested, the defaults: none refused, 2% kept as the reserve, and a second run places nothing`, async () => {
      const { emu, ws } = await setup({ cash, marketBuyCollar: "0.02" }, NO_RESERVE, INVESTED)
      const run = await execute(ws)
      expect(run.code, run.stderr).toBe(0)
      const outcome = outcomeOf(run)
      expect([outcome.run.status, outcome.run.step]).toEqual(["completed", "done"])
      expect(refusedForBuyingPower(emu)).toEqual([])
      expectAllFilled(emu, outcome)
      // What stays in cash is at least the collar of the equity (valued at the bid here).
      const account = emu.account()
      const held = emu.positions().reduce(
        (sum, p) => sum.plus(new Decimal(p.qty).times(new Decimal(QUOTES[p.symbol]!.bid))),
        ZERO
      )
      const equity = held.plus(new Decimal(account.cash))
      expect(new Decimal(account.cash).gte(equity.times(new Decimal("0.02")))).toBe(true)
      const orders = emu.orders().length
      const again = outcomeOf(await ws.run(["run", "--account", ACCOUNT, "--execute", "--json"], ENV))
      expect(again.plan?.orders).toEqual([])
      expect(emu.orders()).toHaveLength(orders)
    })
  }
})

describe("symbols Alpaca will not trade are left out of the plan", () => {
  // BND is listed but not tradable; VNQ is no longer listed as active (delisted). Neither is
  // ordered, under either policy: each is unpriced to the plan, said once, and nothing is refused.
  for (const [name, policy] of [["whole shares", POLICY], ["fractional", FRACTIONAL_POLICY]] as const) {
    it(`${name}: no order of BND or VNQ, a warning naming both, the others bought and filled`, async () => {
      const { emu, ws } = await setup({ ...FROM_CASH, untradable: ["BND"], inactive: ["VNQ"] }, policy)
      const run = await execute(ws)
      expect(run.code, run.stderr).toBe(0)
      const outcome = outcomeOf(run)
      expect([outcome.run.status, outcome.run.step]).toEqual(["completed", "done"])
      expect(outcome.summary.warnings).toContain(
        "not tradable at the venue, left out of the plan as unpriced: BND, VNQ"
      )
      expect(outcome.orders.map((o) => o.symbol).sort()).toEqual(["VTI", "VXUS"])
      expect(outcome.orders.map((o) => o.status)).toEqual(["filled", "filled"])
      expect(posts(emu).map((r) => [(r.body as { symbol: string }).symbol, r.status]).sort()).toEqual([
        ["VTI", 200],
        ["VXUS", 200]
      ])
      expect(outcome.summary.errors).toEqual({})
      expect(positionsOf(emu)).not.toHaveProperty("BND")
      await expectReplaysIdentically(ws, run, emu)
    })
  }
})

describe("orders placed outside Keel (a hand-placed GTC limit buy) are never Keel's to cancel", () => {
  /** A GTC limit buy of 10 VTI at 200, below the ask: it stays open, holding 2000 of the cash. */
  const withOutsideOrder = async (outsideOrders?: "abort" | "reserve") => {
    const s = await setup(FROM_CASH)
    if (outsideOrders !== undefined) s.ws.editConfig((config) => Object.assign(config.accounts[0]!, { outsideOrders }))
    const placed = await fetch(`${s.emu.tradingUrl}/v2/orders`, {
      method: "POST",
      headers: { "APCA-API-KEY-ID": KEY_ID, "APCA-API-SECRET-KEY": SECRET_KEY, "content-type": "application/json" },
      body: JSON.stringify({
        symbol: "VTI",
        side: "buy",
        type: "limit",
        limit_price: "200",
        qty: "10",
        time_in_force: "gtc",
        client_order_id: "my-own-gtc-1"
      })
    })
    expect(placed.status).toBe(200)
    return s
  }
  const outsideOrder = (emu: AlpacaEmulator) => emu.orders().find((o) => o.client_order_id === "my-own-gtc-1")

  it("outsideOrders: abort (the default): exit 3 at the guards with one line naming it; nothing cancelled or sent", async () => {
    const { emu, ws } = await withOutsideOrder()
    const run = await execute(ws)
    expect(run.code, run.stderr).toBe(3)
    const outcome = outcomeOf(run)
    expect([outcome.run.status, outcome.run.step]).toEqual(["aborted", "guards"])
    expect(outcome.run.reason).toBe(
      "1 open order(s) placed outside Keel (my-own-gtc-1): Keel leaves them alone; set outsideOrders: reserve to " +
        "rebalance around them"
    )
    expect(orderCancels(emu)).toEqual([])
    expect(posts(emu)).toHaveLength(1)
    expect(outsideOrder(emu)?.status).toBe("new")
  })

  it("outsideOrders: reserve: left open, its cash kept out of the plan; the run buys with the rest", async () => {
    const { emu, ws, start } = await withOutsideOrder("reserve")
    const run = await execute(ws)
    // Planned as from the cash the outside order leaves: 100000 − 10 × 200.
    const expected = expectedOf({ ...start, cash: "98000" })
    expect(run.code, run.stderr).toBe(0)
    const outcome = outcomeOf(run)
    expect([outcome.run.status, outcome.run.step]).toEqual(["completed", "done"])
    expect(outcome.summary.warnings).toContain(
      "1 open order(s) placed outside Keel (my-own-gtc-1) left alone: the cash and shares they hold are kept out of the plan"
    )
    expect(outcome.buyReplan?.orders.map(({ symbol, quantity }) => ({ symbol, quantity }))).toEqual(expected.buys)
    expect(orderCancels(emu)).toEqual([])
    expect(outsideOrder(emu)?.status).toBe("new")
    expect(outcome.orders.map((o) => o.status)).toEqual(outcome.orders.map(() => "filled"))
  })
})

describe("the request budget (the stream up, polls at the default 5 s)", () => {
  const SYMBOLS = Array.from(
    { length: 50 },
    (_, i) => `S${String.fromCharCode(65 + Math.floor(i / 26))}${String.fromCharCode(65 + (i % 26))}`
  )
  const quotes = Object.fromEntries(SYMBOLS.map((s, i) => [s, { bid: `${40 + i}.00`, ask: `${40 + i}.02` }]))
  const targets = Object.fromEntries(SYMBOLS.map((s) => [s, "0.0199"]))

  const fromCash = async (policy: Readonly<Record<string, unknown>>) => {
    // Fills come 300 ms after each order, so the stream is listening when they do (the run starts
    // it only just before the first order; a fill before its handshake would be found by a poll).
    const { emu, ws } = await setup({ ...FROM_CASH, quotes, fillDelayMillis: 300 }, policy, targets)
    ws.editConfig((config) => {
      config.timeouts = { fillSeconds: 15 }
    })
    const run = await execute(ws)
    expect(run.code, run.stderr).toBe(0)
    const outcome = outcomeOf(run)
    expect([outcome.run.status, outcome.run.step]).toEqual(["completed", "done"])
    expect(outcome.orders).toHaveLength(SYMBOLS.length)
    expect(outcome.orders.map((o) => o.status)).toEqual(SYMBOLS.map(() => "filled"))
    const byPath = emu.requestsByPath()
    // One list of assets, quotes asked once (the final snapshot asks none), no order looked up.
    expect([byPath["GET /v2/assets"], byPath["GET /v2/stocks/quotes/latest"]]).toEqual([1, 1])
    expect(Object.keys(byPath).filter((k) => k.startsWith("GET /v2/assets/") || k.startsWith("GET /v2/orders/")))
      .toEqual([])
    return { total: emu.requests.length, byPath }
  }

  it("50 symbols, whole shares, from cash: at most symbols + 10 requests", async () => {
    const { total, byPath } = await fromCash(POLICY)
    expect(total, JSON.stringify(byPath)).toBeLessThanOrEqual(SYMBOLS.length + 10)
  })

  it("50 symbols, fractional, from cash: at most symbols + 15 requests", async () => {
    const { total, byPath } = await fromCash(FRACTIONAL_POLICY)
    expect(total, JSON.stringify(byPath)).toBeLessThanOrEqual(SYMBOLS.length + 15)
  })
})
