/**
 * Targets sources end to end at the Effect level: `resolveTargets` / `fetchTargets` on real
 * files (tests/fixtures/targets) and a real HTTP server on 127.0.0.1 (an ephemeral port),
 * with NodeServices and the fetch HTTP client, as the CLI runs them.
 *
 * The fixtures, worked out by hand:
 *   core.csv/json/yaml   VTI 0.5, BND 0.3, GLD 0.1 (cash 0.1)
 *   satellite.json       VTI 0.2, QQQ 0.5, ARKK 0.3
 *   growth.csv           QQQ 0.6, VTI 0.4;  defensive.csv BND 0.6, GLD 0.2, VTI 0.2;  cash.json { "$CASH": 1 }
 *   regime-history.csv   SPY and VIX, 2026-03-01 … 03-07 (trendDays 3, VIX threshold 20):
 *     as of 03-03  SPY 100,101,102: 102 ≥ avg 101, up;   VIX 15 low   → uptrend_low_vol
 *     as of 03-04  SPY 101,102,103: up;                  VIX 25 high  → uptrend_high_vol
 *     as of 03-06  SPY 103,99,95: 95 < avg 99, down;     VIX 25 high  → downtrend_high_vol
 *     as of 03-07  SPY 99,95,91: down;                   VIX 18 low   → downtrend_low_vol
 *     as of 03-14  SPY's last close (03-07) is 7 days old: stale (maxStaleDays 5)
 *   momentum-history.csv as of 03-05, 4-day returns: QQQ 100→112 +12%, MTUM 50→54 +8%,
 *     VUG 200→202 +1%, XLK 80→76 −5%.
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as NodeServices from "@effect/platform-node/NodeServices"
import { describe, expect, it } from "@effect/vitest"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as FetchHttpClient from "effect/http/FetchHttpClient"
import * as Layer from "effect/Layer"
import type { IncomingHttpHeaders, ServerResponse } from "node:http"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { afterAll, beforeAll } from "vitest"
import { fetchTargets, type HttpSource, HttpSourceDefaults } from "../../../src/effects/targets/http.ts"
import { type Resolved, resolveTargets } from "../../../src/effects/targets/resolve.ts"
import { format, ZERO } from "../../../src/kernel/decimal.ts"
import { defaultPolicy } from "../../../src/kernel/rebalance/policy.ts"
import type { Targets } from "../../../src/kernel/rebalance/targets.ts"
import { primaryStrategy } from "../../../src/kernel/strategies/blend.ts"
import { type SourceConfig, toSource } from "../../../src/programs/targetsConfig.ts"
import { listen } from "../../support/loopback.ts"

const FIXTURES = fileURLToPath(new URL("../../fixtures/targets", import.meta.url))
const fixture = (file: string): string => join(FIXTURES, file)

const Services = Layer.merge(NodeServices.layer, FetchHttpClient.layer)

const CTX = {
  configFile: "keel.yaml",
  at: "accounts[0].targets",
  weightTolerance: defaultPolicy.weightTolerance
} as const

/** Resolves a keel.yaml `targets:` value (paths relative to the fixtures), as of a day. */
const resolve = (config: SourceConfig, options: { readonly asOf?: string; readonly set?: string } = {}) =>
  resolveTargets(
    toSource(config, fixture),
    options.set === undefined ? undefined : { file: fixture("replacements.yaml"), set: options.set },
    { ...CTX, asOf: options.asOf ?? "2026-03-05" }
  ).pipe(Effect.provide(Services))

/** The one-line message a source fails with, the fixtures folder left out. */
const failure = (config: SourceConfig, options: { readonly asOf?: string; readonly set?: string } = {}) =>
  resolve(config, options).pipe(
    Effect.flip,
    Effect.map((e) => e.message.replaceAll(`${FIXTURES}/`, ""))
  )

const weights = (targets: Targets): Record<string, string> =>
  Object.fromEntries(targets.weights.map((t) => [t.symbol, format(t.weight)]))

const attribution = (targets: Targets): Record<string, Record<string, string>> =>
  Object.fromEntries(
    targets.weights.map((t) => [t.symbol, Object.fromEntries(t.attribution.map((a) => [a.strategy, format(a.weight)]))])
  )

/** Every target's attribution sums exactly to its weight. */
const expectAttributionSums = (targets: Targets): void => {
  for (const t of targets.weights) {
    const sum = t.attribution.reduce((s, a) => s.plus(a.weight), ZERO)
    expect(format(sum), t.symbol).toBe(format(t.weight))
  }
}

describe("file source", () => {
  const CORE = { VTI: "0.5", BND: "0.3", GLD: "0.1" }

  it.effect("reads CSV, JSON and YAML alike: fractions, the rest in cash, no attribution", () =>
    Effect.gen(function*() {
      for (const file of ["core.csv", "core.json", "core.yaml"]) {
        const r = yield* resolve({ file })
        expect(weights(r.targets), file).toEqual(CORE)
        expect(format(r.targets.total)).toBe("0.9")
        expect(format(r.targets.cash)).toBe("0.1")
        expect(r.targets.weights.every((t) => t.attribution.length === 0)).toBe(true)
        expect(r.warnings).toEqual([])
        expect(r.substitutions).toEqual([])
        expect(r.regime).toBeUndefined()
      }
      // A plain string is a file too.
      expect(weights((yield* resolve("core.csv")).targets)).toEqual(CORE)
    }))

  it.effect("unit: percent reads 25 as 0.25", () =>
    Effect.gen(function*() {
      const r = yield* resolve({ file: "percent.yaml", unit: "percent" })
      expect(weights(r.targets)).toEqual({ VTI: "0.25", VXUS: "0.125", BND: "0.4" })
      expect(format(r.targets.cash)).toBe("0.225")
      // Read as fractions, 25 is out of range.
      expect(yield* failure({ file: "percent.yaml" })).toBe(
        "percent.yaml: VTI: expected a fraction between 0 and 1, got 25"
      )
    }))

  it.effect("a bad CSV line is named by file and line", () =>
    Effect.gen(function*() {
      expect(yield* failure({ file: "bad-line.csv" })).toBe(
        "bad-line.csv: line 3: expected \"symbol,weight\", got \"BND,0.30,extra\""
      )
      // A weight the kernel rejects: its line in the file (blank lines counted), and the column.
      expect(yield* failure({ file: "bad-weight.csv" })).toBe(
        "bad-weight.csv: line 4, weight: expected a fraction between 0 and 1, got \"thirty\""
      )
    }))

  it.effect("a missing file, and a file of the wrong kind", () =>
    Effect.gen(function*() {
      expect(yield* failure({ file: "nowhere.csv" })).toBe("nowhere.csv: cannot read the targets file: no such file")
      expect(yield* failure({ file: "regime-map.txt" })).toBe(
        "regime-map.txt: expected a targets file ending in .json, .yaml, .yml or .csv"
      )
    }))

  it.effect("weights summing above 1 are an error naming the sum of weights", () =>
    Effect.gen(function*() {
      expect(yield* failure({ file: "over.csv" })).toBe(
        "over.csv: sum of weights: expected weights that sum to at most 1 (tolerance 0.000000001), got \"1.05\""
      )
      // normalize: true reads them as proportions.
      const r = yield* resolve({ file: "over.csv", normalize: true })
      expect(format(r.targets.total)).toBe("1")
    }))
})

// ---------------------------------------------------------------------------------------
// HTTP
// ---------------------------------------------------------------------------------------

const SECRET = "Bearer s3cr3t-signals-token"
const SECRET_ENV = "KEEL_TEST_SIGNALS_TOKEN"

interface Seen {
  readonly path: string
  readonly headers: IncomingHttpHeaders
}

type Answer =
  | { readonly status: number; readonly body: string; readonly type?: string; readonly location?: string }
  | "hang"

const json = (status: number, value: unknown): Answer => ({ status, body: JSON.stringify(value) })

/** Answers by path; `/flaky` answers 500 the first time and then the allocations. */
const ALLOCATIONS = { allocations: [{ symbol: "VTI", allocation: 0.6 }, { symbol: "BND", allocation: "0.4" }] }

const server = {
  seen: [] as Array<Seen>,
  base: "",
  close: async () => {}
}

/** Another origin (another port on 127.0.0.1), for redirects away from the configured URL. */
const elsewhere = {
  seen: [] as Array<Seen>,
  base: "",
  close: async () => {}
}

const attempts = (path: string): number => server.seen.filter((s) => s.path === path).length

const answer = (path: string, count: number): Answer => {
  switch (path) {
    case "/allocations":
      return json(200, ALLOCATIONS)
    case "/map":
      return json(200, { VTI: "0.55", VXUS: 0.25, BND: "0.2" })
    case "/custom":
      return json(200, { data: { ignored: true }, weights: [{ ticker: "QQQ", pct: 70 }, { ticker: "BND", pct: 30 }] })
    case "/secret":
      return json(200, ALLOCATIONS)
    case "/flaky":
      return count === 1 ? json(500, { error: "warming up" }) : json(200, ALLOCATIONS)
    case "/down":
      return json(500, { error: "down" })
    case "/missing":
      return json(404, { error: "not found" })
    case "/slow":
      return "hang"
    case "/garbage":
      return { status: 200, body: "<html>Service Unavailable</html>", type: "text/html" }
    case "/schema":
      return json(200, { allocations: [{ symbol: "VTI", allocation: "0.6" }, { symbol: "BND", allocation: "abc" }] })
    case "/not-a-list":
      return json(200, { allocations: { VTI: 1 } })
    case "/nested":
      return json(200, {
        meta: { v: 2 },
        data: { asOf: "today", weights: [{ ticker: "QQQ", pct: 70, note: "x" }, { ticker: "BND", pct: "30" }] }
      })
    case "/nested-missing":
      return json(200, { data: { items: [{ ticker: "QQQ", pct: 100 }] } })
    case "/entry-object":
      return json(200, {
        allocations: [{ symbol: "VTI", allocation: 0.6 }, { symbol: "BND", allocation: { value: 0.4 } }]
      })
    case "/entry-no-symbol":
      return json(200, { allocations: [{ ticker: "VTI", allocation: 1 }] })
    case "/map-object":
      return json(200, { result: { allocations: [] } })
    case "/top-list":
      return json(200, [{ symbol: "VTI", allocation: 1 }])
    case "/over-tolerance":
      return json(200, { VTI: 0.50005, BND: 0.5 })
    case "/over-tolerance-percent":
      return json(200, { allocations: [{ symbol: "VTI", allocation: 50.005 }, { symbol: "BND", allocation: 50 }] })
    case "/redirect":
      return { status: 302, body: "", location: "/allocations?from=redirect" }
    case "/redirect-twice":
      return { status: 301, body: "moved", location: `${server.base}/redirect` }
    case "/redirect-loop":
      return { status: 307, body: "", location: "/redirect-loop" }
    case "/redirect-ftp":
      return { status: 302, body: "", location: "ftp://127.0.0.1/weights" }
    case "/redirect-away":
      return { status: 302, body: "", location: `${elsewhere.base}/weights` }
    case "/partial":
      return json(200, {
        allocations: [{ symbol: "VTI", allocation: "0.36" }, { symbol: "BND", allocation: "0.27" }, {
          symbol: "GLD",
          allocation: "0.27"
        }]
      })
    default:
      return json(404, {})
  }
}

beforeAll(async () => {
  const hanging: Array<ServerResponse> = []
  const started = await listen((req, res) => {
    const path = (req.url ?? "").split("?")[0] ?? ""
    server.seen.push({ path, headers: req.headers })
    const a = answer(path, attempts(path))
    if (a === "hang") {
      hanging.push(res)
      return
    }
    res.writeHead(a.status, {
      "content-type": a.type ?? "application/json",
      ...(a.location === undefined ? {} : { location: a.location })
    })
    res.end(a.body)
  })
  server.base = started.base
  server.close = started.close
  const other = await listen((req, res) => {
    elsewhere.seen.push({ path: req.url ?? "", headers: req.headers })
    res.writeHead(200, { "content-type": "application/json" })
    res.end(JSON.stringify(ALLOCATIONS))
  })
  elsewhere.base = other.base
  elsewhere.close = other.close
})
afterAll(async () => {
  await server.close()
  await elsewhere.close()
})

const httpSource = (path: string, overrides: Partial<HttpSource> = {}): HttpSource => ({
  url: `${server.base}${path}`,
  headers: {},
  timeout: "2 seconds",
  retries: 2,
  mapping: { list: "allocations", symbol: "symbol", weight: "allocation" },
  unit: "fraction",
  normalize: false,
  tolerance: HttpSourceDefaults.tolerance,
  ...overrides
})

/** The environment the source's Config reads (the default provider snapshots process.env once). */
const withEnv = (env: Record<string, string>) =>
  Effect.provideService(ConfigProvider.ConfigProvider, ConfigProvider.fromEnv({ env }))

const fetched = (source: HttpSource) =>
  fetchTargets(source).pipe(
    Effect.map((f) => f.targets),
    Effect.provide(FetchHttpClient.layer)
  )
const fetchError = (source: HttpSource) =>
  fetched(source).pipe(
    Effect.flip,
    Effect.map((e) => e.message.replace(server.base, "URL"))
  )

describe("http source", () => {
  it.live("the allocations list form", () =>
    Effect.gen(function*() {
      const t = yield* fetched(httpSource("/allocations"))
      expect(weights(t)).toEqual({ BND: "0.4", VTI: "0.6" })
      expect(format(t.cash)).toBe("0")
      expect(attempts("/allocations")).toBe(1)
    }))

  it.live("a plain map form", () =>
    Effect.gen(function*() {
      expect(weights(yield* fetched(httpSource("/map")))).toEqual({ BND: "0.2", VTI: "0.55", VXUS: "0.25" })
    }))

  it.live("a custom mapping (list, symbol and weight fields), in percent", () =>
    Effect.gen(function*() {
      const t = yield* fetched(
        httpSource("/custom", { mapping: { list: "weights", symbol: "ticker", weight: "pct" }, unit: "percent" })
      )
      expect(weights(t)).toEqual({ BND: "0.3", QQQ: "0.7" })
    }))

  it.live("the same through keel.yaml's config (defaults, timeoutSeconds) and resolveTargets", () =>
    Effect.gen(function*() {
      const r = yield* resolve({
        http: {
          url: `${server.base}/custom?key=abc`,
          timeoutSeconds: 2,
          mapping: { list: "weights", symbol: "ticker", weight: "pct" },
          unit: "percent"
        }
      })
      expect(weights(r.targets)).toEqual({ BND: "0.3", QQQ: "0.7" })
    }))

  it.live("a header's value comes from its environment variable, is sent, and never appears in an error", () =>
    Effect.gen(function*() {
      const headers = { Authorization: SECRET_ENV, "X-Api-Key": SECRET_ENV }
      yield* fetched(httpSource("/secret", { headers }))
      const seen = server.seen.filter((s) => s.path === "/secret")
      expect(seen).toHaveLength(1)
      expect(seen[0]?.headers["authorization"]).toBe(SECRET)
      expect(seen[0]?.headers["x-api-key"]).toBe(SECRET)
      // Failures with the header set: none of them says the secret, nor the query string.
      const messages = [
        yield* fetchError(httpSource("/missing", { headers })),
        yield* fetchError(httpSource("/garbage", { headers })),
        yield* fetchError(httpSource("/schema", { headers })),
        yield* fetchError(httpSource("/slow", { headers, retries: 0, timeout: "50 millis" })),
        yield* fetchError(httpSource("/down?token=s3cr3t-signals-token", { headers, retries: 0 })),
        yield* fetchError({
          ...httpSource("/down", { headers, retries: 0 }),
          url: `http://user:s3cr3t@${server.base.slice("http://".length)}/down`
        })
      ]
      for (const m of messages) {
        expect(m).not.toContain("s3cr3t")
        expect(m).not.toContain("token=")
      }
      expect(messages[4]).toBe("URL/down: HTTP 500 (1 attempt)")
      // The server saw the header on failing requests too.
      expect(server.seen.filter((s) => s.path === "/down").every((s) => s.headers["authorization"] === SECRET)).toBe(
        true
      )
    }).pipe(withEnv({ [SECRET_ENV]: SECRET })))

  it.live("a header whose environment variable is unset: an error naming the variable, and no request at all", () =>
    Effect.gen(function*() {
      const before = attempts("/secret")
      expect(yield* fetchError(httpSource("/secret", { headers: { Authorization: SECRET_ENV } }))).toBe(
        `URL/secret: header Authorization: expected the environment variable ${SECRET_ENV} to hold its value, got nothing`
      )
      expect(attempts("/secret")).toBe(before)
    }).pipe(withEnv({})))

  it.live("a server that never answers: each attempt times out, retries + 1 attempts, then one message", () =>
    Effect.gen(function*() {
      const before = attempts("/slow")
      const started = Date.now()
      const message = yield* fetchError(httpSource("/slow", { timeout: "150 millis", retries: 2 }))
      expect(message).toBe("URL/slow: no answer within 150ms (3 attempts)")
      expect(attempts("/slow") - before).toBe(3)
      // 3 × 150 ms and backoffs of 250 + 500 ms: the attempts were bounded, not left hanging.
      expect(Date.now() - started).toBeLessThan(5000)
    }))

  it.live("a 500 is retried: the second attempt succeeds", () =>
    Effect.gen(function*() {
      const t = yield* fetched(httpSource("/flaky", { retries: 2 }))
      expect(weights(t)).toEqual({ BND: "0.4", VTI: "0.6" })
      // One 500, then the answer.
      expect(attempts("/flaky")).toBe(2)
    }))

  it.live("a 500 that stays: the URL without its query string, HTTP 500 and the attempts", () =>
    Effect.gen(function*() {
      const before = attempts("/down")
      const message = yield* fetchError(httpSource("/down?key=abc&page=2", { retries: 2 }))
      expect(message).toBe("URL/down: HTTP 500 (3 attempts)")
      expect(attempts("/down") - before).toBe(3)
    }))

  it.live("a 404 is final: not retried", () =>
    Effect.gen(function*() {
      const before = attempts("/missing")
      expect(yield* fetchError(httpSource("/missing", { retries: 3 }))).toBe("URL/missing: HTTP 404")
      expect(attempts("/missing") - before).toBe(1)
    }))

  it.live("a body that is not JSON", () =>
    Effect.gen(function*() {
      const message = yield* fetchError(httpSource("/garbage"))
      expect(message).toMatch(/^URL\/garbage: expected a JSON answer: /)
      expect(message.split("\n")).toHaveLength(1)
    }))

  it.live("a schema mismatch names the field in the answer", () =>
    Effect.gen(function*() {
      expect(yield* fetchError(httpSource("/schema"))).toBe(
        "URL/schema: allocations[1].allocation: expected a fraction between 0 and 1, got \"abc\""
      )
      expect(yield* fetchError(httpSource("/not-a-list"))).toBe(
        "URL/not-a-list: allocations: expected a list of { symbol, allocation } (mapping.list allocations), got an object"
      )
    }))

  it.live("weights summing to 0.9 are an error, unless normalize: true scales them to exactly 1", () =>
    Effect.gen(function*() {
      expect(yield* fetchError(httpSource("/partial"))).toBe(
        "URL/partial: sum of weights: expected weights that sum to 1 (tolerance 0.0001), or normalize: true, got \"0.9\""
      )
      const t = yield* fetched(httpSource("/partial", { normalize: true }))
      expect(weights(t)).toEqual({ BND: "0.3", GLD: "0.3", VTI: "0.4" })
      expect(format(t.total)).toBe("1")
      expect(format(t.cash)).toBe("0")
    }))

  it.live("a dotted mapping.list reaches a nested list; fields beside the mapped ones pass", () =>
    Effect.gen(function*() {
      const t = yield* fetched(
        httpSource("/nested", { mapping: { list: "data.weights", symbol: "ticker", weight: "pct" }, unit: "percent" })
      )
      expect(weights(t)).toEqual({ BND: "0.3", QQQ: "0.7" })
      // Through keel.yaml's config too.
      const r = yield* resolve({
        http: {
          url: `${server.base}/nested`,
          mapping: { list: "data.weights", symbol: "ticker", weight: "pct" },
          unit: "percent"
        }
      })
      expect(weights(r.targets)).toEqual({ BND: "0.3", QQQ: "0.7" })
    }))

  it.live("the answer is decoded with a Schema of the mapping: errors name the URL and the path in the answer", () =>
    Effect.gen(function*() {
      const nested = { mapping: { list: "data.weights", symbol: "ticker", weight: "pct" }, unit: "percent" } as const
      expect(yield* fetchError(httpSource("/nested-missing", nested))).toBe(
        "URL/nested-missing: data.weights: expected the list at data.weights (mapping.list), got nothing"
      )
      expect(
        yield* fetchError(
          httpSource("/nested-missing?token=abc", {
            ...nested,
            mapping: { ...nested.mapping, list: "data.items.list" }
          })
        )
      ).toBe(
        "URL/nested-missing: data.items: expected an object holding the list at data.items.list (mapping.list), got a list"
      )
      expect(yield* fetchError(httpSource("/entry-object"))).toBe(
        "URL/entry-object: allocations[1].allocation: expected a weight (a decimal as a string or a number), got an object"
      )
      expect(yield* fetchError(httpSource("/entry-no-symbol"))).toBe(
        "URL/entry-no-symbol: allocations[0].symbol: expected a symbol (mapping.symbol symbol), got nothing"
      )
      // Without the list, the answer is a map from symbol to weight, and a value that is no weight says so.
      expect(yield* fetchError(httpSource("/map-object"))).toBe(
        "URL/map-object: result: expected a weight (a decimal; without allocations, the answer is read as a " +
          "map from symbol to weight), got an object"
      )
      expect(yield* fetchError(httpSource("/top-list"))).toBe(
        "URL/top-list: expected an object: the list at allocations (mapping.list), or a map from symbol to weight, got a list"
      )
    }))

  it.live("an answer within its tolerance but above 1 is scaled down to sum to at most 1, with a warning naming the URL", () =>
    Effect.gen(function*() {
      const f = yield* fetchTargets(httpSource("/over-tolerance?key=k")).pipe(Effect.provide(FetchHttpClient.layer))
      // 0.50005 / 1.00005 and 0.5 / 1.00005, each rounded down at 12 places.
      expect(weights(f.targets)).toEqual({ BND: "0.499975001249", VTI: "0.50002499875" })
      expect(f.targets.total.lte("1")).toBe(true)
      expect(f.warnings).toEqual([
        `${server.base}/over-tolerance: weights sum to 1.00005, above 1 (within the source's tolerance): scaled down to sum to 1`
      ])
      // In percent, the sum is told in percent.
      const p = yield* fetchTargets(httpSource("/over-tolerance-percent", { unit: "percent" })).pipe(
        Effect.provide(FetchHttpClient.layer)
      )
      expect(weights(p.targets)).toEqual({ BND: "0.499975001249", VTI: "0.50002499875" })
      expect(p.warnings).toEqual([
        `${server.base}/over-tolerance-percent: percentages sum to 100.005, above 100 (within the source's ` +
        `tolerance): scaled down to sum to 1`
      ])
      // A tighter tolerance refuses it, naming the URL and the sum.
      expect(yield* fetchError(httpSource("/over-tolerance", { tolerance: ZERO.plus("0.00001") }))).toBe(
        "URL/over-tolerance: sum of weights: expected weights that sum to 1 (tolerance 0.00001), or normalize: true, got \"1.00005\""
      )
    }))

  for (
    const [client, layer] of [
      ["undici (the CLI's client)", NodeHttpClient.layerUndici],
      ["fetch", FetchHttpClient.layer]
    ] as const
  ) {
    it.live(`redirects are followed, a bounded number of times (${client})`, () =>
      Effect.gen(function*() {
        const get = (path: string, overrides: Partial<HttpSource> = {}) =>
          fetchTargets(httpSource(path, overrides)).pipe(Effect.provide(layer))
        const before = attempts("/allocations")
        expect(weights((yield* get("/redirect")).targets)).toEqual({ BND: "0.4", VTI: "0.6" })
        expect(weights((yield* get("/redirect-twice")).targets)).toEqual({ BND: "0.4", VTI: "0.6" })
        expect(attempts("/allocations") - before).toBe(2)
        const loops = attempts("/redirect-loop")
        expect((yield* get("/redirect-loop", { retries: 3 }).pipe(Effect.flip)).message).toBe(
          `${server.base}/redirect-loop: HTTP 307: more than 5 redirects`
        )
        // The first request and 5 redirects, not retried.
        expect(attempts("/redirect-loop") - loops).toBe(6)
        expect((yield* get("/redirect-ftp").pipe(Effect.flip)).message).toBe(
          `${server.base}/redirect-ftp: HTTP 302: a redirect to something other than an http:// or https:// URL`
        )
      }))

    it.live(`a redirect to another origin goes without the configured headers; the same origin keeps them (${client})`, () =>
      Effect.gen(function*() {
        const headers = { Authorization: SECRET_ENV, "X-Api-Key": SECRET_ENV }
        const get = (path: string) => fetchTargets(httpSource(path, { headers })).pipe(Effect.provide(layer))
        const seen = elsewhere.seen.length
        expect(weights((yield* get("/redirect-away")).targets)).toEqual({ BND: "0.4", VTI: "0.6" })
        const away = elsewhere.seen.slice(seen)
        expect(away).toHaveLength(1)
        expect(away[0]?.headers["authorization"]).toBeUndefined()
        expect(away[0]?.headers["x-api-key"]).toBeUndefined()
        yield* get("/redirect")
        const same = server.seen.filter((x) => x.path === "/allocations").at(-1)
        expect(same?.headers["authorization"]).toBe(SECRET)
        expect(same?.headers["x-api-key"]).toBe(SECRET)
      }).pipe(withEnv({ [SECRET_ENV]: SECRET })))
  }

  it.live("inside resolveTargets, an HTTP failure is one line naming the URL", () =>
    Effect.gen(function*() {
      const message = yield* failure({ http: { url: `${server.base}/missing?token=x` } })
      expect(message).toBe(`${server.base}/missing: HTTP 404`)
    }))
})

// ---------------------------------------------------------------------------------------
// Blend
// ---------------------------------------------------------------------------------------

const coreAndSatellite = (satellite: SourceConfig, onStrategyFailure?: "fail" | "cash"): SourceConfig => ({
  blend: {
    ...(onStrategyFailure === undefined ? {} : { onStrategyFailure }),
    strategies: [
      { name: "core", share: 0.6, source: { file: "core.csv" } },
      { name: "satellite", share: "0.4", source: satellite }
    ]
  }
})

describe("blend", () => {
  it.effect("combined weight = Σ share × weight: overlapping symbols add up, attribution sums to each weight", () =>
    Effect.gen(function*() {
      const r = yield* resolve(coreAndSatellite({ file: "satellite.json" }))
      // VTI 0.6 × 0.5 + 0.4 × 0.2 = 0.38; BND 0.18; GLD 0.06; QQQ 0.2; ARKK 0.12.
      expect(weights(r.targets)).toEqual({ ARKK: "0.12", BND: "0.18", GLD: "0.06", QQQ: "0.2", VTI: "0.38" })
      expect(attribution(r.targets)).toEqual({
        ARKK: { satellite: "0.12" },
        BND: { core: "0.18" },
        GLD: { core: "0.06" },
        QQQ: { satellite: "0.2" },
        VTI: { core: "0.3", satellite: "0.08" }
      })
      expectAttributionSums(r.targets)
      expect(format(r.targets.total)).toBe("0.94")
      expect(format(r.targets.cash)).toBe("0.06")
      expect(Object.fromEntries(r.targets.weights.map((t) => [t.symbol, primaryStrategy(t)]))).toEqual({
        ARKK: "satellite",
        BND: "core",
        GLD: "core",
        QQQ: "satellite",
        VTI: "core"
      })
      expect(r.warnings).toEqual([])
    }))

  it.effect("a nested blend attributes outer/inner", () =>
    Effect.gen(function*() {
      const r = yield* resolve({
        blend: {
          strategies: [
            { name: "passive", share: 0.5, source: coreAndSatellite({ file: "satellite.json" }) },
            { name: "growth", share: 0.5, source: { file: "growth.csv" } }
          ]
        }
      })
      expect(attribution(r.targets)["VTI"]).toEqual({
        growth: "0.2",
        "passive/core": "0.15",
        "passive/satellite": "0.04"
      })
      expect(weights(r.targets)["VTI"]).toBe("0.39")
      expectAttributionSums(r.targets)
    }))

  it.effect("a failing strategy fails the blend (the default): the message names the strategy and its cause", () =>
    Effect.gen(function*() {
      expect(yield* failure(coreAndSatellite({ file: "nowhere.json" }))).toBe(
        "keel.yaml: accounts[0].targets.blend: strategy satellite failed: nowhere.json: cannot read the targets file: no such file"
      )
      expect(yield* failure(coreAndSatellite({ file: "bad-line.csv" }, "fail"))).toBe(
        "keel.yaml: accounts[0].targets.blend: strategy satellite failed: bad-line.csv: line 3: expected " +
          "\"symbol,weight\", got \"BND,0.30,extra\""
      )
    }))

  it.effect("onStrategyFailure: cash keeps the failed share in cash, with a warning", () =>
    Effect.gen(function*() {
      const r = yield* resolve(coreAndSatellite({ file: "nowhere.json" }, "cash"))
      expect(weights(r.targets)).toEqual({ BND: "0.18", GLD: "0.06", VTI: "0.3" })
      expect(format(r.targets.cash)).toBe("0.46")
      expect(r.warnings).toHaveLength(1)
      expect(r.warnings[0]?.replaceAll(`${FIXTURES}/`, "")).toBe(
        "strategy satellite failed (nowhere.json: cannot read the targets file: no such file): its share 0.4 stays in cash"
      )
    }))

  it.live("a failing HTTP strategy with onStrategyFailure: cash: its share in cash, the warning names the URL", () =>
    Effect.gen(function*() {
      const r = yield* resolve(coreAndSatellite({ http: { url: `${server.base}/missing?key=k` } }, "cash"))
      expect(weights(r.targets)).toEqual({ BND: "0.18", GLD: "0.06", VTI: "0.3" })
      expect(r.warnings).toEqual([
        `strategy satellite failed (${server.base}/missing: HTTP 404): its share 0.4 stays in cash`
      ])
      // And an HTTP strategy that answers blends like any other.
      const ok = yield* resolve(coreAndSatellite({ http: { url: `${server.base}/allocations` } }))
      expect(weights(ok.targets)).toEqual({ BND: "0.34", GLD: "0.06", VTI: "0.54" })
      expect(attribution(ok.targets)["BND"]).toEqual({ core: "0.18", satellite: "0.16" })
    }))

  it.effect("shares must sum to 1; strategy names once", () =>
    Effect.gen(function*() {
      const shares = yield* failure({
        blend: {
          strategies: [{ name: "a", share: 0.6, source: "core.csv" }, { name: "b", share: 0.3, source: "growth.csv" }]
        }
      })
      expect(shares).toBe(
        "keel.yaml: accounts[0].targets.blend.strategies: sum of shares: expected shares that sum to 1 (tolerance 0.000000001), got \"0.9\""
      )
      const twice = yield* failure({
        blend: {
          strategies: [{ name: "a", share: 0.5, source: "core.csv" }, { name: "a", share: 0.5, source: "growth.csv" }]
        }
      })
      expect(twice).toBe(
        "keel.yaml: accounts[0].targets.blend.strategies[1].name: expected each strategy name once (duplicate), got \"a\""
      )
      // A strategy's own field is named by its place in the list.
      const share = yield* failure({
        blend: {
          strategies: [{ name: "a", share: 1, source: "core.csv" }, { name: "b", share: "lots", source: "growth.csv" }]
        }
      })
      expect(share).toBe(
        "keel.yaml: accounts[0].targets.blend.strategies[1].share: expected a share greater than 0 and at most 1, got \"lots\""
      )
      // A failed strategy whose name needs quoting in a path is still named as failed.
      expect(
        yield* failure({
          blend: {
            strategies: [{ name: "core", share: 0.5, source: "core.csv" }, {
              name: "my picks",
              share: 0.5,
              source: "nowhere.csv"
            }]
          }
        })
      ).toBe(
        "keel.yaml: accounts[0].targets.blend: strategy my picks failed: nowhere.csv: cannot read the targets file: no such file"
      )
    }))
})

// ---------------------------------------------------------------------------------------
// Regime
// ---------------------------------------------------------------------------------------

const STRATEGIES = {
  growth: { file: "growth.csv" },
  balanced: { file: "core.csv" },
  defensive: { file: "defensive.csv" },
  cash: { file: "cash.json" }
} as const
const MAP = {
  uptrend_low_vol: "growth",
  uptrend_high_vol: "balanced",
  downtrend_low_vol: "defensive",
  downtrend_high_vol: "cash"
}

const regime = (overrides: Record<string, unknown> = {}): SourceConfig => ({
  regime: {
    history: "regime-history.csv",
    benchmark: "SPY",
    trendDays: 3,
    volatilityIndex: "VIX",
    indexThreshold: 20,
    strategies: STRATEGIES,
    map: MAP,
    ...overrides
  }
})

describe("regime", () => {
  const cases: ReadonlyArray<readonly [string, string, string, Record<string, string>]> = [
    ["2026-03-03", "uptrend_low_vol", "growth", { QQQ: "0.6", VTI: "0.4" }],
    ["2026-03-04", "uptrend_high_vol", "balanced", { BND: "0.3", GLD: "0.1", VTI: "0.5" }],
    ["2026-03-06", "downtrend_high_vol", "cash", {}],
    ["2026-03-07", "downtrend_low_vol", "defensive", { BND: "0.6", GLD: "0.2", VTI: "0.2" }]
  ]
  for (const [asOf, expected, strategy, expectedWeights] of cases) {
    it.effect(`as of ${asOf}: ${expected} → ${strategy}, attributed to it`, () =>
      Effect.gen(function*() {
        const r = yield* resolve(regime(), { asOf })
        expect(r.regime?.regime).toBe(expected)
        expect(r.regime?.strategy).toBe(strategy)
        expect(weights(r.targets)).toEqual(expectedWeights)
        for (const t of r.targets.weights) {
          expect(t.attribution.map((a) => a.strategy)).toEqual([strategy])
          expect(primaryStrategy(t)).toBe(strategy)
        }
        expectAttributionSums(r.targets)
      }))
  }

  it.effect("reports its indicators: the benchmark against its average, the index against its threshold", () =>
    Effect.gen(function*() {
      const r = yield* resolve(regime(), { asOf: "2026-03-06" })
      const reading = r.regime
      expect(reading?.asOf).toBe("2026-03-06")
      expect(reading?.trend).toMatchObject({ symbol: "SPY", date: "2026-03-06", days: 3, up: false })
      expect(format(reading!.trend.close)).toBe("95")
      expect(format(reading!.trend.sma)).toBe("99")
      expect(reading?.volatility).toMatchObject({ measure: "index", symbol: "VIX", date: "2026-03-06", high: true })
      expect(format(reading!.volatility.level)).toBe("25")
      expect(format(reading!.volatility.threshold)).toBe("20")
    }))

  it.effect("the map may be a file", () =>
    Effect.gen(function*() {
      const r = yield* resolve(
        regime({ strategies: { growth: STRATEGIES.growth, defensive: STRATEGIES.defensive }, map: "regime-map.yaml" }),
        { asOf: "2026-03-03" }
      )
      expect(r.regime?.strategy).toBe("growth")
      expect(weights(r.targets)).toEqual({ QQQ: "0.6", VTI: "0.4" })
    }))

  it.effect("without an index: the benchmark's realized volatility", () =>
    Effect.gen(function*() {
      const options = { volatilityIndex: null, realizedDays: 2, realizedThreshold: "0.2" }
      // As of 03-03 the returns are +1% and +0.99%: calm. As of 03-05 (+0.98%, −3.88%) well above 20% annualized.
      const calm = yield* resolve(regime(options), { asOf: "2026-03-03" })
      expect(calm.regime?.regime).toBe("uptrend_low_vol")
      expect(calm.regime?.volatility).toMatchObject({ measure: "realized", symbol: "SPY", days: 2, high: false })
      const stormy = yield* resolve(regime(options), { asOf: "2026-03-05" })
      expect(stormy.regime?.regime).toBe("downtrend_high_vol")
      expect(stormy.regime?.volatility.high).toBe(true)
    }))

  it.effect("stale history names the symbol and the date last seen", () =>
    Effect.gen(function*() {
      expect(yield* failure(regime(), { asOf: "2026-03-14" })).toBe(
        "regime-history.csv: SPY: expected a last close at most 5 calendar days before 2026-03-14, got \"2026-03-07\""
      )
      // A benchmark the history does not have at all.
      expect(yield* failure(regime({ benchmark: "IWM" }))).toBe(
        "regime-history.csv: IWM: expected closes up to 2026-03-05 (3-day average), got nothing"
      )
      // Too little history for the average.
      expect(yield* failure(regime({ trendDays: 10 }))).toBe(
        "regime-history.csv: SPY: expected at least 10 closes up to 2026-03-05 (10-day average), got 5"
      )
    }))

  it.effect("an unknown regime name in the map is an error, inline or in a file", () =>
    Effect.gen(function*() {
      expect(yield* failure(regime({ map: { ...MAP, sideways: "growth" } }))).toBe(
        "keel.yaml: accounts[0].targets.regime.map.sideways: expected a regime (uptrend_low_vol, " +
          "uptrend_high_vol, downtrend_low_vol, downtrend_high_vol), got \"sideways\""
      )
      expect(yield* failure(regime({ map: "regime-map-typo.yaml" }))).toBe(
        "regime-map-typo.yaml: uptrend_hi_vol: expected a regime (uptrend_low_vol, uptrend_high_vol, " +
          "downtrend_low_vol, downtrend_high_vol), got \"uptrend_hi_vol\""
      )
      expect(yield* failure(regime({ map: { ...MAP, uptrend_low_vol: "growht" } }))).toBe(
        "keel.yaml: accounts[0].targets.regime.map.uptrend_low_vol: expected a defined strategy (growth, " +
          "balanced, defensive, cash), got \"growht\""
      )
    }))

  it.effect("a selected regime the map leaves out is an error naming it", () =>
    Effect.gen(function*() {
      expect(yield* failure(regime({ map: { uptrend_low_vol: "growth" } }), { asOf: "2026-03-06" })).toBe(
        "keel.yaml: accounts[0].targets.regime.map.downtrend_high_vol: expected a strategy for the selected regime, got nothing"
      )
      // The same regime mapped: fine.
      expect((yield* resolve(regime({ map: { uptrend_low_vol: "growth" } }), { asOf: "2026-03-03" })).regime?.strategy)
        .toBe("growth")
    }))

  it.effect("inside a blend: the reading is kept, its strategy named outer/inner as in the attribution", () =>
    Effect.gen(function*() {
      const r = yield* resolve(
        {
          blend: {
            strategies: [{ name: "core", share: 0.5, source: "core.csv" }, {
              name: "trend",
              share: 0.5,
              source: regime()
            }]
          }
        },
        { asOf: "2026-03-03" }
      )
      expect(r.regime?.regime).toBe("uptrend_low_vol")
      expect(r.regime?.strategy).toBe("trend/growth")
      expect(attribution(r.targets)["VTI"]).toEqual({ core: "0.25", "trend/growth": "0.2" })
      expect(weights(r.targets)).toEqual({ BND: "0.15", GLD: "0.05", QQQ: "0.3", VTI: "0.45" })
    }))

  it.effect("options that are wrong are told against keel.yaml, not the history file", () =>
    Effect.gen(function*() {
      expect(yield* failure(regime({ maxStaleDays: -1 }))).toBe(
        "keel.yaml: accounts[0].targets.regime.maxStaleDays: expected a whole number of days, at least 0, got -1"
      )
      expect(yield* failure(regime({ trendDays: 2.5 }))).toBe(
        "keel.yaml: accounts[0].targets.regime.trendDays: expected a whole number, at least 1, got 2.5"
      )
    }))

  it.effect("a history file with a bad line names the file and the line", () =>
    Effect.gen(function*() {
      expect(yield* failure(regime({ history: "core.csv" }))).toBe(
        "core.csv: line 1: expected a header with date, symbol and close, got \"symbol,weight\""
      )
      expect(yield* failure(regime({ history: "short-line.csv" }))).toBe(
        "short-line.csv: line 3: expected 3 fields like the header, got \"2026-03-02,SPY\""
      )
      expect(yield* failure(momentum({ history: "bad-close.csv" }))).toBe(
        "bad-close.csv: line 3, close: expected a positive decimal, got \"-101\""
      )
    }))
})

// ---------------------------------------------------------------------------------------
// Momentum
// ---------------------------------------------------------------------------------------

const momentum = (overrides: Record<string, unknown> = {}): SourceConfig => ({
  momentum: {
    name: "trend",
    history: "momentum-history.csv",
    universe: ["QQQ", "VUG", "MTUM", "XLK"],
    lookbackDays: 4,
    top: 2,
    ...overrides
  }
})

describe("momentum", () => {
  it.effect("holds the top K by trailing return, equal-weighted, attributed to its name, with the ranking", () =>
    Effect.gen(function*() {
      const r = yield* resolve(momentum())
      expect(weights(r.targets)).toEqual({ MTUM: "0.5", QQQ: "0.5" })
      expect(attribution(r.targets)).toEqual({ MTUM: { trend: "0.5" }, QQQ: { trend: "0.5" } })
      expect(r.momentum).toHaveLength(1)
      expect(r.momentum?.[0]?.name).toBe("trend")
      expect(
        r.momentum?.[0]?.ranking.map((
          s
        ) => [s.rank, s.symbol, format(s.return), s.from.date, s.to.date, format(s.weight)])
      ).toEqual([
        [1, "QQQ", "0.12", "2026-03-01", "2026-03-05", "0.5"],
        [2, "MTUM", "0.08", "2026-03-01", "2026-03-05", "0.5"],
        [3, "VUG", "0.01", "2026-03-01", "2026-03-05", "0"],
        [4, "XLK", "-0.05", "2026-03-01", "2026-03-05", "0"]
      ])
    }))

  it.effect("score weighting: in proportion to the returns (0.12 : 0.08)", () =>
    Effect.gen(function*() {
      const r = yield* resolve(momentum({ weighting: "score" }))
      expect(weights(r.targets)).toEqual({ MTUM: "0.4", QQQ: "0.6" })
    }))

  it.effect("the default name is momentum; with nothing positive it holds cash and says so", () =>
    Effect.gen(function*() {
      const r = yield* resolve(momentum({ name: undefined, universe: ["XLK"], top: 1, positiveOnly: true }))
      expect(weights(r.targets)).toEqual({})
      expect(r.warnings).toEqual([
        "momentum strategy momentum: none of the top 1 has a positive 4-day return, so it holds cash"
      ])
    }))

  it.effect("stale or missing history names the symbol", () =>
    Effect.gen(function*() {
      expect(yield* failure(momentum(), { asOf: "2026-03-20" })).toBe(
        "momentum-history.csv: QQQ: expected a last close at most 5 calendar days before 2026-03-20, got \"2026-03-05\""
      )
      expect(yield* failure(momentum({ universe: ["QQQ", "ARKK"] }))).toBe(
        "momentum-history.csv: ARKK: expected closes up to 2026-03-05 (4-day momentum), got nothing"
      )
    }))

  it.effect("options that are wrong are told against keel.yaml at their own field", () =>
    Effect.gen(function*() {
      expect(yield* failure(momentum({ top: 0 }))).toBe(
        "keel.yaml: accounts[0].targets.momentum.top: expected a whole number, at least 1, got 0"
      )
      expect(yield* failure(momentum({ universe: ["QQQ", "QQQ"] }))).toBe(
        "keel.yaml: accounts[0].targets.momentum.universe[1]: expected each symbol once (duplicate), got \"QQQ\""
      )
      expect(yield* failure(momentum({ maxStaleDays: -2 }))).toBe(
        "keel.yaml: accounts[0].targets.momentum.maxStaleDays: expected a whole number of days, at least 0, got -2"
      )
    }))

  it.effect("in a blend: nested attribution, and the ranking is kept", () =>
    Effect.gen(function*() {
      const r = yield* resolve({
        blend: {
          strategies: [
            { name: "core", share: 0.75, source: "core.csv" },
            { name: "signals", share: 0.25, source: momentum() }
          ]
        }
      })
      expect(weights(r.targets)).toEqual({ BND: "0.225", GLD: "0.075", MTUM: "0.125", QQQ: "0.125", VTI: "0.375" })
      expect(attribution(r.targets)["QQQ"]).toEqual({ "signals/trend": "0.125" })
      expect(r.momentum?.map((m) => m.name)).toEqual(["trend"])
    }))
})

// ---------------------------------------------------------------------------------------
// Replacement sets
// ---------------------------------------------------------------------------------------

describe("replacement sets", () => {
  it.effect("applied to the resolved targets: weight and attribution move, every substitution reported", () =>
    Effect.gen(function*() {
      const r: Resolved = yield* resolve(coreAndSatellite({ file: "satellite.json" }), { set: "ira" })
      // ARKK 0.12 → QQQ (0.2 + 0.12); GLD 0.06 → IAU.
      expect(weights(r.targets)).toEqual({ BND: "0.18", IAU: "0.06", QQQ: "0.32", VTI: "0.38" })
      expect(attribution(r.targets)).toMatchObject({ IAU: { core: "0.06" }, QQQ: { satellite: "0.32" } })
      expectAttributionSums(r.targets)
      expect(
        r.substitutions.map((s) => [s.source, s.target, format(s.scale), format(s.weightMoved), format(s.weightAdded)])
      ).toEqual([
        ["ARKK", "QQQ", "1", "0.12", "0.12"],
        ["GLD", "IAU", "1", "0.06", "0.06"]
      ])
    }))

  it.effect("a rule whose source is not targeted does nothing", () =>
    Effect.gen(function*() {
      const r = yield* resolve("growth.csv", { set: "taxable" })
      expect(weights(r.targets)).toEqual({ QQQ: "0.6", VTI: "0.4" })
      expect(r.substitutions).toEqual([])
    }))

  it.effect("an unknown set name is an error listing the known sets", () =>
    Effect.gen(function*() {
      expect(yield* failure("core.csv", { set: "roth" })).toBe(
        "replacements.yaml: roth: expected a defined replacement set (ira, taxable), got \"roth\""
      )
    }))
})
