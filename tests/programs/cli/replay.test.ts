/**
 * Replay of the recorded session fixtures (tests/fixtures/sessions, see its README):
 * today's code must place the recorded orders and end with the recorded positions, each
 * fixture must show what its scenario is about, and a bad or changed session must be
 * reported as the issue asks (exit 1 for a difference, 2 for an unreadable file).
 */
import * as NodeServices from "@effect/platform-node/NodeServices"
import { afterAll, assert, describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import type { Placed } from "../../../src/effects/broker/recording/session.ts"
import { readSession, type ReplayReport, replaySession } from "../../../src/programs/cli/replay.ts"
import { ROOT, runCli, singleLine } from "../../support/cli.ts"

const FIXTURES = join(ROOT, "tests/fixtures/sessions")
const fixture = (name: string) => join(FIXTURES, `${name}.jsonl`)

const replayFile = (file: string): Promise<ReplayReport> =>
  Effect.runPromise(Effect.flatMap(readSession(file), replaySession).pipe(Effect.provide(NodeServices.layer)))

/** Placed orders without the run-specific client order id. */
const withoutIds = (orders: ReadonlyArray<Placed>) => orders.map(({ clientOrderId: _, ...rest }) => rest)

const lines = (name: string) =>
  readFileSync(fixture(name), "utf8").trimEnd().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>)

const tmp = mkdtempSync(join(tmpdir(), "keel-replay-test-"))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))
let counter = 0
const scratch = (name: string, text: string): string => {
  const dir = join(tmp, `case-${++counter}`)
  const file = join(dir, name)
  rmSync(dir, { recursive: true, force: true })
  mkdirSync(dir, { recursive: true })
  writeFileSync(file, text)
  return file
}

describe("every fixture replays identically", () => {
  const names = readdirSync(FIXTURES).filter((f) => f.endsWith(".jsonl")).map((f) => f.slice(0, -".jsonl".length))

  it("ships the six scenarios the issue names, and a minute of waiting for fills", () => {
    expect(names.sort()).toEqual(
      [
        "drifted-sells-then-buys",
        "market-closed",
        "partial-fills",
        "plain-from-cash",
        "rejected-order",
        "settlement-timeout",
        "slow-fills"
      ]
    )
  })

  for (const name of names) {
    it(`${name}: same orders, same final positions, nothing left unasked`, async () => {
      const report = await replayFile(fixture(name))
      assert.isNotNull(report.recorded, "the fixture has its outcome line")
      assert.isNotNull(report.replayed)
      expect(report.divergence).toBeNull()
      expect(report.unmatched).toEqual([])
      expect(report.differences).toEqual([])
      expect(withoutIds(report.replayed.orders)).toEqual(withoutIds(report.recorded.orders))
      // Final positions: the broker's at the end, or for a stopped run the start plus every fill.
      assert.isNotNull(report.recorded.positions)
      expect(report.replayed.positions).toEqual(report.recorded.positions)
      expect(report.replayed.plan).toEqual(report.recorded.plan)
      expect(report.identical).toBe(true)
    })
  }
})

describe("each fixture records its scenario", () => {
  const outcome = async (name: string) => (await replayFile(fixture(name))).replayed!

  it("plain-from-cash: buys only, all filled, from cash", async () => {
    const o = await outcome("plain-from-cash")
    expect(o.status).toBe("completed")
    expect(o.orders.length).toBeGreaterThan(0)
    for (const order of o.orders) expect([order.side, order.status]).toEqual(["buy", "filled"])
    const first = lines("plain-from-cash").find((l) => l["method"] === "positions")
    expect(first?.["result"]).toEqual([])
  })

  it("drifted-sells-then-buys: every sell is placed, and filled, before the first buy", async () => {
    const o = await outcome("drifted-sells-then-buys")
    expect(o.status).toBe("completed")
    expect(o.orders.some((x) => x.side === "sell")).toBe(true)
    expect(o.orders.some((x) => x.side === "buy")).toBe(true)
    const events = lines("drifted-sells-then-buys")
    const placed = events.filter((l) => l["method"] === "placeOrder").map((l) => (l["args"] as { side: string }).side)
    expect(placed.indexOf("buy")).toBeGreaterThan(placed.lastIndexOf("sell"))
    const firstBuy = events.findIndex((l) =>
      l["method"] === "placeOrder" && (l["args"] as { side: string }).side === "buy"
    )
    const sellFills = events.filter((l, i) =>
      i < firstBuy && l["type"] === "update" && (l["update"] as { kind: string }).kind === "fill"
    )
    expect(sellFills.length).toBe(placed.filter((s) => s === "sell").length)
    expect(o.buyReplan).not.toBeNull()
  })

  it("partial-fills: each order fills in parts and ends filled", async () => {
    const o = await outcome("partial-fills")
    expect(o.status).toBe("completed")
    const kinds = lines("partial-fills").filter((l) => l["type"] === "update").map((l) =>
      (l["update"] as { kind: string }).kind
    )
    expect(kinds.filter((k) => k === "partial_fill").length).toBe(2 * o.orders.length)
    for (const order of o.orders) expect(order.status).toBe("filled")
  })

  it("settlement-timeout: the sells do not fill in time, the run stops at sell-wait and no buy is placed", async () => {
    const o = await outcome("settlement-timeout")
    expect([o.status, o.step]).toEqual(["timed_out", "sell-wait"])
    expect(o.orders.length).toBeGreaterThan(0)
    for (const order of o.orders) expect([order.side, order.status]).toEqual(["sell", "accepted"])
    expect(o.plan!.some((p) => p.side === "buy")).toBe(true)
    expect(o.buyReplan).toBeNull()
    const events = lines("settlement-timeout")
    expect(events.some((l) => l["method"] === "placeOrder" && (l["args"] as { side: string }).side === "buy")).toBe(
      false
    )
    expect(events.at(-1)!["t"] as number).toBeGreaterThanOrEqual(2000)
    // Nothing filled: the account ends as it started.
    const start = events.find((l) => l["method"] === "positions")!["result"] as ReadonlyArray<
      { symbol: string; quantity: string }
    >
    expect(o.positions).toEqual([...start].sort((a, b) => (a.symbol < b.symbol ? -1 : 1)))
  })

  it("slow-fills: a minute of waiting for fills replays on virtual time, identically every time", async () => {
    const events = lines("slow-fills")
    const span = events.at(-1)!["t"] as number
    expect(span).toBeGreaterThanOrEqual(60_000)
    const began = performance.now()
    const first = await replayFile(fixture("slow-fills"))
    const took = performance.now() - began
    expect(first.identical).toBe(true)
    // A replay on real time would take the whole recorded minute.
    expect(took).toBeLessThan(span / 6)
    expect(first.replayed!.orders.every((o) => o.status === "filled")).toBe(true)
    // Every replay makes a new run id (inside the client order ids); all else is the same.
    const second = await replayFile(fixture("slow-fills"))
    const withoutRun = (r: ReplayReport) => ({ ...r.replayed!, orders: withoutIds(r.replayed!.orders) })
    expect(withoutRun(second)).toEqual(withoutRun(first))
  })

  it("rejected-order: the venue refuses some buys and fills the rest", async () => {
    const o = await outcome("rejected-order")
    expect(o.orders.filter((x) => x.status === "rejected").length).toBe(2)
    expect(o.orders.filter((x) => x.status === "filled").length).toBe(2)
    expect(
      lines("rejected-order").filter((l) => (l["error"] as { _tag?: string } | undefined)?._tag === "OrderRejected")
        .length
    ).toBe(2)
  })

  it("market-closed: aborted by the guard before any order", async () => {
    const o = await outcome("market-closed")
    expect([o.status, o.step]).toEqual(["aborted", "guards"])
    expect(o.orders).toEqual([])
    expect(o.positions).toEqual([])
    expect(lines("market-closed").some((l) => l["method"] === "placeOrder")).toBe(false)
  })
})

describe("a replay finds what changed", () => {
  // After sells, the buys come from a fresh snapshot's re-plan (from cash, with no sell, they come from
  // the start snapshot itself, so a first quote there would change the orders too).
  it("a different first quote changes only the plan (the buys come from the re-plan): exit 1 with the plan's differences", async () => {
    const text = readFileSync(fixture("drifted-sells-then-buys"), "utf8").replace(
      "\"ask\":\"215.5\"",
      "\"ask\":\"218.5\""
    )
    const report = await replayFile(scratch("plan-only.jsonl", text))
    expect(report.identical).toBe(false)
    expect(report.divergence).toBeNull()
    expect(report.differences.length).toBeGreaterThan(0)
    for (const d of report.differences) expect(d).toMatch(/^plan: /)
  })

  it("a different quote throughout changes the orders: reported with the diverging line, exit 1", async () => {
    const text = readFileSync(fixture("plain-from-cash"), "utf8").replaceAll("\"ask\":\"72.52\"", "\"ask\":\"75.52\"")
    const file = scratch("changed.jsonl", text)
    const report = await replayFile(file)
    expect(report.identical).toBe(false)
    assert.isNotNull(report.divergence)
    expect(report.divergence.made.method).toBe("placeOrder")
    expect(report.divergence.expected?.method).toBe("placeOrder")
    const line = text.split("\n").findIndex((l) => l.includes("\"placeOrder\"")) + 1
    expect(report.divergence.expected?.line).toBe(line)
    expect(report.differences.some((d) => d.startsWith("plan: buy BND recorded"))).toBe(true)

    const cli = await runCli(["replay", file], { cwd: join(file, "..") })
    expect(cli.code).toBe(1)
    expect(cli.stdout).toContain(`diverged at line ${line}: the program called placeOrder`)
    expect(cli.stdout).toContain("the recording expected placeOrder")
  })

  it("a recorded call the program no longer makes is reported with its line", async () => {
    const text = readFileSync(fixture("market-closed"), "utf8")
    const extra = JSON.stringify({
      type: "call",
      t: 1,
      method: "clock",
      args: null,
      result: { isOpen: false, nextOpen: 1, nextClose: 2 }
    })
    const rows = text.trimEnd().split("\n")
    rows.splice(rows.length - 1, 0, extra)
    const report = await replayFile(scratch("extra.jsonl", `${rows.join("\n")}\n`))
    expect(report.identical).toBe(false)
    expect(report.unmatched).toEqual([{ line: rows.length - 1, method: "clock", args: null }])
  })

  it("reads may swap places: account and positions exchanged, quote symbols reordered, is no difference", async () => {
    const rows = readFileSync(fixture("drifted-sells-then-buys"), "utf8").trimEnd().split("\n")
    const account = rows.findIndex((l) => l.includes("\"method\":\"account\""))
    expect(rows[account + 1]).toContain("\"method\":\"positions\"")
    const swapped = [...rows]
    swapped[account] = rows[account + 1]!
    swapped[account + 1] = rows[account]!
    const quotes = swapped.findIndex((l) => l.includes("\"method\":\"quotes\""))
    const line = JSON.parse(swapped[quotes]!) as { args: { symbols: Array<string> } }
    expect(line.args.symbols.length).toBeGreaterThan(1)
    line.args.symbols.reverse()
    swapped[quotes] = JSON.stringify(line)
    const report = await replayFile(scratch("swapped.jsonl", `${swapped.join("\n")}\n`))
    expect([report.identical, report.divergence, report.unmatched, report.differences]).toEqual([true, null, [], []])
    // A write is a barrier: a read recorded after the first order cannot be answered before it.
    const write = rows.findIndex((l) => l.includes("\"method\":\"placeOrder\""))
    const later = rows.findIndex((l, i) => i > write && l.includes("\"method\":\"account\""))
    const early = [...rows.slice(0, write), rows[later]!, ...rows.slice(write).filter((_, i) => i + write !== later)]
    const moved = await replayFile(scratch("read-before-write.jsonl", `${early.join("\n")}\n`))
    expect(moved.identical).toBe(false)
  })

  it("an order update recorded before its placeOrder answer (the venue was faster than the answer) is no difference", async () => {
    const rows = readFileSync(fixture("plain-from-cash"), "utf8").trimEnd().split("\n")
    const place = rows.findIndex((l) => l.includes("\"method\":\"placeOrder\""))
    const id = (JSON.parse(rows[place]!) as { args: { clientOrderId: string } }).args.clientOrderId
    const fill = rows.findIndex((l) =>
      l.includes("\"type\":\"update\"") && l.includes("\"kind\":\"fill\"") && l.includes(id)
    )
    expect(fill).toBeGreaterThan(place)
    const t = (JSON.parse(rows[place]!) as { t: number }).t
    const update = JSON.parse(rows[fill]!) as { t: number }
    update.t = t
    const early = [
      ...rows.slice(0, place),
      JSON.stringify(update),
      ...rows.slice(place).filter((_, i) => i + place !== fill)
    ]
    const report = await replayFile(scratch("early-fill.jsonl", `${early.join("\n")}\n`))
    expect([report.identical, report.divergence, report.differences]).toEqual([true, null, []])
    expect(report.replayed!.orders.every((o) => o.status === "filled")).toBe(true)
  })

  it("polls are timing: a recorded poll not made, or an extra one, is no difference", async () => {
    const rows = readFileSync(fixture("settlement-timeout"), "utf8").trimEnd().split("\n")
    const polls = rows.flatMap((l, i) => (l.includes("\"method\":\"getOrder\"") ? [i] : []))
    expect(polls.length).toBeGreaterThan(1)
    // One fewer poll recorded: the program's extra poll gets the latest recorded answer.
    const fewer = rows.filter((_, i) => i !== polls[0])
    const a = await replayFile(scratch("fewer-polls.jsonl", `${fewer.join("\n")}\n`))
    expect([a.identical, a.divergence, a.unmatched]).toEqual([true, null, []])
    // One more poll recorded: skipped when the program moves past it.
    const more = [...rows.slice(0, polls[0]! + 1), rows[polls[0]!]!, ...rows.slice(polls[0]! + 1)]
    const b = await replayFile(scratch("more-polls.jsonl", `${more.join("\n")}\n`))
    expect([b.identical, b.divergence, b.unmatched]).toEqual([true, null, []])
    // A write is still strict: dropping a recorded placeOrder is a divergence.
    const write = rows.findIndex((l) => l.includes("\"method\":\"placeOrder\""))
    const c = await replayFile(scratch("no-write.jsonl", `${rows.filter((_, i) => i !== write).join("\n")}\n`))
    expect(c.identical).toBe(false)
    expect(c.divergence?.made.method).toBe("placeOrder")
  })

  it("--json prints one object with the verdict", async () => {
    const dir = mkdtempSync(join(tmp, "json-"))
    const cli = await runCli(["replay", fixture("rejected-order"), "--json"], { cwd: dir })
    expect(cli.code).toBe(0)
    const report = JSON.parse(cli.stdout) as ReplayReport
    expect(report.identical).toBe(true)
    expect(report.header.account).toBe("rejected-order")
  })
})

describe("bad session files", () => {
  const original = readFileSync(fixture("plain-from-cash"), "utf8")

  it("a last line cut short is reported with its number, and the rest is replayed", async () => {
    const cut = original.slice(0, original.trimEnd().lastIndexOf("\n") + 40)
    const file = scratch("cut.jsonl", cut)
    const total = original.trimEnd().split("\n").length
    const cli = await runCli(["replay", file], { cwd: join(file, "..") })
    expect(cli.stdout).toContain(`line ${total} is cut short`)
    // Only the outcome line was lost: every call is still there, so the replay is identical.
    expect(cli.code).toBe(0)
    const report = await replayFile(file)
    expect(report.truncatedLine).toBe(total)
    expect(report.recorded).toBeNull()
  })

  it("a recording cut in the middle of the run replays up to the cut and says where it ended", async () => {
    const rows = original.split("\n")
    const at = rows.findIndex((l) => l.includes("\"placeOrder\""))
    const file = scratch("crash.jsonl", `${rows.slice(0, at).join("\n")}\n${rows[at]!.slice(0, 50)}`)
    const cli = await runCli(["replay", file], { cwd: join(file, "..") })
    expect(cli.code).toBe(1)
    expect(cli.stdout).toContain(`line ${at + 1} is cut short`)
    expect(cli.stdout).toContain("diverged after the last recorded call: the program called placeOrder")
  })

  const exit2 = async (name: string, text: string, expected: RegExp) => {
    const file = scratch(name, text)
    const cli = await runCli(["replay", file], { cwd: join(file, "..") })
    expect(cli.code).toBe(2)
    expect(singleLine(cli.stderr)).toMatch(expected)
    expect(cli.stdout).toBe("")
  }

  it("an unknown format version: exit 2, one line", () =>
    exit2(
      "v9.jsonl",
      original.replace("\"version\":1", "\"version\":9"),
      /v9\.jsonl: line 1: unknown session format version 9 \(this Keel reads version 1\)$/
    ))

  it("a line that is not JSON: exit 2, one line naming it", () => {
    const rows = original.split("\n")
    rows[3] = "this is not json"
    return exit2("garbage.jsonl", rows.join("\n"), /garbage\.jsonl: line 4: not a JSON object/)
  })

  it("no header: exit 2", () =>
    exit2(
      "headless.jsonl",
      original.split("\n").slice(1).join("\n"),
      /headless\.jsonl: line 1: expected a keel-session header/
    ))

  it("an empty file: exit 2", () =>
    exit2("empty.jsonl", "", /empty\.jsonl: line 1: expected a session header, got an empty file/))

  it("a call with a broken decimal: exit 2 naming line, method and field", () =>
    exit2(
      "bad-decimal.jsonl",
      original.replace("\"cash\":\"100000\"", "\"cash\":\"lots\""),
      /line 2: account result: cash: expected a decimal, got "lots"/
    ))

  it("a header whose policy is not valid input: exit 2, one line naming the file and the field", () =>
    exit2(
      "bad-policy.jsonl",
      original.replace("\"cashReserve\":0.01", "\"cashReserve\":\"lots\""),
      /^[^\n]*bad-policy\.jsonl: the header's policy: cashReserve: expected a fraction .*, got "lots"$/
    ))

  it("a header whose targets are not valid input: exit 2, one line naming the file and the weight", () =>
    exit2(
      "bad-targets.jsonl",
      original.replace("\"symbol\":\"BND\",\"weight\":\"0.25\"", "\"symbol\":\"BND\",\"weight\":\"-1\""),
      /^[^\n]*bad-targets\.jsonl: the header's targets: \[0\]\.weight: expected a fraction .*, got "-1"$/
    ))

  it("a header whose poll interval is 0 (a replay that would never end): exit 2, one line naming the field", () =>
    exit2(
      "poll-0.jsonl",
      original.replace("\"pollIntervalMillis\":5000", "\"pollIntervalMillis\":0"),
      /^[^\n]*poll-0\.jsonl: line 1: run\.pollIntervalMillis: expected a number of milliseconds above 0, got 0$/
    ))

  it("a header whose fill timeout is negative: exit 2, one line naming the field", () =>
    exit2(
      "timeout.jsonl",
      original.replace("\"fillTimeoutMillis\":60000", "\"fillTimeoutMillis\":-1"),
      /^[^\n]*timeout\.jsonl: line 1: run\.fillTimeoutMillis: expected a number of milliseconds above 0, got -1$/
    ))

  it("a header whose start is outside a Date's range: exit 2, one line naming the field, no stack trace", () =>
    exit2(
      "started.jsonl",
      original.replace(/"startedAt":\d+/, "\"startedAt\":-1e20"),
      /^[^\n]*started\.jsonl: line 1: startedAt: expected epoch milliseconds \(a whole number from 0 to 8\.64e15\), got -10{20}$/
    ))

  it.each([
    [
      "a reserve of 5 (500%)",
      "\"cashReserve\":0.01",
      "\"cashReserve\":5",
      /the header's policy: cashReserve: expected /
    ],
    [
      "targets that are not targets",
      /"targets":\[[^\]]*\]/,
      "\"targets\":\"hello\"",
      /the header's targets: expected a list/
    ],
    [
      "no targets at all",
      /"targets":\[[^\]]*\]/,
      "\"targets\":[]",
      /the header's targets: expected at least one target/
    ],
    ["a symbol with a NUL", "\"symbol\":\"BND\",\"weight\"", "\"symbol\":\"B\\u0000D\",\"weight\"", /got "B\\u0000D"$/]
  ])(
    "a header with %s is unreadable (exit 2), never \"different\"",
    (_name, from, to, expected) => exit2("header.jsonl", original.replace(from, to), expected)
  )

  it("a session file above the input size limit: exit 2 before it is parsed", async () => {
    const file = scratch("big.jsonl", original)
    const cli = await runCli(["replay", file], { cwd: join(file, ".."), env: { KEEL_MAX_INPUT_MB: "0.001" } })
    expect(cli.code).toBe(2)
    expect(singleLine(cli.stderr)).toMatch(
      /big\.jsonl: expected a file of at most 1048 bytes \(KEEL_MAX_INPUT_MB sets the limit\), got/
    )
  })

  it("a missing file: exit 2", async () => {
    const cli = await runCli(["replay", join(tmp, "nope.jsonl")], { cwd: tmp })
    expect(cli.code).toBe(2)
    expect(singleLine(cli.stderr)).toMatch(/nope\.jsonl: cannot read the session file: no such file$/)
  })
})

describe("a replay never writes", () => {
  it("leaves its working directory as it found it: no store, no artifacts, no broker database", async () => {
    const dir = mkdtempSync(join(tmp, "quiet-"))
    copyFileSync(fixture("drifted-sells-then-buys"), join(dir, "session.jsonl"))
    const cli = await runCli(["replay", "session.jsonl"], { cwd: dir })
    expect(cli.code).toBe(0)
    expect(readdirSync(dir)).toEqual(["session.jsonl"])
  })
})
