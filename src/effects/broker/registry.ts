/**
 * Every venue Keel can trade at, by the `kind` keel.yaml names it with. Adding a venue is one
 * folder under `broker/` and one line here.
 */
import type { Capabilities } from "../Broker.ts"
import { capabilities as alpaca } from "./alpaca/capabilities.ts"
import { capabilities as paper } from "./paper/capabilities.ts"

export const capabilities = { paper, alpaca } satisfies Readonly<Record<string, Capabilities>>

export type VenueKind = keyof typeof capabilities

export const venueKinds = Object.keys(capabilities) as ReadonlyArray<VenueKind>
