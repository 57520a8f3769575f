/**
 * Signed triggers: `POST /v1/trigger` carries `X-Keel-Timestamp` (Unix seconds) and
 * `X-Keel-Signature`, the hex HMAC-SHA256 of `<timestamp>.<raw body>` under a secret only the
 * sender and the service know. A request that is unsigned, signed wrongly or signed more than
 * `window` away from now (a replay) starts nothing. Compared in constant time.
 */
import { createHmac, timingSafeEqual } from "node:crypto"

export const TIMESTAMP_HEADER = "x-keel-timestamp"
export const SIGNATURE_HEADER = "x-keel-signature"

/** How far a signed timestamp may be from the service's clock, either way. */
export const SIGNATURE_WINDOW_SECONDS = 300

/** The signature of `body` sent at `timestamp` (Unix seconds, as text). */
export const sign = (secret: string, timestamp: string, body: string): string =>
  createHmac("sha256", secret).update(`${timestamp}.${body}`).digest("hex")

export type Verdict =
  | { readonly _tag: "Valid" }
  | { readonly _tag: "Invalid"; readonly reason: string }

const HEX_SIGNATURE = /^(?:sha256=)?([0-9a-f]{64})$/i
const UNIX_SECONDS = /^\d{1,12}$/

/** Whether a request's headers sign its body, at `nowMillis`; why not, in words safe to answer with. */
export const verify = (
  secret: string,
  headers: { readonly timestamp: string | undefined; readonly signature: string | undefined },
  body: string,
  nowMillis: number,
  windowSeconds = SIGNATURE_WINDOW_SECONDS
): Verdict => {
  const { signature, timestamp } = headers
  if (timestamp === undefined || signature === undefined) {
    return { _tag: "Invalid", reason: `unsigned: expected ${TIMESTAMP_HEADER} and ${SIGNATURE_HEADER} headers` }
  }
  if (!UNIX_SECONDS.test(timestamp)) return { _tag: "Invalid", reason: `${TIMESTAMP_HEADER}: expected Unix seconds` }
  if (Math.abs(nowMillis / 1000 - Number(timestamp)) > windowSeconds) {
    return { _tag: "Invalid", reason: `${TIMESTAMP_HEADER}: more than ${windowSeconds} s from the service's clock` }
  }
  const hex = HEX_SIGNATURE.exec(signature)?.[1]
  const expected = Buffer.from(sign(secret, timestamp, body), "hex")
  const given = hex === undefined ? undefined : Buffer.from(hex, "hex")
  return given !== undefined && given.length === expected.length && timingSafeEqual(given, expected)
    ? { _tag: "Valid" }
    : { _tag: "Invalid", reason: "bad signature" }
}
