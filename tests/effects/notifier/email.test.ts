/**
 * Email against a real SMTP server on 127.0.0.1 (smtp-server) with STARTTLS and AUTH, its
 * certificate self-signed (selfsigned) and trusted through `caFile`; the message as the server
 * received it, parsed with mailparser, and the raw message searched for the password.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { type ParsedMail, simpleParser } from "mailparser"
import { once } from "node:events"
import * as Fs from "node:fs"
import type { AddressInfo } from "node:net"
import * as Os from "node:os"
import * as Path from "node:path"
import selfsigned from "selfsigned"
import { SMTPServer } from "smtp-server"
import * as Dispatch from "../../../src/effects/notifier/dispatch.ts"
import { Store } from "../../../src/effects/Store.ts"
import { tempFiles } from "../store/fixtures.ts"
import { completed, expectNoSecret, failed, services, settingsOf } from "./fixtures.ts"

const PASSWORD = "smtp-Pa55-SECRET-word"
const database = tempFiles("keel-email-")
const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "keel-email-ca-"))

interface Received {
  readonly user: unknown
  readonly secure: boolean
  readonly raw: string
  readonly mail: ParsedMail
}

/** An SMTP server on 127.0.0.1; `starttls: false`: one without STARTTLS, that would take mail and AUTH in clear. */
const smtpServer = (
  pems: { readonly private: string; readonly cert: string },
  options: { readonly starttls: boolean }
) => {
  const received: Array<Received> = []
  const server = new SMTPServer({
    secure: false,
    key: pems.private,
    cert: pems.cert,
    disabledCommands: options.starttls ? [] : ["STARTTLS"],
    allowInsecureAuth: !options.starttls,
    authMethods: ["PLAIN", "LOGIN"],
    logger: false,
    onAuth(auth, _session, done) {
      if (auth.username === "keel" && auth.password === PASSWORD) done(null, { user: auth.username })
      else done(new Error("Invalid username or password"))
    },
    onData(stream, session, done) {
      const chunks: Array<Buffer> = []
      stream.on("data", (c: Buffer) => chunks.push(c))
      stream.on("end", () => {
        const raw = Buffer.concat(chunks)
        simpleParser(raw).then((mail) => {
          received.push({ user: session.user, secure: session.secure, raw: raw.toString("utf8"), mail })
          done()
        }, done)
      })
    }
  })
  return { server, received }
}

let tls: ReturnType<typeof smtpServer>
let clear: ReturnType<typeof smtpServer>
const portOf = (s: SMTPServer) => (s.server.address() as AddressInfo).port

beforeAll(async () => {
  const pems = await selfsigned.generate([{ name: "commonName", value: "localhost" }], {
    keyType: "ec",
    algorithm: "sha256",
    extensions: [{ name: "subjectAltName", altNames: [{ type: 2, value: "localhost" }, { type: 7, ip: "127.0.0.1" }] }]
  })
  Fs.writeFileSync(Path.join(dir, "ca.pem"), pems.cert)
  tls = smtpServer(pems, { starttls: true })
  clear = smtpServer(pems, { starttls: false })
  for (const { server } of [tls, clear]) {
    server.listen(0, "127.0.0.1")
    await once(server.server, "listening")
  }
})

afterAll(async () => {
  for (const { server } of [tls, clear]) await new Promise<void>((done) => server.close(() => done()))
  Fs.rmSync(dir, { recursive: true, force: true })
})

const env = { SMTP_USER: "keel", SMTP_PASSWORD: PASSWORD }

/** The `ops` email channel on `port`, with `fields` on top. */
const emailBlock = (port: number, fields: Record<string, unknown> = {}) => ({
  channels: {
    ops: {
      kind: "email",
      host: "127.0.0.1",
      port,
      from: "Keel <keel@example.test>",
      to: ["ops@example.test", "cto@example.test"],
      userEnv: "SMTP_USER",
      passwordEnv: "SMTP_PASSWORD",
      caFile: "ca.pem",
      timeoutSeconds: 2,
      ...fields
    }
  },
  retry: { attempts: 2, delaySeconds: 0.01 }
})

describe("email", () => {
  it.live("sends over STARTTLS with AUTH: the subject, the summary and the report path, never the password", () =>
    Effect.gen(function*() {
      const settings = yield* settingsOf(emailBlock(portOf(tls.server)), env, {}, dir)
      const notifier = yield* Dispatch.make(settings)
      yield* notifier.notify({ ...failed("acct-1"), reportUrl: "https://reports.example.test/run-acct-1" })

      expect(tls.received).toHaveLength(1)
      const [got] = tls.received
      expect(got).toMatchObject({ user: "keel", secure: true })
      expect(got?.mail.subject).toBe("Keel execute acct-1: failed at sell-phase")
      expect(got?.mail.from?.value).toMatchObject([{ name: "Keel", address: "keel@example.test" }])
      expect(got?.mail.to).toMatchObject({ text: "ops@example.test, cto@example.test" })
      expect(got?.mail.text?.trim().split("\n")).toEqual([
        "Keel execute acct-1 (run-acct-1) failed at sell-phase: broker: placeOrder failed: HTTP 503; orders placed 1, " +
        "filled 0, failed 1; cash 100000 → 1991.94",
        "drift 12.34% → 0.12%",
        "errors: broker",
        "report: https://reports.example.test/run-acct-1",
        "artifacts: artifacts/run-acct-1"
      ])
      expectNoSecret([PASSWORD], [got?.raw ?? ""])
      expect(yield* (yield* Store).deliveries("run-acct-1")).toMatchObject([
        { channel: "ops", status: "delivered", attempts: 1 }
      ])
    }).pipe(Effect.provide(services(database()))))

  it.live("a server without STARTTLS gets nothing (never sent in clear); a wrong password is EAUTH; both recorded", () =>
    Effect.gen(function*() {
      const store = yield* Store
      const plain = yield* settingsOf(emailBlock(portOf(clear.server)), env, {}, dir)
      const refused = yield* Effect.flip((yield* Dispatch.make(plain)).notify(completed("b")))
      expect(clear.received).toHaveLength(0)
      expect(refused.message).toMatch(/^ops: ETLS: .*STARTTLS.* after 2 attempt\(s\)$/)

      const wrong = yield* settingsOf(
        emailBlock(portOf(tls.server)),
        { ...env, SMTP_PASSWORD: "not-it-SECRET" },
        {},
        dir
      )
      const denied = yield* Effect.flip((yield* Dispatch.make(wrong)).notify(completed("c")))
      expect(denied.message).toMatch(/^ops: EAUTH: Invalid login/)
      const records = [...yield* store.deliveries("run-b"), ...yield* store.deliveries("run-c")]
      expect(records.map((r) => [r.subject, r.status, r.attempts])).toEqual([["run-b", "failed", 2], [
        "run-c",
        "failed",
        2
      ]])
      expectNoSecret([PASSWORD, "not-it-SECRET"], [refused.message, denied.message, JSON.stringify(records)])
    }).pipe(Effect.provide(services(database()))))

  it.live("tls none: only to a loopback server, which then takes the mail without TLS", () =>
    Effect.gen(function*() {
      const elsewhere = yield* Effect.flip(settingsOf(emailBlock(25, { host: "smtp.example.test", tls: "none" }), env))
      expect(elsewhere.message).toBe(
        `keel.yaml: notifications.channels.ops.tls: "none" sends mail and credentials in clear: only for a server on ` +
          `127.0.0.1 or ::1`
      )
      const settings = yield* settingsOf(emailBlock(portOf(clear.server), { tls: "none" }), env, {}, dir)
      yield* (yield* Dispatch.make(settings)).notify(completed("d"))
      expect(clear.received.at(-1)).toMatchObject({ user: "keel", secure: false })
    }).pipe(Effect.provide(services(database()))))
})
