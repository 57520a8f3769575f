/**
 * Session lines as Schemas: the market clock's instants that may never come (a session writes
 * none as null; it reads null, and the last instant a Date can hold, what older sessions wrote
 * for never, or later, as none), and a venue's computed equity, however many places it has.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { decodeResult, encodeResult, MarketClockJson } from "../../../../src/effects/broker/recording/session.ts"
import { Decimal } from "../../../../src/kernel/decimal.ts"

const encode = Schema.encodeSync(MarketClockJson)
const decode = Schema.decodeUnknownSync(MarketClockJson)

describe("MarketClockJson", () => {
  it("writes none as null and an instant as its number", () => {
    expect(encode({ isOpen: false, nextOpen: Option.none(), nextClose: Option.some(1_785_000_000_000) })).toEqual({
      isOpen: false,
      nextOpen: null,
      nextClose: 1_785_000_000_000
    })
  })

  it("reads null, and 8.64e15 or later (older sessions' never), as none; a number as that instant", () => {
    expect(decode({ isOpen: true, nextOpen: null, nextClose: 8.64e15 })).toEqual({
      isOpen: true,
      nextOpen: Option.none(),
      nextClose: Option.none()
    })
    expect(decode({ isOpen: true, nextOpen: 9e15, nextClose: 1_785_000_000_000 })).toEqual({
      isOpen: true,
      nextOpen: Option.none(),
      nextClose: Option.some(1_785_000_000_000)
    })
  })

  it("an instant read back is the one written", () => {
    const clock = { isOpen: false, nextOpen: Option.some(1_785_000_000_000), nextClose: Option.none() }
    expect(decode(encode(clock))).toEqual(clock)
  })
})

describe("AccountStateJson", () => {
  it("records and reads back an equity past 20 places (paper values an unquoted holding at quantity × average cost)", () => {
    const equity = "9999.999999999999999999999"
    const written = encodeResult("account", {
      cash: new Decimal("1"),
      buyingPower: new Decimal("1"),
      equity: new Decimal(equity)
    })
    expect(written).toEqual({ cash: "1", buyingPower: "1", equity })
    expect((decodeResult("account", written) as { equity: Decimal }).equity.eq(equity)).toBe(true)
  })
})
