/**
 * The Alpaca adapter as its tests build it against the emulator (tests/support/alpacaEmulator.ts):
 * the emulator's URLs and credentials, whole shares unless told otherwise. The faults
 * decorator's tests use it too.
 */
import * as Redacted from "effect/Redacted"
import type { AlpacaConfig } from "../../../../src/effects/broker/alpaca/config.ts"
import type { AlpacaEmulator } from "../../../support/alpacaEmulator.ts"

/** The adapter's config for an emulator. */
export const config = (emu: AlpacaEmulator, overrides: Partial<AlpacaConfig> = {}): AlpacaConfig => ({
  tradingUrl: emu.tradingUrl,
  dataUrl: emu.dataUrl,
  streamUrl: emu.streamUrl,
  feed: "iex",
  keyId: Redacted.make(emu.keyId),
  secretKey: Redacted.make(emu.secretKey),
  fractional: false,
  ...overrides
})
