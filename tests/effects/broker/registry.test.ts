/**
 * The registry's promises about every venue it lists: a venue whose capabilities say `books`
 * provides the Books service beside its Broker (and only such a venue does), and every venue
 * takes client order ids long enough for the digest form a run uses for an id it has to cut.
 * Each venue is built from a keel.yaml block as a run builds it: a real SQLite file, a real
 * HTTP client (building the Alpaca Broker sends nothing).
 */
import { afterAll, describe, expect, it } from "@effect/vitest"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as FetchHttpClient from "effect/http/FetchHttpClient"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { Books } from "../../../src/effects/Broker.ts"
import {
  BrokerConfig,
  brokerOf,
  capabilitiesOf,
  type VenueKind,
  venueKinds
} from "../../../src/effects/broker/registry.ts"
import * as SqliteClient from "../../../src/effects/sql/SqliteClient.ts"

const root = Fs.mkdtempSync(Path.join(Os.tmpdir(), "keel-registry-test-"))
afterAll(() => Fs.rmSync(root, { recursive: true, force: true }))

/** A block of each venue, as keel.yaml would hold it (the type makes a new venue add its own). */
const blocks: Record<VenueKind, unknown> = {
  paper: { kind: "paper", books: Path.join(root, "paper-books.db"), randomWalk: { seed: 1, prices: { AAPL: "100" } } },
  alpaca: { kind: "alpaca" }
}

const context = (kind: VenueKind) => ({
  file: Path.join(root, "keel.yaml"),
  dir: root,
  at: "accounts[0].broker",
  account: `registry-${kind}`,
  fractional: true
})

const credentials = ConfigProvider.layer(
  ConfigProvider.fromEnv({ env: { APCA_API_KEY_ID: "PKREGISTRYTEST", APCA_API_SECRET_KEY: "registry-secret" } })
)

/** The services a venue's layer provides, built from its block. */
const servicesOf = (kind: VenueKind) =>
  Effect.gen(function*() {
    const block = Schema.decodeUnknownSync(BrokerConfig)(blocks[kind])
    const venue = yield* brokerOf(block, context(kind))
    return yield* Layer.build(venue.layer.pipe(
      Layer.provide(SqliteClient.layer({ filename: Path.join(root, `${kind}.db`) })),
      Layer.provide(FetchHttpClient.layer)
    ))
  }).pipe(Effect.provide(credentials))

describe("every venue", () => {
  for (const kind of venueKinds) {
    it.effect(`${kind}: provides Books exactly when its capabilities say books`, () =>
      Effect.gen(function*() {
        const services = yield* servicesOf(kind)
        expect(Option.isSome(Context.getOption(services, Books))).toBe(capabilitiesOf(kind).books)
      }).pipe(Effect.scoped))

    it(`${kind}: takes client order ids of at least 8 characters (a cut id's digest form)`, () => {
      expect(capabilitiesOf(kind).clientOrderIdLength).toBeGreaterThanOrEqual(8)
    })
  }
})
