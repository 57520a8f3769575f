/**
 * Documents are Schemas encoded once: what Keel does not know is written as null, in its place.
 */
import * as Schema from "effect/Schema"
import { describe, expect, it } from "vitest"
import { DecimalText } from "../../../src/formats/decimal.ts"
import { Decimal } from "../../../src/kernel/decimal.ts"
import { NullWhenUnknown } from "../../../src/programs/documents/document.ts"

describe("NullWhenUnknown", () => {
  const Priced = Schema.Struct({ symbol: Schema.String, price: NullWhenUnknown(DecimalText), held: Schema.Boolean })
  const encode = Schema.encodeSync(Priced)

  it("writes an unknown value, missing or undefined, as null, in its place", () => {
    expect(JSON.stringify(encode({ symbol: "A", held: true }))).toBe("{\"symbol\":\"A\",\"price\":null,\"held\":true}")
    expect(encode({ symbol: "A", price: undefined, held: false })).toEqual({ symbol: "A", price: null, held: false })
  })

  it("writes a known value through its Schema, and reads null back as unknown", () => {
    expect(encode({ symbol: "A", price: new Decimal("12.50"), held: true }).price).toBe("12.5")
    expect(Schema.decodeSync(Priced)({ symbol: "A", price: null, held: true })).toEqual({ symbol: "A", held: true })
  })
})
