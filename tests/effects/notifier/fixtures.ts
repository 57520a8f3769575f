/**
 * What the notifier tests share: a real HTTP server on 127.0.0.1 that records every request and
 * answers them in turn (a status, or never); runs' notifications as a run writes them; and the
 * dispatcher's settings from a `notifications:` block, its secrets from a given environment.
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as NodeServices from "@effect/platform-node/NodeServices"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import type { IncomingHttpHeaders } from "node:http"
import { expect } from "vitest"
import type { NotStarted, RunNotification, RunSummary } from "../../../src/effects/Notifier.ts"
import { Config, dispatchSettings } from "../../../src/effects/notifier/config.ts"
import type { Groups } from "../../../src/effects/notifier/routing.ts"
import { listen } from "../../support/loopback.ts"
import { storeWithSql } from "../store/fixtures.ts"

export interface Received {
  readonly method: string
  readonly url: string
  readonly headers: IncomingHttpHeaders
  readonly body: string
}

export type Answer = number | "hang"

/** A server answering its requests with `answers` in turn, the last one from then on. */
export const recorder = async (answers: ReadonlyArray<Answer>) => {
  const received: Array<Received> = []
  const server = await listen((req, res) => {
    let body = ""
    req.setEncoding("utf8")
    req.on("data", (chunk: string) => (body += chunk))
    req.on("end", () => {
      received.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers, body })
      const answer = answers[Math.min(received.length, answers.length) - 1] ?? 200
      if (answer === "hang") return
      res.writeHead(answer, { "content-type": "text/plain" })
      res.end(answer < 300 ? "ok" : "no")
    })
  })
  return { ...server, received }
}

export const summary = (account: string, overrides: Partial<RunSummary> = {}): RunSummary => ({
  runId: `run-${account}`,
  account,
  mode: "execute",
  status: "completed",
  step: "done",
  orders: { placed: 4, filled: 4, failed: 0 },
  cash: { before: "100000", after: "1991.94" },
  drift: { before: "0.1234", after: "0.0012" },
  warnings: [],
  errors: {},
  ...overrides
})

export const completed = (account: string, artifacts = `artifacts/run-${account}`): RunNotification => ({
  _tag: "Run",
  summary: summary(account),
  artifacts
})

export const failed = (account: string): RunNotification => ({
  _tag: "Run",
  summary: summary(account, {
    status: "failed",
    step: "sell-phase",
    reason: "broker: placeOrder failed: HTTP 503",
    orders: { placed: 1, filled: 0, failed: 1 },
    errors: { broker: 1 }
  }),
  artifacts: `artifacts/run-${account}`
})

export const notStarted = (account: string): NotStarted => ({
  _tag: "NotStarted",
  account,
  mode: "execute",
  category: "input",
  reason: "targets.csv: weights sum to 1.2, expected 1"
})

/** No secret of a test in any of the texts. */
export const expectNoSecret = (secrets: ReadonlyArray<string>, texts: ReadonlyArray<string>): void => {
  expect(texts.length).toBeGreaterThan(0)
  for (const text of texts) for (const secret of secrets) expect(text).not.toContain(secret)
}

/** The dispatcher's settings from a `notifications:` block (decoded as keel.yaml is), secrets from `env`. */
export const settingsOf = (block: unknown, env: Record<string, string>, groups: Groups = {}, dir = ".") =>
  Schema.decodeUnknownEffect(Config)(block, { onExcessProperty: "error" }).pipe(
    Effect.flatMap((config) => dispatchSettings(config, { file: "keel.yaml", dir, at: "notifications", groups })),
    Effect.provideService(ConfigProvider.ConfigProvider, ConfigProvider.fromEnv({ env }))
  )

/** An HTTP client, a file system, and the Store on a SQLite file. */
export const services = (database: string) =>
  Layer.mergeAll(NodeHttpClient.layerUndici, NodeServices.layer, storeWithSql(database))
