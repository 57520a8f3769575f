/**
 * Prism (Stoplight's OpenAPI mock server) as a child process. As a mock it answers every
 * request with the spec's example (or a value generated from the schema); as a proxy it
 * forwards to an upstream server and reports answers that do not match the spec (`--errors`:
 * HTTP 500 with the violations). Either way it refuses a request that does not validate
 * against the spec (HTTP 422 or 400 plus an `sl-violations` header).
 *
 * It runs on the Node that runs the tests (`process.execPath`, Node 24 through npm/npx), on
 * 127.0.0.1 and a free port. Startup takes a few seconds: start it once per test file.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { createRequire } from "node:module"
import { createServer } from "node:net"
import { dirname, join } from "node:path"

export interface Prism {
  /** `http://127.0.0.1:<port>` */
  readonly url: string
  /** Everything Prism printed so far (for failure messages). */
  readonly output: () => string
  readonly stop: () => Promise<void>
}

const require = createRequire(import.meta.url)
const prismEntry = join(dirname(require.resolve("@stoplight/prism-cli/package.json")), "dist", "index.js")

const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      const port = typeof address === "object" && address !== null ? address.port : 0
      server.close(() => resolve(port))
    })
  })

const stopChild = (child: ChildProcess): Promise<void> =>
  new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve()
    const timer = setTimeout(() => child.kill("SIGKILL"), 5_000)
    child.once("exit", () => {
      clearTimeout(timer)
      resolve()
    })
    child.kill("SIGTERM")
  })

export interface PrismOptions {
  /** Proxy to this server (`prism proxy <spec> <upstream> --errors`) instead of mocking. */
  readonly upstream?: string
  readonly timeoutMillis?: number
}

/**
 * Starts `prism mock <spec>` (static examples, request validation on), or `prism proxy <spec>
 * <upstream> --errors`, and waits until it listens.
 */
export const startPrism = async (spec: string, options: PrismOptions = {}): Promise<Prism> => {
  const timeoutMillis = options.timeoutMillis ?? 60_000
  const port = await freePort()
  const mode = options.upstream === undefined ? ["mock", spec] : ["proxy", spec, options.upstream, "--errors"]
  const child = spawn(process.execPath, [prismEntry, ...mode, "-h", "127.0.0.1", "-p", String(port)], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, NO_COLOR: "1", FORCE_COLOR: "0" }
  })
  let output = ""
  const listening = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`Prism did not start within ${timeoutMillis} ms:\n${output}`)),
      timeoutMillis
    )
    const onData = (chunk: Buffer) => {
      output += chunk.toString("utf8")
      if (output.includes("Prism is listening")) {
        clearTimeout(timer)
        resolve()
      }
    }
    child.stdout?.on("data", onData)
    child.stderr?.on("data", onData)
    child.once("exit", (code, signal) => {
      clearTimeout(timer)
      reject(new Error(`Prism exited (${code ?? signal}) before listening:\n${output}`))
    })
  })
  try {
    await listening
  } catch (error) {
    await stopChild(child)
    throw error
  }
  return { url: `http://127.0.0.1:${port}`, output: () => output, stop: () => stopChild(child) }
}
