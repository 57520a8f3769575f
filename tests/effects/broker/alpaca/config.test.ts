/**
 * An Alpaca account in keel.yaml: nobody trades real money by accident, and missing
 * credentials are one clear line. Every case fails before any request is made (the hosts
 * named here are never contacted: the checks run before a broker is built).
 */
import { afterAll, describe, expect, it } from "@effect/vitest"
import { firstAccount, singleLine, workspace } from "../../../support/cli.ts"

const ws = workspace("keel-alpaca-config-")
afterAll(ws.cleanup)

const alpaca = (name: string, broker: Record<string, unknown>) =>
  ws.editConfig((c) => {
    firstAccount(c).broker = { kind: "alpaca", ...broker }
  }, name)

const KEYS = { APCA_API_KEY_ID: "PKTEST", APCA_API_SECRET_KEY: "secret-value-123" }

describe("alpaca accounts in keel.yaml", () => {
  it("the live host without live: true is refused: exit 2, one line, nothing created", async () => {
    const config = alpaca("live-host.yaml", { tradingUrl: "https://api.alpaca.markets" })
    const r = await ws.run(["run", "--config", config, "--account", "demo", "--execute"], KEYS)
    expect(r.code).toBe(2)
    expect(singleLine(r.stderr)).toBe(
      "live-host.yaml: accounts[0].broker.tradingUrl: expected a paper host unless the account says live: true (real money), got \"https://api.alpaca.markets\""
    )
    expect(ws.exists(".keel")).toBe(false)
  })

  it("missing credentials name the variable, never a value: exit 2", async () => {
    const config = alpaca("no-keys.yaml", { keyIdEnv: "MY_ALPACA_KEY", tradingUrl: "http://127.0.0.1:9" })
    const r = await ws.run(["run", "--config", config, "--account", "demo"], { ...KEYS, MY_ALPACA_KEY: undefined })
    expect(r.code).toBe(2)
    expect(singleLine(r.stderr)).toBe(
      "no-keys.yaml: accounts[0].broker.keyIdEnv: " +
        "expected the environment variable MY_ALPACA_KEY to hold the Alpaca API key id, got nothing"
    )
    const secret = await ws.run([
      "run",
      "--config",
      alpaca("no-secret.yaml", { tradingUrl: "http://127.0.0.1:9" }),
      "--account",
      "demo"
    ], {
      ...KEYS,
      APCA_API_SECRET_KEY: ""
    })
    expect(secret.code).toBe(2)
    expect(singleLine(secret.stderr)).toMatch(/APCA_API_SECRET_KEY to hold the Alpaca API secret key, got nothing$/)
  })

  it("an unknown field of an alpaca broker is named with the fields it has", async () => {
    const r = await ws.run(["run", "--config", alpaca("typo.yaml", { fead: "sip" }), "--account", "demo"], KEYS)
    expect(r.code).toBe(2)
    expect(singleLine(r.stderr)).toMatch(
      /^typo\.yaml: accounts\[0\]\.broker\.fead: expected an alpaca broker field \(kind, live, .*feed.*\), got "fead"$/
    )
  })

  it("a feed other than iex or sip is refused", async () => {
    const r = await ws.run(["run", "--config", alpaca("feed.yaml", { feed: "otc" }), "--account", "demo"], KEYS)
    expect(r.code).toBe(2)
    expect(singleLine(r.stderr)).toBe("feed.yaml: accounts[0].broker.feed: expected \"iex\" | \"sip\", got \"otc\"")
  })

  for (
    const [value, expected] of [
      [-5, "expected a whole number of at least 1, got -5"],
      [0, "expected a whole number of at least 1, got 0"],
      [1.5, "expected a whole number of at least 1, got 1.5"],
      ["x", "expected number, got \"x\""]
    ] as const
  ) {
    it(`requestsPerMinute: ${JSON.stringify(value)} is refused (never defaulted): exit 2, one line naming field and value`, async () => {
      const config = alpaca("rpm.yaml", { tradingUrl: "http://127.0.0.1:9", requestsPerMinute: value })
      const r = await ws.run(["run", "--config", config, "--account", "demo", "--execute"], KEYS)
      expect(r.code).toBe(2)
      expect(singleLine(r.stderr)).toBe(`rpm.yaml: accounts[0].broker.requestsPerMinute: ${expected}`)
      expect(ws.exists(".keel")).toBe(false)
    })
  }

  for (
    const [field, value, expected] of [
      ["tradingUrl", "ftp://paper-api.alpaca.markets", "an http(s) URL"],
      ["tradingUrl", "paper-api.alpaca.markets", "an http(s) URL"],
      ["dataUrl", "wss://data.alpaca.markets", "an http(s) URL"],
      ["streamUrl", "https://paper-api.alpaca.markets/stream", "a ws(s) URL"],
      ["streamUrl", "not a url", "a ws(s) URL"]
    ] as const
  ) {
    it(`${field}: ${JSON.stringify(value)} is refused: exit 2, one line naming the field and the value`, async () => {
      const r = await ws.run(["run", "--config", alpaca("url.yaml", { [field]: value }), "--account", "demo"], KEYS)
      expect(r.code).toBe(2)
      expect(singleLine(r.stderr)).toBe(
        `url.yaml: accounts[0].broker.${field}: expected ${expected}, got ${JSON.stringify(value)}`
      )
    })
  }
})
