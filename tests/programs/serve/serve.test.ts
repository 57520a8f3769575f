/**
 * `rebalance serve` as a real process on 127.0.0.1 (port 0), with the example paper account in a
 * temp directory: keel.yaml's serve block checked before anything starts; signed triggers start
 * runs, refused ones start nothing, a repeated key starts nothing (also after a restart); the read
 * endpoints and their token; SIGTERM during a run stops the service with exit 0 and no run left
 * `running` in the store.
 */
import { DatabaseSync } from "node:sqlite"
import { afterAll, describe, expect, it } from "vitest"
import type { AccountsDocument, Refusal, TriggerAnswer } from "../../../src/programs/serve/documents.ts"
import { sign } from "../../../src/programs/serve/signature.ts"
import { type Background, startCli } from "../../support/background.ts"
import {
  firstAccount,
  type HistoryJson,
  singleLine,
  type StatusJson,
  type Workspace,
  workspace
} from "../../support/cli.ts"

// The service reads its secrets from the environment it inherits from this test process.
const SECRET = "trigger-secret-for-tests"
const TOKEN = "read-token-for-tests"
process.env["KEEL_TEST_TRIGGER_SECRET"] = SECRET
process.env["KEEL_TEST_READ_TOKEN"] = TOKEN

const workspaces: Array<Workspace> = []
const running: Array<Background> = []
afterAll(async () => {
  await Promise.all(running.map((b) => b.stop("SIGKILL")))
  for (const ws of workspaces) ws.cleanup()
})

/** The example account (as many runs a day as asked), with `serve` and `schedules` as given. */
const serveWorkspace = (serve: unknown, more: Record<string, unknown> = {}): Workspace => {
  const ws = workspace("keel-serve-")
  workspaces.push(ws)
  ws.editConfig((config) => {
    config.guards = { oncePerDay: false }
    if (serve !== undefined) config["serve"] = serve
    Object.assign(config, more)
  })
  return ws
}

const TRIGGERS = { secretEnv: "KEEL_TEST_TRIGGER_SECRET", mode: "execute" }

/** Starts `serve`; resolves with its base URL once it listens (its first stdout line). */
const startServe = async (ws: Workspace): Promise<{ base: string; service: Background }> => {
  const service = startCli(["serve"], ws.dir)
  running.push(service)
  const [first] = await service.lines(1)
  const base = /^serving on (http:\/\/127\.0\.0\.1:\d+)$/.exec(first ?? "")?.[1]
  if (base === undefined) throw new Error(`unexpected first line: ${first}`)
  return { base, service }
}

/** What the service answers: JSON, as the documents in src/programs/serve/documents.ts encode it. */
interface Answer<A> {
  readonly status: number
  readonly body: A
}
type TriggerJson = typeof TriggerAnswer.Encoded
type AccountsJson = typeof AccountsDocument.Encoded
type RefusalJson = typeof Refusal.Encoded

const request = async <A = RefusalJson>(url: string, init?: RequestInit): Promise<Answer<A>> => {
  const response = await fetch(url, init)
  const text = await response.text()
  return { status: response.status, body: (text === "" ? undefined : JSON.parse(text)) as A }
}

/** A trigger signed with `secret` at `timestamp` (Unix seconds; default now). */
const trigger = (base: string, body: string, options: { secret?: string; timestamp?: number } = {}) => {
  const timestamp = String(options.timestamp ?? Math.floor(Date.now() / 1000))
  return request<TriggerJson & RefusalJson>(`${base}/v1/trigger`, {
    method: "POST",
    body,
    headers: {
      "content-type": "application/json",
      "x-keel-timestamp": timestamp,
      "x-keel-signature": sign(options.secret ?? SECRET, timestamp, body)
    }
  })
}

const bearer = { authorization: `Bearer ${TOKEN}` }
const runsOf = async (base: string): Promise<HistoryJson> =>
  (await request<HistoryJson>(`${base}/v1/runs?account=demo`, { headers: bearer })).body

/** Polls until `ready` holds of the runs (every 100 ms, up to 20 s). */
const until = async (base: string, ready: (runs: HistoryJson) => boolean): Promise<HistoryJson> => {
  for (let i = 0; i < 200; i++) {
    const runs = await runsOf(base)
    if (ready(runs)) return runs
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  throw new Error(`runs never got there: ${JSON.stringify(await runsOf(base))}`)
}

describe("rebalance serve: keel.yaml", () => {
  it("refuses what it cannot serve in one line, exit 2, before listening", async () => {
    const cases: ReadonlyArray<readonly [unknown, Record<string, unknown>, RegExp]> = [
      [undefined, {}, /serve: expected a serve block/],
      [{ port: 0 }, { schedules: [{ cron: "61 9 * * 1-5", all: true, mode: "execute" }] }, /schedules\[0\]\.cron: /],
      [{ port: 0 }, { schedules: [{ cron: "35 9 * * 1-5", accounts: ["nobody"], mode: "preview" }] }, /nobody/],
      [{ port: 0, host: "0.0.0.0" }, {}, /serve\.tokenEnv: expected .*bearer token/]
    ]
    for (const [serve, more, expected] of cases) {
      const result = await serveWorkspace(serve, more).run(["serve"])
      expect(result.code).toBe(2)
      expect(singleLine(result.stderr)).toMatch(expected)
      expect(result.stdout).toBe("")
    }
  }, 30_000)
})

describe("rebalance serve: triggers and read endpoints", () => {
  it(
    "starts runs for a signed trigger once per key (also after a restart), refuses the rest, guards reads with the token",
    async () => {
      const ws = serveWorkspace({ port: 0, tokenEnv: "KEEL_TEST_READ_TOKEN", triggers: TRIGGERS })
      let { base, service } = await startServe(ws)
      expect(await request(`${base}/healthz`)).toMatchObject({ status: 200, body: { ok: true } })

      const body = JSON.stringify({ accounts: ["demo"], reason: "model published", idempotencyKey: "pub-1" })
      const unsigned = await request(`${base}/v1/trigger`, { method: "POST", body })
      expect(unsigned.status).toBe(401)
      expect((await trigger(base, body, { secret: "wrong" })).status).toBe(401)
      expect((await trigger(base, body, { timestamp: Math.floor(Date.now() / 1000) - 301 })).status).toBe(401)
      const badBody = await trigger(base, JSON.stringify({ accounts: ["demo"], idempotencyKey: "x" }))
      expect(badBody.status).toBe(400)
      expect(badBody.body.error).toMatch(/^reason: expected this required field/)
      expect(badBody.body.error).not.toContain("\n")
      const unknown = await trigger(base, JSON.stringify({ group: "nope", reason: "r", idempotencyKey: "x" }))
      expect(unknown.status).toBe(400)
      expect(unknown.body.error).toMatch(/group named "nope"/)
      expect(await runsOf(base)).toEqual([])

      const first = await trigger(base, body)
      expect(first.status).toBe(202)
      expect(first.body.fleetId).toMatch(/^fleet-/)
      expect(first.body).toEqual({ fleetId: first.body.fleetId, accounts: ["demo"], duplicate: false })
      const [done] = await until(base, (runs) => runs.length === 1 && runs[0]!.status === "completed")
      expect(done).toMatchObject({ account: "demo", mode: "execute", status: "completed" })
      const repeated = await trigger(base, body)
      expect(repeated).toMatchObject({ status: 200, body: { ...first.body, duplicate: true } })

      // Reads: the token is required when one is configured, even on 127.0.0.1.
      for (const path of ["/v1/runs", `/v1/runs/${done!.id}`, "/v1/accounts"]) {
        expect((await request(`${base}${path}`)).status).toBe(401)
        expect((await request(`${base}${path}`, { headers: { authorization: "Bearer nope" } })).status).toBe(401)
      }
      const status = await request<StatusJson>(`${base}/v1/runs/${done!.id}`, { headers: bearer })
      expect(status.body.run).toEqual(done)
      expect(status.body.steps.at(-1)?.step).toBe("done")
      expect((await request(`${base}/v1/runs/no-such-run`, { headers: bearer })).status).toBe(404)
      const accounts = await request<AccountsJson>(`${base}/v1/accounts`, { headers: bearer })
      expect(accounts.body).toEqual([{
        name: "demo",
        broker: "paper",
        groups: [],
        lastRun: { id: done!.id, status: "completed", finishedAt: done!.finishedAt },
        nextScheduled: null
      }])

      expect((await service.stop("SIGTERM")).code).toBe(0)
      ;({ base, service } = await startServe(ws))
      expect(await trigger(base, body)).toMatchObject({ status: 200, body: { ...first.body, duplicate: true } })
      await new Promise((resolve) => setTimeout(resolve, 500))
      expect(await runsOf(base)).toEqual([done])
      const stopped = await service.stop("SIGTERM")
      expect(stopped.code).toBe(0)
      expect(stopped.stdout.split("\n")).toHaveLength(2) // `serving on …` and nothing else on stdout
    },
    60_000
  )

  it(
    "without a token answers reads on 127.0.0.1 only, and without a triggers block has no trigger endpoint",
    async () => {
      const ws = serveWorkspace({ port: 0 }, {
        schedules: [{ cron: "35 9 * * 1-5", all: true, mode: "preview", catchUp: false }]
      })
      const { base, service } = await startServe(ws)
      expect(await request(`${base}/v1/runs`)).toMatchObject({ status: 200, body: [] })
      const next = (await request<AccountsJson>(`${base}/v1/accounts`)).body[0]?.nextScheduled
      expect(next?.mode).toBe("preview")
      expect(new Date(next?.at ?? 0).toISOString()).toMatch(/T1[34]:35:00\.000Z$/)
      expect((await trigger(base, JSON.stringify({ all: true }))).status).toBe(404)
      expect((await service.stop("SIGTERM")).code).toBe(0)
    },
    30_000
  )
})

describe("rebalance serve: shutdown", () => {
  it(
    "on SIGTERM while a run waits for slow fills: stops it after the grace period, exits 0, leaves no run running",
    async () => {
      const ws = serveWorkspace({ port: 0, tokenEnv: "KEEL_TEST_READ_TOKEN", triggers: TRIGGERS, shutdownSeconds: 1 })
      ws.editConfig((config) => {
        firstAccount(config).broker["fillLatencySeconds"] = 60
      })
      const { base, service } = await startServe(ws)
      const body = JSON.stringify({ accounts: ["demo"], reason: "slow", idempotencyKey: "slow-1" })
      expect((await trigger(base, body)).status).toBe(202)
      await until(base, (runs) => runs[0]?.step.endsWith("-wait") === true)
      const stopped = await service.stop("SIGTERM")
      expect(stopped.code).toBe(0)
      expect(stopped.stderr).toContain("the grace period is over")
      expect(stopped.stderr).toMatch(/stopped\n$/)
      const db = new DatabaseSync(ws.path(".keel/keel.db"), { readOnly: true })
      try {
        const runs = db.prepare("SELECT status FROM runs").all() as Array<{ status: string }>
        expect(runs.map((r) => r.status)).toEqual(["aborted"])
      } finally {
        db.close()
      }
    },
    30_000
  )
})
