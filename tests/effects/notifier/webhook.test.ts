/**
 * The webhook notifier end to end: a real HTTP server on 127.0.0.1 (ephemeral port) that
 * records every request, and the CLI as a real process whose keel.yaml names the
 * environment variable holding the URL. The URL embeds a token that must never leave the
 * environment: not on stdout/stderr, not in the artifacts, not in the SQLite file.
 */
import { readFileSync } from "node:fs"
import { createServer, type IncomingHttpHeaders } from "node:http"
import type { AddressInfo } from "node:net"
import { afterAll, describe, expect, it } from "vitest"
import {
  type CliResult,
  type OutcomeJson,
  parseJson,
  singleLine,
  type SummaryJson,
  type Workspace,
  workspace
} from "../../support/cli.ts"

const TOKEN = "SECRET-TOKEN-123"
const ENV = "KEEL_TEST_WEBHOOK"

interface Received {
  readonly method: string
  readonly url: string
  readonly headers: IncomingHttpHeaders
  readonly body: string
}

type Answer = { readonly status: number } | "hang"

/** A real server that records requests and answers each with `answer` (or never). */
const startServer = async (answer: Answer) => {
  const received: Array<Received> = []
  const server = createServer((req, res) => {
    let body = ""
    req.setEncoding("utf8")
    req.on("data", (chunk: string) => {
      body += chunk
    })
    req.on("end", () => {
      received.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers, body })
      if (answer === "hang") return
      res.writeHead(answer.status, { "content-type": "application/json" })
      res.end(JSON.stringify({ ok: answer.status < 300 }))
    })
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const { port } = server.address() as AddressInfo
  const close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections()
      server.close(() => resolve())
    })
  return { url: `http://127.0.0.1:${port}/hook/${TOKEN}`, port, received, close }
}

const cleanups: Array<() => unknown> = []
afterAll(async () => {
  for (const cleanup of cleanups) await cleanup()
})

/**
 * The example account with `notifiers: [console, { webhook: { urlEnv: KEEL_TEST_WEBHOOK } }]`, each
 * delivery tried twice, 0.2 s apart (`notifications.retry`).
 */
const webhookWorkspace = (timeoutSeconds?: number): Workspace => {
  const ws = workspace("keel-webhook-")
  cleanups.push(ws.cleanup)
  ws.editConfig((c) => {
    c.notifiers = ["console", {
      webhook: timeoutSeconds === undefined ? { urlEnv: ENV } : { urlEnv: ENV, timeoutSeconds }
    }]
    c["notifications"] = { channels: {}, retry: { attempts: 2, delaySeconds: 0.2 } }
  })
  return ws
}

const run = (ws: Workspace, url: string, ...extra: Array<string>): Promise<CliResult> =>
  ws.run(["run", "--account", "demo", "--config", "keel.yaml", ...extra], { [ENV]: url })

/** The token is nowhere the CLI writes: its output, and every file in its directory (artifacts, .keel/*). */
const expectNoSecret = (ws: Workspace, results: ReadonlyArray<CliResult>): void => {
  for (const r of results) {
    expect(r.stdout).not.toContain(TOKEN)
    expect(r.stderr).not.toContain(TOKEN)
  }
  const files = ws.files()
  // Not vacuous: the database and the artifacts are there to be searched.
  expect(files).toContain(".keel/keel.db")
  expect(files.filter((f) => f.startsWith("artifacts/")).length).toBeGreaterThanOrEqual(4)
  for (const file of files) {
    expect(readFileSync(ws.path(file)).includes(Buffer.from(TOKEN)), file).toBe(false)
  }
}

describe.concurrent("webhook notifier", () => {
  it("each run POSTs exactly one Slack-compatible JSON summary, and the token appears nowhere", async () => {
    const server = await startServer({ status: 200 })
    cleanups.push(server.close)
    const ws = webhookWorkspace()

    const executed = await run(ws, server.url, "--execute", "--json")
    expect(executed.code).toBe(0)
    const out = parseJson<OutcomeJson>(executed.stdout)
    expect(out.summary.warnings).toEqual([])
    expect(server.received).toHaveLength(1)
    const [request] = server.received
    expect(request?.method).toBe("POST")
    expect(request?.url).toBe(`/hook/${TOKEN}`)
    expect(request?.headers["content-type"]).toMatch(/^application\/json/)
    const body = JSON.parse(request?.body ?? "null") as SummaryJson & { readonly text: string }
    // Slack shows `text`: the same headline the console notifier printed (on stderr, as stdout is JSON).
    expect(body.text).toBe(singleLine(executed.stderr))
    expect(body.text).toBe(
      `Keel execute demo (${out.run.id}) completed; orders placed 4, filled 4, failed 0; cash 100000 → 1991.94`
    )
    expect(body).toMatchObject({
      account: "demo",
      mode: "execute",
      status: "completed",
      orders: { placed: 4, filled: 4, failed: 0 },
      cash: { before: "100000", after: "1991.94" }
    })
    // The run's summary, and where its artifacts are (the folder the outcome names).
    expect(body).toEqual({ text: body.text, ...out.summary, artifacts: out.artifacts })

    // A preview in text mode is notified too: one more POST, whose text is the first line on stdout.
    const preview = await run(ws, server.url)
    expect(preview.code).toBe(0)
    expect(server.received).toHaveLength(2)
    const second = JSON.parse(server.received[1]?.body ?? "null") as SummaryJson & { readonly text: string }
    expect(second).toMatchObject({
      account: "demo",
      mode: "preview",
      orders: { placed: 0, filled: 0, failed: 0 },
      cash: { before: "1991.94" }
    })
    expect(preview.stdout.split("\n", 1)[0]).toBe(second.text)

    expectNoSecret(ws, [executed, preview])
  })

  const failures: ReadonlyArray<
    readonly [
      string,
      () => Promise<{ readonly url: string; readonly timeoutSeconds?: number; readonly requests?: () => number }>,
      RegExp
    ]
  > = [
    [
      "answers 500",
      async () => {
        const server = await startServer({ status: 500 })
        cleanups.push(server.close)
        return { url: server.url, requests: () => server.received.length }
      },
      /^notification failed: .*\b500\b.* after 2 attempt\(s\)/
    ],
    [
      "does not answer within its timeoutSeconds",
      async () => {
        const server = await startServer("hang")
        cleanups.push(server.close)
        return { url: server.url, timeoutSeconds: 1, requests: () => server.received.length }
      },
      /^notification failed: /
    ],
    [
      "refuses the connection",
      async () => {
        const server = await startServer({ status: 200 })
        await server.close()
        return { url: server.url }
      },
      /^notification failed: /
    ],
    ["is not a URL", () => Promise.resolve({ url: `not a url ${TOKEN}` }), /^notification failed: /]
  ]
  for (const [name, start, warning] of failures) {
    it(`a webhook that ${name} does not fail the run: exit 0, a warning without the URL`, async () => {
      const target = await start()
      const ws = webhookWorkspace(target.timeoutSeconds)
      const r = await run(ws, target.url, "--execute", "--json")
      expect(r.code).toBe(0)
      const out = parseJson<OutcomeJson>(r.stdout)
      expect(out.run.status).toBe("completed")
      expect(out.summary.orders).toEqual({ placed: 4, filled: 4, failed: 0 })
      const notes = out.summary.warnings.filter((w) => w.startsWith("notification failed"))
      expect(notes).toHaveLength(1)
      expect(notes[0]).toMatch(warning)
      for (const w of out.summary.warnings) {
        expect(w).not.toContain(TOKEN)
        expect(w).not.toContain("127.0.0.1")
        expect(w).not.toContain("/hook")
      }
      // The console notifier still reported the run.
      expect(singleLine(r.stderr)).toMatch(/^Keel execute demo \(.*\) completed; orders placed 4, filled 4/)
      // The stored result carries the warning too.
      const result = JSON.parse(ws.read(`${out.artifacts}/result.json`)) as { summary: SummaryJson }
      expect(result.summary.warnings).toEqual(out.summary.warnings)
      // Where a server is listening, it was asked as many times as the retry setting says.
      if (target.requests !== undefined) expect(target.requests()).toBe(2)
      expectNoSecret(ws, [r])
    })
  }

  // The console notifier runs before the webhook fails, so the text output itself must carry it.
  it("without --json, a failed notification is still reported on the console", async () => {
    const server = await startServer({ status: 500 })
    cleanups.push(server.close)
    const ws = webhookWorkspace()
    const r = await run(ws, server.url, "--execute")
    expect(r.code).toBe(0)
    expect(`${r.stdout}\n${r.stderr}`).toMatch(/notification failed/)
  })
})
