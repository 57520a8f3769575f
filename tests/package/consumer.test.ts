/**
 * Keel as another project gets it: packed with `npm pack` (whose `prepare` builds dist/), installed
 * from the tarball into a scratch TypeScript project, typechecked there with TypeScript 7 and run with
 * Node 24. The consumers import only the package's entry points, so a public type that does not resolve
 * for a consumer (a type package left in devDependencies, an export without its .d.ts) fails here.
 *
 * The package is packed from a copy of its sources, so the checkout's own dist/ (which other tests run)
 * is never rebuilt under them. npm prefers its cache (warm after `npm ci`) and asks the registry only for
 * what it lacks.
 */
import { execFile } from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import { afterAll, beforeAll, describe, expect, it } from "vitest"

const ROOT = fileURLToPath(new URL("../..", import.meta.url))
const TSC = Path.join(ROOT, "node_modules/@typescript/native/bin/tsc")

/** What `npm pack` needs to build and pack the package: its `files`, the build's inputs, and what npm always adds. */
const PACKED_SOURCES = ["package.json", "README.md", "tsconfig.json", "tsconfig.build.json", "src", "examples"]

/** Packing, installing and typechecking take a few seconds each; a loaded machine may take several times that. */
const SETUP_TIMEOUT = 120_000

interface Ran {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

/** Runs a command to its end; the Node that runs vitest (Node 24) comes first on its PATH, for npm and its scripts. */
const run = (command: string, args: ReadonlyArray<string>, cwd: string): Promise<Ran> =>
  new Promise((resolve) => {
    const env = { ...process.env, PATH: `${Path.dirname(process.execPath)}${Path.delimiter}${process.env.PATH ?? ""}` }
    execFile(command, args, { cwd, env, encoding: "utf8", maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === "number" ? error.code : null, stdout, stderr })
    })
  })

/** Runs a setup command, failing with everything it said if it does not succeed. */
const succeed = async (command: string, args: ReadonlyArray<string>, cwd: string): Promise<string> => {
  const ran = await run(command, args, cwd)
  if (ran.code !== 0) {
    throw new Error(`${command} ${args.join(" ")} exited ${ran.code}:\n${ran.stdout}\n${ran.stderr}`)
  }
  return ran.stdout
}

const devVersion = (name: string): string => {
  const manifest = JSON.parse(Fs.readFileSync(Path.join(ROOT, "package.json"), "utf8")) as {
    readonly devDependencies: Record<string, string>
  }
  const version = manifest.devDependencies[name]
  if (version === undefined) throw new Error(`package.json: no devDependency ${name}`)
  return version
}

// ---------------------------------------------------------------------------
// the consumer project
// ---------------------------------------------------------------------------

/**
 * A strict consumer that checks the .d.ts files it reaches: a type package the public types need but the
 * package does not install shows only there (TS7016); with skipLibCheck the types would silently be `any`.
 * The DOM lib is for effect's own .d.ts (Web Crypto types).
 */
const TSCONFIG = {
  compilerOptions: {
    target: "ES2024",
    lib: ["ES2024", "DOM"],
    module: "NodeNext",
    moduleResolution: "NodeNext",
    types: ["node"],
    strict: true,
    exactOptionalPropertyTypes: true,
    noUncheckedIndexedAccess: true,
    verbatimModuleSyntax: true,
    erasableSyntaxOnly: true,
    skipLibCheck: false,
    noEmit: true
  },
  include: ["*.ts"]
}

/**
 * The kernel alone: validate an account and a model, plan, print the numbers. By hand: equity = 900 +
 * 10 × 10 (AAA) + 5 × 20 (CCC) = 1100; AAA and BBB each get 550 (55 and 22 shares). CCC is untargeted:
 * all 5 sold at 20 = 100; AAA buys 45 at 10 = 450, BBB 22 at 25 = 550; cash after 900 + 100 − 1000 = 0.
 */
const KERNEL_CONSUMER = `
import * as Result from "effect/Result"
import { format, planRebalance, validateAccount, validateModel } from "keel/kernel"

const account = Result.getOrThrow(validateAccount({
  cash: "900",
  positions: [{ symbol: "AAA", quantity: "10" }, { symbol: "CCC", quantity: "5" }]
}))
const model = Result.getOrThrow(validateModel({ AAA: "0.5", BBB: "0.5" }, [
  { symbol: "AAA", bid: "10", ask: "10" },
  { symbol: "BBB", bid: "25", ask: "25" },
  { symbol: "CCC", bid: "20", ask: "20" }
]))
const rebalance = planRebalance(account, model)

console.log(JSON.stringify({
  equity: format(rebalance.plan.equity),
  cashAfter: format(rebalance.orders.cash.after),
  orders: rebalance.orders.orders.map((o) => ({
    symbol: o.symbol,
    side: o.side,
    quantity: format(o.quantity),
    price: format(o.price),
    phase: o.phase
  }))
}))
`

/**
 * The run program on the paper venue and a SQLite file: 1000 cash, AAA and BBB half each, so it buys
 * 50 AAA at 10 and 20 BBB at 25. `storeLayer` migrates the Store's tables, the paper layer its own
 * on the same SqlClient. The Notifier is the consumer's own.
 */
const PROGRAM_CONSUMER = `
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Result from "effect/Result"
import * as Paper from "keel/effects/broker/paper/layer"
import { Notifier, type RunSummary } from "keel/effects/Notifier"
import { format, validatePolicy, validateTargets } from "keel/kernel"
import { storeLayer } from "keel/programs/layers"
import { rebalanceAccount } from "keel/programs/run/rebalanceAccount"

const database = process.argv[2] ?? "keel.db"
const policy = Result.getOrThrow(validatePolicy({}))
const targets = Result.getOrThrow(validateTargets({ AAA: "0.5", BBB: "0.5" }, policy))

const summaries: Array<RunSummary> = []
const notifier = Layer.succeed(Notifier, Notifier.of({
  notify: (message) => Effect.sync(() => { if (message._tag === "Run") summaries.push(message.summary) })
}))
const paper = Paper.layer({
  account: "embedded",
  startingCash: "1000",
  quotes: { kind: "static", quotes: [{ symbol: "AAA", bid: "10", ask: "10" }, { symbol: "BBB", bid: "25", ask: "25" }] }
})

const outcome = await rebalanceAccount({
  account: "embedded",
  targets,
  policy,
  execute: true,
  ignoreMarketHours: false,
  onOpenOrders: "cancel",
  fillTimeout: "10 seconds",
  pollInterval: "1 second"
}).pipe(
  Effect.provide(Layer.mergeAll(paper.pipe(Layer.provideMerge(storeLayer(database))), notifier)),
  Effect.runPromise
)

console.log(JSON.stringify({
  status: outcome.run.status,
  notified: summaries.map((s) => s.status),
  orders: outcome.orders.map((o) => ({
    symbol: o.symbol,
    side: o.side,
    status: o.status,
    filled: format(o.filledQuantity),
    price: o.averageFillPrice === undefined ? null : format(o.averageFillPrice)
  }))
}))
`

// ---------------------------------------------------------------------------
// pack, install, check
// ---------------------------------------------------------------------------

const root = Fs.mkdtempSync(Path.join(Os.tmpdir(), "keel-package-"))
const stage = Path.join(root, "keel")
const consumer = Path.join(root, "consumer")
afterAll(() => Fs.rmSync(root, { recursive: true, force: true }))

/** Packs a copy of the package; the tarball's path. */
const pack = async (): Promise<string> => {
  for (const source of PACKED_SOURCES) {
    Fs.cpSync(Path.join(ROOT, source), Path.join(stage, source), { recursive: true })
  }
  Fs.symlinkSync(Path.join(ROOT, "node_modules"), Path.join(stage, "node_modules"), "dir")
  const output = await succeed("npm", ["pack", "--json", "--pack-destination", root], stage)
  const [packed] = JSON.parse(output) as ReadonlyArray<{ readonly filename: string }>
  if (packed === undefined) throw new Error(`npm pack named no tarball:\n${output}`)
  return Path.join(root, packed.filename)
}

/** A new project that installs the tarball, with the Effect and Node types this repo is built against. */
const install = async (tarball: string): Promise<void> => {
  Fs.mkdirSync(consumer)
  const manifest = { name: "keel-consumer", version: "0.0.0", private: true, type: "module" }
  Fs.writeFileSync(Path.join(consumer, "package.json"), JSON.stringify(manifest))
  Fs.writeFileSync(Path.join(consumer, "tsconfig.json"), JSON.stringify(TSCONFIG))
  Fs.writeFileSync(Path.join(consumer, "kernel.ts"), KERNEL_CONSUMER)
  Fs.writeFileSync(Path.join(consumer, "program.ts"), PROGRAM_CONSUMER)
  await succeed("npm", [
    "install",
    "--prefer-offline",
    "--no-audit",
    "--no-fund",
    "--loglevel=error",
    tarball,
    `effect@${devVersion("effect")}`,
    `@types/node@${devVersion("@types/node")}`
  ], consumer)
}

beforeAll(async () => {
  await install(await pack())
}, SETUP_TIMEOUT)

describe.concurrent("the packed package in a consumer's project", () => {
  it("typechecks: every public type resolves", async () => {
    const checked = await run(process.execPath, [TSC, "-p", "."], consumer)
    expect(checked.stdout + checked.stderr).toBe("")
    expect(checked.code).toBe(0)
  })

  it("plans with keel/kernel", async () => {
    const ran = await run(process.execPath, ["kernel.ts"], consumer)
    expect(ran.stderr).toBe("")
    expect(JSON.parse(ran.stdout)).toEqual({
      equity: "1100",
      cashAfter: "0",
      orders: [
        { symbol: "CCC", side: "sell", quantity: "5", price: "20", phase: "sell" },
        { symbol: "AAA", side: "buy", quantity: "45", price: "10", phase: "buy" },
        { symbol: "BBB", side: "buy", quantity: "22", price: "25", phase: "buy" }
      ]
    })
  })

  it("runs the rebalance program on the paper venue and a SQLite file", async () => {
    const database = Path.join(consumer, "keel.db")
    const ran = await run(process.execPath, ["program.ts", database], consumer)
    expect(ran.stderr).toBe("")
    expect(JSON.parse(ran.stdout)).toEqual({
      status: "completed",
      notified: ["completed"],
      orders: [
        { symbol: "AAA", side: "buy", status: "filled", filled: "50", price: "10" },
        { symbol: "BBB", side: "buy", status: "filled", filled: "20", price: "25" }
      ]
    })
    expect(Fs.statSync(database).size).toBeGreaterThan(0)
  })
})
