/**
 * The Recording layer: every call, answer and update lands in the session file as it
 * happens, secrets never do, and an existing file is never overwritten.
 */
import { afterAll, describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Result from "effect/Result"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { Broker } from "../../../../src/effects/Broker.ts"
import * as Paper from "../../../../src/effects/broker/paper/layer.ts"
import * as Recording from "../../../../src/effects/broker/recording/layer.ts"
import { parseSession } from "../../../../src/effects/broker/recording/session.ts"
import { REDACTED } from "../../../../src/effects/secrets.ts"
import { Decimal } from "../../../../src/kernel/decimal.ts"
import { defaultPolicy } from "../../../../src/kernel/rebalance/policy.ts"
import { validateTargets } from "../../../../src/kernel/rebalance/targets.ts"
import { replaySession } from "../../../../src/programs/cli/replay.ts"
import { storeLayer } from "../../../../src/programs/layers.ts"
import type { RunRequest } from "../../../../src/programs/run/rebalanceAccount.ts"
import { EXAMPLES, runCli, singleLine } from "../../../support/cli.ts"
import { drive, recordingNotifier } from "../../../support/program.ts"

const root = Fs.mkdtempSync(Path.join(Os.tmpdir(), "keel-recording-test-"))
afterAll(() => Fs.rmSync(root, { recursive: true, force: true }))
let counter = 0
const fresh = () => {
  const dir = Path.join(root, `case-${++counter}`)
  Fs.mkdirSync(dir, { recursive: true })
  return dir
}

const SECRET_KEY = "sk-live-9f8e7d6c5b4a"
const ACCOUNT_NUMBER = "PA3XKJ7Q2Z"

const paper: Paper.PaperConfig = {
  account: "rec",
  startingCash: "10000",
  quotes: { kind: "static", quotes: [{ symbol: "AAPL", bid: "99.90", ask: "100.00", last: "99.95" }] }
}

const header = (targets: unknown, policy: unknown) => ({
  keel: "test",
  account: "rec",
  run: {
    execute: true,
    ignoreMarketHours: false,
    onOpenOrders: "cancel" as const,
    fillTimeoutMillis: 60000,
    pollIntervalMillis: 5000
  },
  policy,
  targets
})

const recorded = (file: string, dir: string, secrets: ReadonlyArray<string> = []) =>
  Recording.layer({ file, header: header({ AAPL: "0.5" }, {}), secrets: secrets.map((s) => Redacted.make(s)) }).pipe(
    Layer.provide(Paper.layer(paper).pipe(Layer.provide(storeLayer(Path.join(dir, "keel.db")))))
  )

const fileLines = (file: string) => Fs.readFileSync(file, "utf8").split("\n").filter((l) => l !== "")

describe("Recording", () => {
  it.effect("writes each answer when it arrives: the file holds the header and every call so far while the run goes on", () =>
    Effect.gen(function*() {
      const dir = fresh()
      const file = Path.join(dir, "s.jsonl")
      yield* Effect.gen(function*() {
        const broker = yield* Broker
        expect(fileLines(file).length).toBe(1)
        yield* broker.account
        expect(fileLines(file).length).toBe(2)
        yield* broker.quotes(["AAPL"])
        const placed = yield* broker.placeOrder({
          clientOrderId: "c-1",
          symbol: "AAPL",
          side: "buy",
          quantity: new Decimal("3"),
          type: "market",
          timeInForce: "day"
        })
        expect(placed.clientOrderId).toBe("c-1")
        const lines = fileLines(file).map((l) => JSON.parse(l) as Record<string, unknown>)
        expect(lines.map((l) => l["method"] ?? l["type"])).toEqual(["header", "account", "quotes", "placeOrder"])
        expect(lines[3]!["args"]).toMatchObject({ clientOrderId: "c-1", quantity: "3" })
        expect(lines[3]!["result"]).toMatchObject({ clientOrderId: "c-1", status: "accepted" })
      }).pipe(Effect.provide(recorded(file, dir)))
      // What was written reads back as a session.
      const session = parseSession(file, Fs.readFileSync(file, "utf8"))
      expect(Result.isSuccess(session) && session.success.calls.length).toBe(3)
    }))

  it.effect("a typed error is recorded as such", () =>
    Effect.gen(function*() {
      const dir = fresh()
      const file = Path.join(dir, "s.jsonl")
      const error = yield* Effect.flip(Effect.flatMap(Broker, (b) => b.getOrder("no-such-order"))).pipe(
        Effect.provide(recorded(file, dir))
      )
      expect(error._tag).toBe("OrderNotFound")
      const last = JSON.parse(fileLines(file).at(-1)!) as Record<string, unknown>
      expect(last).toMatchObject({
        method: "getOrder",
        args: { id: "no-such-order" },
        error: { _tag: "OrderNotFound", id: "no-such-order" }
      })
    }))

  it.effect("secrets never reach the file: configured values anywhere in a line, and credential-named fields", () =>
    Effect.gen(function*() {
      const dir = fresh()
      const file = Path.join(dir, "s.jsonl")
      const layer = Recording.layer({
        file,
        header: header({ AAPL: "0.5" }, { note: `account ${ACCOUNT_NUMBER}`, apiKey: "plain-key-in-config" }),
        secrets: [Redacted.make(SECRET_KEY), Redacted.make(ACCOUNT_NUMBER)]
      }).pipe(Layer.provide(Paper.layer(paper).pipe(Layer.provide(storeLayer(Path.join(dir, "keel.db"))))))
      yield* Effect.gen(function*() {
        const broker = yield* Broker
        // The account number and the key travel in arguments and come back in the broker's error.
        yield* Effect.flip(broker.getOrder(`${ACCOUNT_NUMBER}/${SECRET_KEY}`))
        yield* Effect.flip(broker.getOrderByClientId(SECRET_KEY))
      }).pipe(Effect.provide(layer))
      const text = Fs.readFileSync(file, "utf8")
      expect(text).not.toContain(SECRET_KEY)
      expect(text).not.toContain(ACCOUNT_NUMBER)
      expect(text).not.toContain("plain-key-in-config")
      expect(text).toContain(`"note":"account ${REDACTED}"`)
      expect(text).toContain(`"apiKey":"${REDACTED}"`)
      expect(text).toContain(`"id":"${REDACTED}/${REDACTED}"`)
    }))

  it.effect("a sell of the whole position goes out as closing it (closesPosition), others do not; the session replays", () =>
    Effect.gen(function*() {
      const dir = fresh()
      const db = Path.join(dir, "keel.db")
      const two: Paper.PaperConfig = {
        ...paper,
        quotes: {
          kind: "static",
          quotes: [
            { symbol: "AAPL", bid: "99.90", ask: "100.00", last: "99.95" },
            { symbol: "MSFT", bid: "49.90", ask: "50.00", last: "49.95" }
          ]
        }
      }
      const run = (targets: Record<string, string>): RunRequest => ({
        account: "rec",
        targets: Result.getOrThrow(validateTargets(targets, defaultPolicy)),
        policy: defaultPolicy,
        execute: true,
        ignoreMarketHours: false,
        onOpenOrders: "cancel",
        fillTimeout: "60 seconds",
        pollInterval: "5 seconds"
      })
      // Holdings first (not recorded): 40 AAPL, 40 MSFT.
      const seeded = yield* drive(run({ AAPL: "0.4", MSFT: "0.2" })).pipe(
        Effect.provide(Layer.mergeAll(Paper.layer(two), recordingNotifier).pipe(Layer.provideMerge(storeLayer(db))), {
          local: true
        })
      )
      expect(seeded.run.status).toBe("completed")
      const file = Path.join(dir, "s.jsonl")
      const targets = { AAPL: "0.2" }
      const request = run(targets)
      const layer = Layer.mergeAll(
        Recording.layer({ file, header: header(targets, {}), secrets: [] }).pipe(
          Layer.provide(Paper.layer(two))
        ),
        recordingNotifier
      ).pipe(Layer.provideMerge(storeLayer(db)))
      const outcome = yield* drive(request).pipe(Effect.provide(layer, { local: true }))
      expect(outcome.run.status).toBe("completed")
      const placed = fileLines(file)
        .map((l) =>
          JSON.parse(l) as {
            method?: string
            args?: { symbol: string; side: string; quantity: string; closesPosition?: boolean }
          }
        )
        .filter((l) => l.method === "placeOrder")
        .map((l) => [l.args!.symbol, l.args!.side, l.args!.quantity, l.args!.closesPosition ?? false])
      expect(placed).toEqual([
        ["AAPL", "sell", "20", false],
        ["MSFT", "sell", "40", true]
      ])
      const session = parseSession(file, Fs.readFileSync(file, "utf8"))
      if (Result.isFailure(session)) throw new Error(session.failure)
      const replayed = yield* replaySession(session.success)
      expect([replayed.identical, replayed.divergence, replayed.differences]).toEqual([true, null, []])
    }))

  it.effect("never overwrites an existing file", () =>
    Effect.gen(function*() {
      const dir = fresh()
      const file = Path.join(dir, "s.jsonl")
      Fs.writeFileSync(file, "evidence\n")
      const error = yield* Effect.flip(Effect.provide(Effect.void, recorded(file, dir)))
      expect(error._tag).toBe("InputFileError")
      expect(error.message).toBe(
        `${file}: cannot record: the file already exists (a recording is never overwritten; choose a new name)`
      )
      expect(Fs.readFileSync(file, "utf8")).toBe("evidence\n")
    }))
})

describe("rebalance run --record", () => {
  const setup = () => {
    const dir = fresh()
    for (const f of ["keel.yaml", "targets.csv", "policy.yaml", "quotes.csv"]) {
      Fs.copyFileSync(Path.join(EXAMPLES, f), Path.join(dir, f))
    }
    return dir
  }

  it("records a run that replays identically", async () => {
    const dir = setup()
    const run = await runCli(["run", "--account", "demo", "--execute", "--record", "sessions/today.jsonl"], {
      cwd: dir
    })
    expect(run.code).toBe(0)
    const lines = fileLines(Path.join(dir, "sessions/today.jsonl")).map((l) => JSON.parse(l) as Record<string, unknown>)
    expect(lines[0]).toMatchObject({
      type: "header",
      format: "keel-session",
      version: 1,
      account: "demo",
      broker: "paper"
    })
    expect(lines.at(-1)).toMatchObject({ type: "outcome", status: "completed" })
    const replay = await runCli(["replay", "sessions/today.jsonl"], { cwd: dir })
    expect(replay.code).toBe(0)
    expect(replay.stdout).toMatch(/^sessions\/today\.jsonl: identical/)
  })

  it("refuses an existing file before any broker call: exit 2, one line", async () => {
    const dir = setup()
    Fs.writeFileSync(Path.join(dir, "old.jsonl"), "x\n")
    const run = await runCli(["run", "--account", "demo", "--execute", "--record", "old.jsonl"], { cwd: dir })
    expect(run.code).toBe(2)
    expect(singleLine(run.stderr)).toBe(
      "old.jsonl: cannot record: the file already exists (a recording is never overwritten; choose a new name)"
    )
    expect(Fs.existsSync(Path.join(dir, "artifacts"))).toBe(false)
  })
})
