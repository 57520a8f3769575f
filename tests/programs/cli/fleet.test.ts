/**
 * Fleet runs (`rebalance run --all | --accounts | --group`) as real processes: three paper
 * accounts in one keel.yaml (real SQLite store and books files in a temp directory), one of
 * them broken or held by another run, so the others are seen to go on without it.
 */
import { mkdirSync, readFileSync } from "node:fs"
import { hostname } from "node:os"
import { join } from "node:path"
import { DatabaseSync } from "node:sqlite"
import { afterAll, describe, expect, it } from "vitest"
import type { FleetDocument } from "../../../src/programs/documents/fleet.ts"
import { sign } from "../../../src/programs/serve/signature.ts"
import { startCli } from "../../support/background.ts"
import {
  EXAMPLES,
  type HistoryJson,
  parseJson,
  singleLine,
  type StatusJson,
  type Workspace,
  workspace
} from "../../support/cli.ts"
import { listen } from "../../support/loopback.ts"

type FleetJson = typeof FleetDocument.Encoded

const workspaces: Array<Workspace> = []
afterAll(() => {
  for (const ws of workspaces) ws.cleanup()
})

/** alice and bob (group growth) and carol (group income), each a new paper account; carol's targets as given. */
const fleet = (carolTargets = "targets.csv"): Workspace => {
  const ws = workspace("keel-fleet-")
  workspaces.push(ws)
  ws.editConfig((config) => {
    const demo = config.accounts[0]!
    config.groups = { growth: ["alice", "bob"], income: ["carol"] }
    config.notifiers = ["console"]
    config.accounts = [
      { ...demo, name: "alice", broker: { ...demo.broker, startingCash: "100000" } },
      { ...demo, name: "bob", broker: { ...demo.broker, startingCash: "25000" } },
      { ...demo, name: "carol", broker: { ...demo.broker, startingCash: "7000" }, targets: carolTargets }
    ]
  })
  return ws
}

const EXECUTE = ["--execute", "--ignore-market-hours"]

describe("rebalance run --all", () => {
  it("runs every account, goes on past a broken one, and exits 3 with a table and one line per account", async () => {
    const ws = fleet("missing.csv")
    const result = await ws.run(["run", "--all", ...EXECUTE])
    expect(result.code).toBe(3)
    const rows = result.stdout.split("\n")
    expect(rows[0]).toMatch(
      /^account\s+status\s+placed\s+filled\s+cash before\s+cash after\s+drift before\s+drift after/
    )
    expect(rows[1]).toMatch(/^alice\s+completed\s+4\s+4\s+100000\s+/)
    expect(rows[2]).toMatch(/^bob\s+completed\s+4\s+4\s+25000\s+/)
    expect(rows[3]).toMatch(/^carol\s+error\s+-\s+-/)
    expect(result.stdout).toContain(`carol: ${ws.path("missing.csv")}: cannot read the targets file`)
    expect(result.stdout).toContain("2 of 3 accounts completed")
    // Without a terminal: one plain line per account as it ends, on stderr, and nothing else.
    const lines = result.stderr.trim().split("\n").sort()
    expect(lines).toHaveLength(3)
    expect(lines[0]).toMatch(
      /^alice: completed; orders placed 4, filled 4; cash 100000 → [\d.]+; drift 45\.00% → 0\.\d\d%$/
    )
    expect(lines[1]).toMatch(/^bob: completed; orders placed 4, filled 4/)
    expect(lines[2]).toMatch(/^carol: error: .*missing\.csv: cannot read the targets file/)
    // Each account's run is an ordinary run, in the shared store, with its own artifacts.
    for (const account of ["alice", "bob"]) {
      const history = parseJson<HistoryJson>((await ws.run(["history", "--account", account, "--json"])).stdout)
      expect(history.map((r) => [r.mode, r.status])).toEqual([["execute", "completed"]])
      expect(ws.files(`artifacts/${account}`).some((f) => f.endsWith("result.json"))).toBe(true)
    }
    expect(ws.exists("artifacts/carol")).toBe(false)
  }, 60_000)

  it("prints one JSON object with --json, entries in the config's order, and exits 0 when all complete", async () => {
    const ws = fleet()
    const result = await ws.run(["run", "--all", "--json", "--concurrency", "3", ...EXECUTE])
    expect(result.code).toBe(0)
    const document = parseJson<FleetJson>(result.stdout)
    expect(document).toMatchObject({ mode: "execute", accounts: 3, completed: 3 })
    expect(document.entries.map((e) => [e.account, e.status])).toEqual([
      ["alice", "completed"],
      ["bob", "completed"],
      ["carol", "completed"]
    ])
    for (const entry of document.entries) {
      const drift = entry.summary!.drift!
      // New accounts start all in cash: drift is the largest target weight; a filled run ends near the targets.
      expect(drift.before).toBe("0.45")
      expect(Number(drift.after)).toBeLessThan(0.02)
      expect(entry.artifacts).toMatch(new RegExp(`^artifacts/${entry.account}/`))
    }
    // A second fleet run right after finds every account at its targets: no order anywhere.
    const again = parseJson<FleetJson>((await ws.run(["run", "--all", "--json", ...EXECUTE])).stdout)
    expect(again.entries.map((e) => e.summary?.orders.placed)).toEqual([0, 0, 0])
  }, 60_000)

  it("runs a group or a list, and leaves a held account to its holder while the others run", async () => {
    const ws = fleet()
    const growth = parseJson<FleetJson>((await ws.run(["run", "--group", "growth", "--json"])).stdout)
    expect(growth.entries.map((e) => e.account)).toEqual(["alice", "bob"])
    const listed = parseJson<FleetJson>((await ws.run(["run", "--accounts", "carol, alice", "--json"])).stdout)
    expect(listed.entries.map((e) => e.account)).toEqual(["alice", "carol"])
    // bob's lease held by a live run of another process on this host (this test's own pid).
    const db = new DatabaseSync(ws.path(".keel/keel.db"))
    const now = Date.now()
    db.prepare(
      "UPDATE account_leases SET run_id = ?, pid = ?, host = ?, acquired_at = ?, heartbeat_at = ?, expires_at = ? WHERE account = ?"
    ).run("other-run", process.pid, hostname(), now, now, now + 3_600_000, "bob")
    db.close()
    const result = await ws.run(["run", "--all", "--json", ...EXECUTE])
    expect(result.code).toBe(3)
    const held = parseJson<FleetJson>(result.stdout)
    expect(held.entries.map((e) => e.status)).toEqual(["completed", "error", "completed"])
    expect(held.entries[1]!.reason).toMatch(/^account bob is being rebalanced by run other-run since /)
  }, 60_000)
})

describe("a fleet run's notifications", () => {
  it("sends a failed account at once and one digest at the end, in the config's order, with no secret", async () => {
    const TOKEN = "T0KEN-in-the-url-4f1c"
    const bodies: Array<{ readonly url: string; readonly body: string }> = []
    const server = await listen((req, res) => {
      let body = ""
      req.setEncoding("utf8").on("data", (chunk: string) => (body += chunk)).on("end", () => {
        bodies.push({ url: req.url ?? "", body })
        res.writeHead(200).end("ok")
      })
    })
    try {
      const ws = fleet("missing.csv")
      ws.editConfig((config) => {
        config["notifications"] = { channels: { chat: { kind: "slack", urlEnv: "KEEL_TEST_SLACK" } } }
      })
      const result = await ws.run(["run", "--all", "--json", ...EXECUTE], {
        KEEL_TEST_SLACK: `${server.base}/hooks/${TOKEN}`
      })
      expect(result.code).toBe(3)
      const texts = bodies.map((b) => (JSON.parse(b.body) as { text: string }).text)
      expect(texts).toHaveLength(2)
      // carol could not start: sent at once, before the digest.
      expect(texts[0]).toContain("carol")
      expect(texts[0]).toContain("missing.csv")
      // The digest: every account, in keel.yaml's order.
      const digest = texts[1]!
      expect(digest.indexOf("alice")).toBeGreaterThan(-1)
      expect(digest.indexOf("alice")).toBeLessThan(digest.indexOf("bob"))
      expect(digest.indexOf("bob")).toBeLessThan(digest.indexOf("carol"))
      for (const b of bodies) expect(b.body).not.toContain(TOKEN)
      expect(result.stdout + result.stderr).not.toContain(TOKEN)
      // Every delivery is recorded in the store, never with the URL.
      const db = new DatabaseSync(ws.path(".keel/keel.db"))
      const dump = JSON.stringify(db.prepare("SELECT * FROM notification_deliveries").all())
      db.close()
      expect(dump).toContain("\"delivered\"")
      expect(dump).not.toContain(TOKEN)
      // status shows the run's delivery: in the fleet's digest, to the chat channel.
      const alice = parseJson<FleetJson>(result.stdout).entries[0]!.summary!.runId
      const status = parseJson<StatusJson>((await ws.run(["status", alice, "--json"])).stdout)
      expect(status.notifications.map((d) => [d.channel, d.status, d.attempts])).toEqual([["chat", "delivered", 1]])
      expect(status.notifications[0]?.fleetId).toMatch(/^fleet-/)
    } finally {
      await server.close()
    }
  }, 60_000)
})

describe("the example fleet (examples/fleet/keel.yaml)", () => {
  it("previews its three accounts, and executes its growth group, from a fresh directory", async () => {
    const ws = workspace("keel-fleet-example-", [])
    workspaces.push(ws)
    const config = ["--config", join(EXAMPLES, "fleet/keel.yaml"), "--ignore-market-hours"]
    const preview = await ws.run(["run", "--all", ...config])
    expect(preview.code).toBe(0)
    expect(preview.stdout).toContain("3 of 3 accounts completed")
    const growth = await ws.run(["run", "--group", "growth", "--execute", "--json", ...config])
    expect(growth.code).toBe(0)
    const document = parseJson<FleetJson>(growth.stdout)
    expect(document.entries.map((e) => [e.account, e.status, e.summary?.orders.filled])).toEqual([
      ["alice", "completed", 4],
      ["bob", "completed", 4]
    ])
  }, 60_000)
})

describe("the example fleet served", () => {
  it("serves a signed trigger for its growth group (the example's port set to any free one)", async () => {
    const ws = workspace("keel-fleet-serve-")
    workspaces.push(ws)
    mkdirSync(ws.path("fleet"))
    ws.write(
      "fleet/keel.yaml",
      readFileSync(join(EXAMPLES, "fleet/keel.yaml"), "utf8").replace("port: 8787", "port: 0")
    )
    process.env["KEEL_TRIGGER_SECRET"] = "example-secret"
    const service = startCli(["serve", "--config", "fleet/keel.yaml"], ws.dir)
    try {
      const [first] = await service.lines(1)
      const base = /^serving on (http:\/\/127\.0\.0\.1:\d+)$/.exec(first ?? "")?.[1]
      expect(base).toBeDefined()
      const body = JSON.stringify({ group: "growth", reason: "model published", idempotencyKey: "model-1" })
      const timestamp = String(Math.floor(Date.now() / 1000))
      const answer = await fetch(`${base}/v1/trigger`, {
        method: "POST",
        body,
        headers: {
          "content-type": "application/json",
          "x-keel-timestamp": timestamp,
          "x-keel-signature": sign("example-secret", timestamp, body)
        }
      })
      expect(answer.status).toBe(202)
      expect(await answer.json()).toMatchObject({ accounts: ["alice", "bob"], duplicate: false })
      // The example's triggers preview: both runs complete, in the store, read back through the service.
      const deadline = Date.now() + 30_000
      let runs: HistoryJson = []
      while (runs.filter((r) => r.status === "completed").length < 2 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 200))
        runs = (await (await fetch(`${base}/v1/runs`)).json()) as HistoryJson
      }
      expect(runs.map((r) => [r.account, r.mode, r.status]).sort()).toEqual([
        ["alice", "preview", "completed"],
        ["bob", "preview", "completed"]
      ])
    } finally {
      await service.stop("SIGTERM")
    }
  }, 60_000)
})

describe("rebalance run: choosing the accounts", () => {
  const bad: ReadonlyArray<readonly [string, ReadonlyArray<string>, RegExp]> = [
    ["no account", [], /^rebalance run: expected --account NAME, --all, --accounts a,b or --group NAME$/],
    ["two choices", ["--all", "--group", "growth"], /^rebalance run: expected one of --all, --group, not both$/],
    [
      "an unknown group",
      ["--group", "nope"],
      /^keel\.yaml: groups: expected a group named "nope" \(known: growth, income\)$/
    ],
    ["an unknown account", ["--accounts", "alice,zed"], /^keel\.yaml: accounts: expected an account named "zed"/],
    ["an empty name", ["--accounts", "alice,,bob"], /^rebalance run: --accounts: expected account names/],
    ["--record on a fleet", ["--all", "--record", "s.jsonl"], /^rebalance run: --record records one account's run/],
    [
      "--concurrency for one account",
      ["--account", "alice", "--concurrency", "2"],
      /^rebalance run: --concurrency is for a fleet run/
    ],
    ["--concurrency 0", ["--all", "--concurrency", "0"], /concurrency/]
  ]
  it.each(bad)("refuses %s in one line, exit 2, creating nothing", async (_, args, message) => {
    const ws = fleet()
    const result = await ws.run(["run", ...args])
    expect(result.code).toBe(2)
    expect(singleLine(result.stderr)).toMatch(message)
    expect(result.stdout).toBe("")
    expect(ws.exists(".keel")).toBe(false)
  })

  it("refuses a group naming an unknown account, or one twice, naming the entry", async () => {
    const ws = fleet()
    ws.editConfig((config) => {
      config.groups = { growth: ["alice", "zed"] }
    })
    const unknown = await ws.run(["run", "--all"])
    expect(unknown.code).toBe(2)
    expect(singleLine(unknown.stderr)).toBe("keel.yaml: groups.growth[1]: expected the name of an account, got \"zed\"")
    ws.editConfig((config) => {
      config.groups = { growth: ["alice", "alice"] }
      config.fleet = { concurrency: 0 }
    })
    const twice = await ws.run(["run", "--all"])
    expect(twice.code).toBe(2)
    expect(singleLine(twice.stderr)).toMatch(/^keel\.yaml: fleet\.concurrency: expected a whole number from 1 to 64/)
    expect(ws.exists(".keel")).toBe(false)
  })
})
