/**
 * Secrets (API keys, account numbers, webhook URLs with tokens): read from the environment as
 * redacted Config, never from keel.yaml, and scrubbed from everything that leaves the process
 * (error messages, logs, recordings).
 */
import * as Config from "effect/Config"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import { InputFileError } from "./inputs.ts"

/** What a scrubbed secret reads as. */
export const REDACTED = "[REDACTED]"

/**
 * In a recording, secrets shorter than this are not searched for inside strings (they would
 * match inside decimals and ids). An error or log message passes 1: every credential goes.
 */
const MIN_SECRET_LENGTH = 6

/** Keys whose values are credentials wherever they appear (headers, configs, payloads). */
const SECRET_KEY = new RegExp(
  "^(authorization|apca-api-key-id|apca-api-secret-key|key_id|secret_key|api[-_]?key(_id)?|api[-_]?secret|secret" +
    "|token|access[-_]?token|password|account_number)$",
  "i"
)

export interface ScrubOptions {
  /** Shorter secrets are left inside strings (default: the recording rule, 6; messages pass 1). */
  readonly minLength?: number
}

/**
 * `value` with every secret removed: each occurrence of one of `secrets` (of at least
 * `minLength` characters) inside any string, longest first, so a secret that contains another
 * is replaced whole; and, in a JSON value, the values under credential-like keys at any depth.
 */
export function scrub(value: string, secrets: ReadonlyArray<string>, options?: ScrubOptions): string
export function scrub(value: unknown, secrets: ReadonlyArray<string>, options?: ScrubOptions): unknown
export function scrub(value: unknown, secrets: ReadonlyArray<string>, options: ScrubOptions = {}): unknown {
  const minLength = Math.max(options.minLength ?? MIN_SECRET_LENGTH, 1)
  const words = secrets.filter((s) => s.length >= minLength).sort((a, b) => b.length - a.length)
  const walk = (v: unknown): unknown => {
    if (typeof v === "string") return words.reduce((text, secret) => text.split(secret).join(REDACTED), v)
    if (Array.isArray(v)) return v.map(walk)
    if (typeof v === "object" && v !== null) {
      const out: Record<string, unknown> = {}
      for (const [key, inner] of Object.entries(v)) {
        out[walk(key) as string] = SECRET_KEY.test(key)
          ? REDACTED
          : walk(inner)
      }
      return out
    }
    return v
  }
  return walk(value)
}

/**
 * The secrets this program has read from the environment, so that its last-resort message (an
 * unexpected error, whatever it quotes) can be scrubbed of them. `main` provides a fresh set.
 */
export const SecretsRead = Context.Reference<Set<string>>("keel/effects/secrets/SecretsRead", {
  defaultValue: () => new Set()
})

/** A function that scrubs every secret read so far (any length) from a message. */
export const scrubRead: Effect.Effect<(message: string) => string> = Effect.map(
  SecretsRead,
  (read) => (message) => scrub(message, [...read], { minLength: 1 })
)

/** What a name of an environment variable looks like (POSIX); anything else may be a secret typed in its place. */
export const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/

/** What a field that names an environment variable expects, for errors that never echo the value. */
export const ENV_NAME_EXPECTED =
  "the name of an environment variable (letters, digits and _, not starting with a digit)"

/** Where a config names the variable of a secret, for the one line that says it is missing. */
export interface SecretSource {
  /** The config file. */
  readonly file: string
  /** The field naming the variable, e.g. `accounts[0].broker.keyIdEnv`. */
  readonly field: string
  readonly variable: string
  /** What the variable holds, e.g. "the Alpaca API key id". */
  readonly what: string
}

/**
 * A secret from the environment, redacted; missing or empty is one line naming the file, the field
 * and the variable, never a value. A "variable" that is no variable's name (a secret pasted where
 * its name belongs) is refused without being shown.
 */
export const secretFromEnv = (source: SecretSource): Effect.Effect<Redacted.Redacted<string>, InputFileError> => {
  const fail = (detail: string) =>
    Effect.fail(new InputFileError({ file: source.file, detail: `${source.field}: ${detail}` }))
  if (!ENV_NAME.test(source.variable)) {
    return fail(`expected ${ENV_NAME_EXPECTED}, got something else (not shown: it may be a secret)`)
  }
  return Config.Redacted(source.variable).pipe(
    Effect.flatMap((value) => (Redacted.value(value).trim() === "" ? Effect.fail(undefined) : Effect.succeed(value))),
    Effect.tap((value) => Effect.map(SecretsRead, (read) => read.add(Redacted.value(value)))),
    Effect.catch(() => fail(`expected the environment variable ${source.variable} to hold ${source.what}, got nothing`))
  )
}
