/**
 * The service's HTTP API: `GET /healthz`; `POST /v1/trigger` (HMAC-signed, idempotent, starts a
 * fleet run in the background); and the read endpoints `GET /v1/runs`, `GET /v1/runs/{id}` and
 * `GET /v1/accounts`, which need the bearer token whenever one is configured, and answer without
 * one only on a loopback host. Every answer is JSON; a refusal is `{ "error": one line }`.
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import { HttpRouter, type HttpServerRequest, HttpServerResponse } from "effect/http"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Result from "effect/Result"
import type * as Schema from "effect/Schema"
import { createHash, timingSafeEqual } from "node:crypto"
import { printable } from "../../effects/inputs.ts"
import type { StoreShape } from "../../effects/Store.ts"
import { parseJson } from "../../formats/json.ts"
import type { LoadedConfig } from "../config.ts"
import { printed } from "../documents/document.ts"
import { HistoryDocument, StatusDocument, statusDocument } from "../documents/runs.ts"
import { selectAccounts } from "../fleet/selection.ts"
import { makeRunId } from "../run/ids.ts"
import { errorLine } from "../run/problems.ts"
import type { Dispatcher } from "./dispatcher.ts"
import { AccountsDocument, Refusal, TriggerAnswer } from "./documents.ts"
import type { ServePlan } from "./plan.ts"
import { nextFire } from "./scheduler.ts"
import { SIGNATURE_HEADER, TIMESTAMP_HEADER, verify } from "./signature.ts"
import { readTrigger } from "./trigger.ts"

/** What the handlers use: the config and its plan, the Store, the dispatcher and the log. */
export interface Api {
  readonly loaded: LoadedConfig
  readonly plan: ServePlan
  readonly store: StoreShape
  readonly dispatcher: Dispatcher
  readonly log: (line: string) => Effect.Effect<void>
}

/** `GET /v1/runs` without `limit`: as many as `history` shows. */
const DEFAULT_LIMIT = 20
/** The most runs one answer carries. */
const MAX_LIMIT = 1000

const answer = <A, E>(schema: Schema.Codec<A, E>) => {
  const print = printed(schema)
  return (document: A, status = 200) =>
    HttpServerResponse.text(`${print(document)}\n`, { status, contentType: "application/json" })
}
const refuse = answer(Refusal)
const refusal = (status: number, error: string) => refuse({ error: printable(error) }, status)

/** Compared as digests, in constant time: neither the token's length nor a prefix leaks. */
const sameSecret = (given: string, expected: Redacted.Redacted<string>): boolean =>
  timingSafeEqual(
    createHash("sha256").update(given).digest(),
    createHash("sha256").update(Redacted.value(expected)).digest()
  )

/** Whether a read request may be answered: the configured token, else only on a loopback host. */
const authorized = (plan: ServePlan, request: HttpServerRequest.HttpServerRequest): boolean => {
  if (plan.token === undefined) return plan.loopback
  const header = request.headers["authorization"] ?? ""
  return header.startsWith("Bearer ") && sameSecret(header.slice("Bearer ".length), plan.token)
}

/** A read endpoint: 401 unless authorized; a store that cannot be read is a 500 in one line. */
const reading = <R>(
  api: Api,
  handler: (
    request: HttpServerRequest.HttpServerRequest
  ) => Effect.Effect<HttpServerResponse.HttpServerResponse, unknown, R>
) =>
(request: HttpServerRequest.HttpServerRequest) =>
  authorized(api.plan, request)
    ? handler(request).pipe(Effect.catch((error) => Effect.succeed(refusal(500, errorLine(error)))))
    : Effect.succeed(refusal(401, "expected Authorization: Bearer <token>"))

const triggerAnswer = answer(TriggerAnswer)

/** `POST /v1/trigger`: signature first (nothing else is read from an unsigned request), then the body, then the key. */
const trigger = (api: Api) => (request: HttpServerRequest.HttpServerRequest) =>
  Effect.gen(function*() {
    const triggers = api.plan.triggers
    if (triggers === undefined) return refusal(404, "triggers are off: keel.yaml's serve block has no triggers")
    const raw = yield* request.text
    const now = yield* Clock.currentTimeMillis
    const headers = { timestamp: request.headers[TIMESTAMP_HEADER], signature: request.headers[SIGNATURE_HEADER] }
    const verdict = verify(Redacted.value(triggers.secret), headers, raw, now)
    if (verdict._tag === "Invalid") {
      yield* api.log(`trigger refused: ${verdict.reason}`)
      return refusal(401, verdict.reason)
    }
    const parsed = parseJson(raw)
    const read = Result.isFailure(parsed) ? parsed : readTrigger(parsed.success)
    if (Result.isFailure(read)) return refusal(400, read.failure)
    const { body, selection } = read.success
    const accounts = yield* Effect.result(selectAccounts(api.loaded, selection))
    if (Result.isFailure(accounts)) return refusal(400, accounts.failure.detail)
    const names = accounts.success.map((a) => a.name)
    const fleetId = `fleet-${yield* makeRunId}`
    const claim = yield* api.store.claimTrigger({
      key: body.idempotencyKey,
      fleetId,
      accounts: names,
      reason: body.reason,
      receivedAt: now
    })
    if (claim._tag === "Repeated") {
      yield* api.log(`trigger ${body.idempotencyKey}: repeated, ${claim.first.fleetId} already started`)
      return triggerAnswer({ fleetId: claim.first.fleetId, accounts: claim.first.accounts, duplicate: true })
    }
    yield* api.dispatcher.start({
      id: fleetId,
      accounts: accounts.success,
      mode: triggers.mode,
      origin: `trigger ${body.idempotencyKey}: ${printable(body.reason)}`
    })
    return triggerAnswer({ fleetId, accounts: names, duplicate: false }, 202)
  }).pipe(Effect.catch((error) => Effect.succeed(refusal(500, errorLine(error)))))

const printHistory = answer(HistoryDocument)
const printStatus = answer(StatusDocument)
const printAccounts = answer(AccountsDocument)

/** `?limit=`: a whole number from 0 to MAX_LIMIT, else undefined. */
const limitOf = (text: string | null): number | undefined => {
  if (text === null) return DEFAULT_LIMIT
  const n = /^\d{1,4}$/.test(text) ? Number(text) : Number.NaN
  return n <= MAX_LIMIT ? n : undefined
}

const runs = (api: Api) =>
  reading(api, (request) =>
    Effect.gen(function*() {
      const query = new URL(request.url, "http://keel").searchParams
      const limit = limitOf(query.get("limit"))
      if (limit === undefined) return refusal(400, `limit: expected a whole number from 0 to ${MAX_LIMIT}`)
      return printHistory(yield* api.store.listRuns(query.get("account") ?? undefined, limit))
    }))

const run = (api: Api) =>
  reading(api, () =>
    Effect.gen(function*() {
      const id = (yield* HttpRouter.params)["id"] ?? ""
      const found = yield* api.store.getRun(id)
      if (Option.isNone(found)) return refusal(404, `no run with id ${id}`)
      const [steps, intents, deliveries] = yield* Effect.all([
        api.store.steps(id),
        api.store.intents(id),
        api.store.deliveries(id)
      ])
      return printStatus(statusDocument(found.value, steps, intents, deliveries))
    }))

const accounts = (api: Api) =>
  reading(api, () =>
    Effect.gen(function*() {
      const now = yield* Clock.currentTimeMillis
      const groups = Object.entries(api.loaded.config.groups ?? {})
      const document = yield* Effect.forEach(api.loaded.config.accounts, (account) =>
        Effect.map(api.store.listRuns(account.name, 1), ([last]) => {
          const next = api.plan.schedules
            .filter((s) => s.accounts.includes(account.name))
            .map((s) => ({ at: nextFire(s, now), mode: s.mode, schedule: s.label }))
            .sort((a, b) =>
              a.at - b.at
            )[0]
          return {
            name: account.name,
            broker: account.broker.kind,
            groups: groups.filter(([, members]) => members.includes(account.name)).map(([group]) => group),
            lastRun: last === undefined ? null : { id: last.id, status: last.status, finishedAt: last.finishedAt },
            nextScheduled: next ?? null
          }
        }))
      return printAccounts(document)
    }))

/** The routes, served by `HttpRouter.serve`. */
export const routes = (api: Api) =>
  Layer.mergeAll(
    HttpRouter.add("GET", "/healthz", HttpServerResponse.jsonUnsafe({ ok: true })),
    HttpRouter.add("POST", "/v1/trigger", trigger(api)),
    HttpRouter.add("GET", "/v1/runs", runs(api)),
    HttpRouter.add("GET", "/v1/runs/:id", run(api)),
    HttpRouter.add("GET", "/v1/accounts", accounts(api))
  )
