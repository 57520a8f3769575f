/**
 * Every venue Keel can trade at, by the `kind` keel.yaml names it with: its block's Schema, its
 * capabilities and its Broker. Adding a venue is one folder under `broker/` (config.ts,
 * capabilities.ts, layer.ts, venue.ts, …) and one line here.
 */
import * as Schema from "effect/Schema"
import type { Capabilities, Venue, VenueContext } from "../Broker.ts"
import { venue as alpaca } from "./alpaca/venue.ts"
import { venue as paper } from "./paper/venue.ts"

/** Each venue is listed under the kind its block names. */
const byKind = <V extends { readonly [K in keyof V]: { readonly Config: { readonly Type: { readonly kind: K } } } }>(
  venues: V
): V => venues

export const venues = byKind({
  paper,
  alpaca
})

export const venueKinds = Object.keys(venues) as ReadonlyArray<keyof typeof venues>

/** The kind that names a venue (keel.yaml's `broker.kind`, a session header's `broker`). */
export const VenueKind = Schema.Literals(venueKinds)
export type VenueKind = typeof VenueKind.Type

/** A venue's block in keel.yaml, whichever venue it names. */
export type BrokerConfig = (typeof venues)[VenueKind]["Config"]["Type"]

/** What a venue can do, by its kind (a session header names the kind it was recorded at). */
export const capabilitiesOf = (kind: VenueKind): Capabilities => venues[kind].capabilities

/** The venue a block names. */
const venueOf = (config: BrokerConfig): Venue<Schema.Top & { readonly Type: BrokerConfig }> => venues[config.kind]

/** The Broker of an account's block (its credentials checked first). */
export const brokerOf = (config: BrokerConfig, context: VenueContext) => venueOf(config).layer(config, context)

/**
 * The `broker:` field of an account: the block of one of the venues. Its `kind` is checked
 * first, so an unknown venue is named as such, and then the block against that venue's
 * Schema, so an unknown field is named with the fields that venue has.
 */
export const BrokerConfig = Schema.StructWithRest(
  Schema.Struct({
    kind: VenueKind.annotate({ message: venueKinds.map((k) => JSON.stringify(k)).join(" or ") })
  }),
  [Schema.Record(Schema.String, Schema.Unknown)]
).pipe(Schema.decodeTo(Schema.Union(Object.values(venues).map((venue) => venue.Config))))
