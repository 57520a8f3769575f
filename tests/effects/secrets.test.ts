/**
 * Secrets: scrubbed from text and JSON (credential-named fields at any depth, configured values
 * inside any string, longest first), and read from the environment as one clear line when missing.
 */
import { describe, expect, it } from "@effect/vitest"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import { REDACTED, scrub, scrubRead, secretFromEnv, SecretsRead } from "../../src/effects/secrets.ts"

describe("scrub", () => {
  it("scrub: authorization headers and API key fields at any depth, secrets inside longer strings", () => {
    const scrubbed = scrub(
      {
        headers: {
          Authorization: "Bearer abc",
          "APCA-API-KEY-ID": "AKID",
          "APCA-API-SECRET-KEY": "s3cr3t",
          Accept: "json"
        },
        nested: [{ key_id: "AKID", secret_key: "s3cr3t", account_number: "123" }],
        message: "request with s3cr3t failed"
      },
      ["s3cr3t"]
    )
    expect(scrubbed).toEqual({
      headers: {
        Authorization: REDACTED,
        "APCA-API-KEY-ID": REDACTED,
        "APCA-API-SECRET-KEY": REDACTED,
        Accept: "json"
      },
      nested: [{ key_id: REDACTED, secret_key: REDACTED, account_number: REDACTED }],
      message: `request with ${REDACTED} failed`
    })
  })

  it("text: every occurrence, a secret containing another replaced whole, short values left alone", () => {
    expect(scrub("key PKTEST123 and PKTEST123456, PKTEST123 again; 42", ["PKTEST123", "PKTEST123456", "42"])).toBe(
      `key ${REDACTED} and ${REDACTED}, ${REDACTED} again; 42`
    )
  })

  it("messages pass minLength 1: a short secret goes too, inside any string", () => {
    expect(scrub("key AK42 refused (AK42)", ["AK42", ""], { minLength: 1 })).toBe(
      `key ${REDACTED} refused (${REDACTED})`
    )
  })
})

describe("secretFromEnv", () => {
  const source = { file: "keel.yaml", field: "accounts[0].broker.keyIdEnv", variable: "MY_KEY", what: "the key" }
  const withEnv = (env: Record<string, string>) => Effect.provide(ConfigProvider.layer(ConfigProvider.fromEnv({ env })))

  it.effect("reads the variable, redacted", () =>
    Effect.gen(function*() {
      const secret = yield* secretFromEnv(source).pipe(withEnv({ MY_KEY: "value-1" }))
      expect(Redacted.value(secret)).toBe("value-1")
      expect(JSON.stringify(secret)).not.toContain("value-1")
      expect(Redacted.isRedacted(secret)).toBe(true)
    }))

  it.effect("missing or blank is one line naming the file, the field and the variable", () =>
    Effect.gen(function*() {
      for (const env of [{}, { MY_KEY: "  " }]) {
        const error = yield* Effect.flip(secretFromEnv(source).pipe(withEnv(env)))
        expect(error.message).toBe(
          "keel.yaml: accounts[0].broker.keyIdEnv: expected the environment variable MY_KEY to hold the key, got nothing"
        )
      }
    }))

  it.effect("a secret typed where the variable's name belongs is refused without being shown", () =>
    Effect.gen(function*() {
      for (const pasted of ["pk/Secret+Value==", "https://hooks.example.com/T0/secret", "1KEY", "MY-KEY", ""]) {
        const error = yield* Effect.flip(
          secretFromEnv({ ...source, variable: pasted }).pipe(withEnv({ [pasted]: "x" }))
        )
        expect(error.message).toBe(
          "keel.yaml: accounts[0].broker.keyIdEnv: expected the name of an environment variable " +
            "(letters, digits and _, not starting with a digit), got something else (not shown: it may be a secret)"
        )
      }
    }))

  it.effect("every secret read is remembered, so a last-resort message can be scrubbed of it", () =>
    Effect.gen(function*() {
      yield* secretFromEnv(source).pipe(withEnv({ MY_KEY: "k3y-value" }))
      const scrubbed = yield* scrubRead
      expect(scrubbed("failed with k3y-value in the URL")).toBe(`failed with ${REDACTED} in the URL`)
    }).pipe(Effect.provideService(SecretsRead, new Set())))
})
