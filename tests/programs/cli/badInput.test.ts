/**
 * The bad-input corpus: several hundred inputs an adversarial user might give (files, configs,
 * session files, flags, the size limit's variable), generated from a table of classes × variants,
 * each run through the CLI's `main` in its own directory. For every one: exit 2 (or 3 where the
 * cause is outside the input), exactly one line on stderr that prints (no control character, no
 * stack trace, a readable length), nothing on stdout, and no `.keel/` (no store, no books) left
 * behind.
 *
 * In-process is faithful here: `main` is the bin without its last line (it returns the exit code the
 * bin sets), and everything it prints goes through Effect's Console, which is captured. A few cases
 * run as real processes too, to keep that true.
 */
import * as NodeServices from "@effect/platform-node/NodeServices"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { DatabaseSync } from "node:sqlite"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { parse, stringify } from "yaml"
import { PROBLEM_LINE_LENGTH } from "../../../src/effects/inputs.ts"
import { main } from "../../../src/programs/rebalance.ts"
import { EXAMPLES, type KeelYaml, ROOT, runCli, singleLine } from "../../support/cli.ts"

/** One bad input: the files of its directory, the command, and what it must end with. */
interface Case {
  readonly name: string
  readonly files: Readonly<Record<string, string>>
  readonly argv: ReadonlyArray<string>
  readonly env?: Readonly<Record<string, string>>
  /** 2 unless the cause is outside the input (3). */
  readonly exit?: 2 | 3
  /** What stderr must never show (a secret typed where a variable's name belongs). */
  readonly secret?: string
}

// ---------------------------------------------------------------------------------------
// the valid inputs each case breaks one thing of
// ---------------------------------------------------------------------------------------

const example = (name: string): string => readFileSync(join(EXAMPLES, name), "utf8")
const EXAMPLE_FILES = ["keel.yaml", "targets.csv", "policy.yaml", "quotes.csv", "snapshot.json", "targets.json"]
const SESSION = readFileSync(join(ROOT, "tests/fixtures/sessions/plain-from-cash.jsonl"), "utf8")

const toYaml = (data: unknown): string => stringify(data)
const toJson = (data: unknown): string => JSON.stringify(data, null, 2)

/** Symbols that are not symbols; the last ones only survive in JSON (UTF-8 has no lone surrogate). */
const BAD_SYMBOLS: ReadonlyArray<readonly [string, string]> = [
  ["empty", ""],
  ["only spaces", "   "],
  ["a NUL", "A\u0000B"],
  ["a tab", "A\tB"],
  ["a line feed", "A\nB"],
  ["a carriage return", "A\rB"],
  ["an escape", "A\u001b[31mB"],
  ["DEL", "A\u007fB"],
  ["a C1 control", "A\u0085B"],
  ["a right-to-left override", "A\u202eB"],
  ["a zero-width space", "A\u200bB"],
  ["a line separator", "A\u2028B"],
  ["33 characters", "X".repeat(33)],
  ["10,000 characters", "Y".repeat(10_000)]
]
const JSON_ONLY_SYMBOLS: ReadonlyArray<readonly [string, string]> = [["a lone surrogate", "A\ud800B"]]

/** A CSV cell as written: quoted when it holds a comma, a quote or a line break. */
const cell = (text: string): string => (/[",\r\n]/.test(text) ? `"${text.replaceAll("\"", "\"\"")}"` : text)

// ---------------------------------------------------------------------------------------
// the classes
// ---------------------------------------------------------------------------------------

const planWith = (files: Record<string, string>, snapshot = "snapshot.json", targets = "targets.json") =>
  ({ files, argv: ["plan", "--snapshot", snapshot, "--targets", targets, "--json"] }) as const

const snapshotData: ReadonlyArray<readonly [string, unknown]> = [
  ["a negative cash", { cash: "-1" }],
  ["cash as a word", { cash: "lots" }],
  ["no cash", { positions: [] }],
  ["cash beyond the limits", { cash: "1e999" }],
  ["cash with 21 places", { cash: "0.000000000000000000001" }],
  ["cash as a list", { cash: [1] }],
  ["positions as a number", { cash: "1", positions: 5 }],
  ["a short position", { cash: "1", positions: [{ symbol: "VTI", quantity: "10", side: "short" }] }],
  ["a negative quantity", { cash: "1", positions: [{ symbol: "VTI", quantity: "-10" }] }],
  ["a negative quantity (map form)", { cash: "1", positions: { VTI: -3 } }],
  ["a misspelt quantity", { cash: "1", positions: [{ symbol: "VTI", qty: "10" }] }],
  ["a position without a symbol", { cash: "1", positions: [{ quantity: "10" }] }],
  ["a position that is a string", { cash: "1", positions: ["VTI"] }],
  ["a duplicate position", { cash: "1", positions: { VTI: "1", " VTI": "2" } }],
  ["a quote's Bid", { cash: "1", quotes: [{ symbol: "VTI", Bid: "10" }] }],
  ["a quote's price", { cash: "1", quotes: [{ symbol: "VTI", price: "10" }] }],
  ["a quote's side", { cash: "1", quotes: { VTI: { bid: "10", side: "buy" } } }],
  ["a quote's Last (map form)", { cash: "1", quotes: { VTI: { Last: "10" } } }],
  ["a negative bid", { cash: "1", quotes: { VTI: { bid: "-10" } } }],
  ["a quote that is a number", { cash: "1", quotes: { VTI: 10 } }],
  ["a duplicate quote", { cash: "1", quotes: [{ symbol: "VTI", last: 1 }, { symbol: "VTI", last: 2 }] }],
  ["an unknown top-level field", { cash: "1", postions: [] }],
  ["a list", [{ cash: "1" }]],
  ["a string", "cash: 1"],
  ["null", null],
  ...BAD_SYMBOLS.flatMap(([name, symbol]) => [
    [`a position symbol with ${name}`, { cash: "1", positions: { [symbol]: "1" } }] as const,
    [`a quote symbol with ${name}`, { cash: "1", quotes: [{ symbol, last: "1" }] }] as const
  ])
]

const targetsData: ReadonlyArray<readonly [string, unknown]> = [
  ["an empty map", {}],
  ["an empty list", []],
  ["a negative weight", { VTI: "-0.1" }],
  ["a weight above 1", { VTI: "1.5" }],
  ["weights above 1 in sum", { VTI: "0.6", BND: "0.5" }],
  ["$CASH pushing the sum above 1", { VTI: "0.6", $CASH: "0.5" }],
  ["a weight as a word", { VTI: "half" }],
  ["a weight that is null", { VTI: null }],
  ["a duplicate symbol (list form)", [{ symbol: "VTI", weight: "0.1" }, { symbol: "VTI ", weight: "0.1" }]],
  ["a list entry without a symbol", [{ weight: "0.1" }]],
  ["a number", 7],
  ["a string", "VTI"],
  ...BAD_SYMBOLS.map(([name, symbol]) => [`a symbol with ${name}`, { [symbol]: "0.1" }] as const)
]

const policyData: ReadonlyArray<readonly [string, unknown]> = [
  ["an unknown field", { driftband: "0.05" }],
  ["a reserve of 5", { cashReserve: 5 }],
  ["shares half", { shares: "half" }],
  ["10 quantity decimals", { quantityDecimals: 10 }],
  ["a lot of 0", { lotSizes: { VTI: 0 } }],
  ["a lot of 1.5", { lotSizes: { VTI: "1.5" } }],
  ["mode sideways", { mode: "sideways" }],
  ["liquidateUntargeted yes", { liquidateUntargeted: "yes" }],
  ["exclude not a list", { exclude: "VTI" }],
  ["a weight tolerance of 1", { weightTolerance: "1" }],
  ["a list", ["whole"]],
  ...BAD_SYMBOLS.slice(2, 8).map(([name, symbol]) =>
    [`an excluded symbol with ${name}`, { exclude: [symbol] }] as const
  )
]

/** The same data in each format it can be written in. */
const inFormats = (
  name: string,
  data: unknown,
  place: (file: string, text: string) => Omit<Case, "name">
): Array<Case> => {
  const json = toJson(data)
  const cases: Array<Case> = [{ name: `${name} (json)`, ...place("input.json", json) }]
  if (!/\\ud[89ab]/.test(json)) cases.push({ name: `${name} (yaml)`, ...place("input.yaml", toYaml(data)) })
  return cases
}

const fileCases = (): Array<Case> => [
  ...snapshotData.flatMap(([name, data]) =>
    inFormats(`snapshot: ${name}`, data, (file, text) => planWith({ [file]: text }, file))
  ),
  ...JSON_ONLY_SYMBOLS.map(([name, symbol]) => ({
    name: `snapshot: a position symbol with ${name} (json)`,
    ...planWith({ "input.json": toJson({ cash: "1", positions: { [symbol]: "1" } }) }, "input.json")
  })),
  ...targetsData.flatMap(([name, data]) =>
    inFormats(`targets: ${name}`, data, (file, text) => planWith({ [file]: text }, "snapshot.json", file))
  ),
  ...JSON_ONLY_SYMBOLS.map(([name, symbol]) => ({
    name: `targets: a symbol with ${name} (json)`,
    ...planWith({ "input.json": toJson({ [symbol]: "0.1" }) }, "snapshot.json", "input.json")
  })),
  ...policyData.flatMap(([name, data]) =>
    inFormats(`policy: ${name}`, data, (file, text) => ({
      files: { [file]: text },
      argv: ["plan", "--snapshot", "snapshot.json", "--targets", "targets.json", "--policy", file, "--json"]
    }))
  )
]

/** Text-level problems: syntax, tags, duplicates, empty documents, in whichever file they are. */
const textCases = (): Array<Case> => {
  const texts: ReadonlyArray<readonly [string, string, string]> = [
    ["an empty YAML document", "input.yaml", ""],
    ["a YAML document of comments", "input.yaml", "# nothing here\n"],
    ["a YAML null document", "input.yaml", "~\n"],
    ["a !!set", "input.yaml", "VTI: !!set {a}\n"],
    ["a !custom tag", "input.yaml", "VTI: !custom 0.5\n"],
    ["a !pct tag", "input.yaml", "VTI: !pct 50\n"],
    ["a !!str tag", "input.yaml", "VTI: !!str 0.5\n"],
    ["a !!binary tag", "input.yaml", "VTI: !!binary aGVsbG8=\n"],
    ["a tag on the document", "input.yaml", "!!map\nVTI: 0.5\n"],
    ["a %TAG directive", "input.yaml", "%TAG !e! tag:example.com,2000:\n---\nVTI: !e!w 0.5\n"],
    ["a duplicate YAML key", "input.yaml", "VTI: 0.1\nVTI: 0.2\n"],
    ["two YAML documents", "input.yaml", "VTI: 0.1\n---\nBND: 0.2\n"],
    ["a YAML syntax error", "input.yaml", "VTI: [0.1\n"],
    ["a YAML alias bomb", "input.yaml", aliasBomb()],
    ["an empty JSON file", "input.json", ""],
    ["a JSON syntax error", "input.json", "{\"VTI\": 0.1,}"],
    ["a duplicate JSON key", "input.json", "{\"VTI\": 0.1, \"VTI\": 0.2}"],
    ["JSON nested too deep", "input.json", `${"[".repeat(300)}${"]".repeat(300)}`],
    ["a raw control character in a JSON string", "input.json", "{\"VT\u0001I\": 0.1}"],
    ["NUL bytes", "input.json", "\u0000\u0000\u0000"],
    ["a CSV header only", "input.csv", "symbol,weight\n"],
    ["an empty CSV", "input.csv", ""],
    ["a CSV of blank lines", "input.csv", "\n\n\n"],
    ["a CSV quote left open", "input.csv", "symbol,weight\n\"VTI,0.5\n"],
    ["a CSV row of three cells", "input.csv", "symbol,weight\nVTI,0.5,x\n"],
    ["a CSV weight as a word", "input.csv", "symbol,weight\nVTI,half\n"],
    ["a wrong extension", "input.txt", "{\"VTI\": 0.5}"],
    ...BAD_SYMBOLS.map(([name, symbol]) => [`a CSV symbol with ${name}`, "input.csv", `${cell(symbol)},0.1\n`] as const)
  ]
  return texts.flatMap(([name, file, text]) => [
    { name: `targets text: ${name}`, ...planWith({ [file]: text }, "snapshot.json", file) },
    ...(file === "input.csv" ? [] : [{ name: `snapshot text: ${name}`, ...planWith({ [file]: text }, file) }])
  ])
}

/** The "billion laughs": each list holds nine of the one before, 9^9 strings once expanded. */
function aliasBomb(): string {
  const rows = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
  for (let i = 1; i < 9; i++) rows.push(`a${i}: &a${i} [${Array(9).fill(`*a${i - 1}`).join(", ")}]`)
  return `${rows.join("\n")}\n`
}

/** keel.yaml with one change (its own copy, parsed and written back). */
const config = (edit: (c: KeelYaml) => void): string => {
  const c = parse(example("keel.yaml")) as KeelYaml
  edit(c)
  return stringify(c)
}

const broker = (c: KeelYaml): Record<string, unknown> => c.accounts[0]!.broker

const SECRET = "https://hooks.example.com/services/T000/B000/XXXXsecretXXXX"

/** Problems `targets` never meets (it builds no broker and opens no store) are run by `run` only. */
const RUN_ONLY = /^(alpaca|a store)/

const configEdits: ReadonlyArray<readonly [string, (c: KeelYaml) => void, string?]> = [
  ["paper slippageBps -50", (c) => (broker(c)["slippageBps"] = -50)],
  ["paper slippageBps 10000", (c) => (broker(c)["slippageBps"] = 10_000)],
  ["paper slippageBps a word", (c) => (broker(c)["slippageBps"] = "two")],
  ["paper fillLatencySeconds -1", (c) => (broker(c)["fillLatencySeconds"] = -1)],
  ["paper partialFills 0", (c) => (broker(c)["partialFills"] = 0)],
  ["paper partialFills 1.5", (c) => (broker(c)["partialFills"] = 1.5)],
  ["paper rejectionRate 2", (c) => (broker(c)["rejectionRate"] = 2)],
  ["paper startingCash -1", (c) => (broker(c)["startingCash"] = "-1")],
  ["paper startingCash a word", (c) => (broker(c)["startingCash"] = "lots")],
  ["paper commissionPerShare -0.01", (c) => (broker(c)["commissionPerShare"] = "-0.01")],
  ["paper commissionPerOrder a list", (c) => (broker(c)["commissionPerOrder"] = [1])],
  ["paper random walk price 0", (c) => (broker(c)["randomWalk"] = { seed: 1, prices: { VTI: 0 } })],
  ["paper random walk unknown field", (c) => (broker(c)["randomWalk"] = { seed: 1, prices: {}, drift: 1 })],
  ["paper marketOpen sometimes", (c) => (broker(c)["marketOpen"] = "sometimes")],
  ["paper unknown field", (c) => (broker(c)["slipageBps"] = 2)],
  ["paper empty quotes path", (c) => (broker(c)["quotes"] = "")],
  ["an unknown venue", (c) => (broker(c)["kind"] = "ibkr")],
  ["no venue kind", (c) => delete broker(c)["kind"]],
  ["fillSeconds -1", (c) => (c.timeouts = { fillSeconds: -1 })],
  ["pollSeconds 0", (c) => (c.timeouts = { pollSeconds: 0 })],
  ["leaseSeconds -5", (c) => (c["timeouts"] = { leaseSeconds: -5 })],
  ["an unknown timeout", (c) => (c["timeouts"] = { fillSecs: 5 } as never)],
  ["webhook timeoutSeconds 0", (c) => (c.notifiers = [{ webhook: { urlEnv: "HOOK", timeoutSeconds: 0 } }])],
  ["webhook timeoutSeconds -1", (c) => (c.notifiers = [{ webhook: { urlEnv: "HOOK", timeoutSeconds: -1 } }])],
  ["webhook URL in urlEnv", (c) => (c.notifiers = [{ webhook: { urlEnv: SECRET } }]), SECRET],
  ["webhook urlEnv with a dash", (c) => (c.notifiers = [{ webhook: { urlEnv: "MY-HOOK-secret" } }]), "MY-HOOK-secret"],
  ["webhook urlEnv starting with a digit", (c) => (c.notifiers = [{ webhook: { urlEnv: "1HOOK" } }]), "1HOOK"],
  ["an unknown notifier", (c) => (c.notifiers = ["email"])],
  [
    "alpaca keyIdEnv holding a secret",
    (c) => (c.accounts[0]!.broker = { kind: "alpaca", keyIdEnv: "pk/Secret+Value==" }),
    "pk/Secret+Value=="
  ],
  [
    "alpaca secretKeyEnv holding a secret",
    (c) => (c.accounts[0]!.broker = { kind: "alpaca", secretKeyEnv: "sk live 0123456789" }),
    "sk live 0123456789"
  ],
  [
    "an http source header naming a secret",
    (
      c
    ) => (c.accounts[0]!.targets = {
      http: { url: "https://example.com/w", headers: { Authorization: "Bearer abc.def" } }
    } as never),
    "Bearer abc.def"
  ],
  ["an unknown top-level field", (c) => (c["acounts"] = [])],
  ["no accounts", (c) => (c.accounts = [])],
  ["a duplicate account", (c) => c.accounts.push({ ...c.accounts[0]! })],
  ["an account without a name", (c) => delete (c.accounts[0] as Partial<KeelYaml["accounts"][number]>).name],
  ["openOrders sometimes", (c) => (c.accounts[0]!.openOrders = "sometimes")],
  ["an inline policy with a bad field", (c) => (c.accounts[0]!.policy = { cashReserve: 5 })],
  ["a missing policy file", (c) => (c.accounts[0]!.policy = "nowhere.yaml")],
  ["a missing targets file", (c) => (c.accounts[0]!.targets = "nowhere.csv")],
  ["an empty targets file", (c) => (c.accounts[0]!.targets = "empty.json")],
  ["an empty targets file source", (c) => (c.accounts[0]!.targets = { file: "empty.yaml" } as never)],
  ["a targets file source with a bad symbol", (c) => (c.accounts[0]!.targets = { file: "nul.json" } as never)],
  ["a store that is a folder", (c) => (c.store = { sqlite: "folder" })],
  ["artifacts that are a file", (c) => (c.artifacts = "afile")],
  ["artifacts inside a file", (c) => (c.artifacts = "afile/runs")]
]

const CONFIG_SIDE_FILES: Readonly<Record<string, string>> = {
  "empty.json": "{}",
  "empty.yaml": "",
  "nul.json": "{\"V\\u0000TI\": 1}",
  "afile": "not a folder",
  "folder/.keep": ""
}

const configCases = (): Array<Case> =>
  configEdits.flatMap(([name, edit, secret]) => {
    const files = { ...CONFIG_SIDE_FILES, "keel.yaml": config(edit) }
    const commands: ReadonlyArray<ReadonlyArray<string>> = [
      ["run", "--account", "demo", "--json"],
      ["run", "--account", "demo", "--execute", "--json"],
      ["targets", "--account", "demo", "--json"]
    ]
    return commands.filter((argv) => argv[0] === "run" || !RUN_ONLY.test(name)).map((argv) => ({
      name: `keel.yaml: ${name}: ${argv.slice(0, 2).join(" ")}${argv.includes("--execute") ? " --execute" : ""}`,
      files,
      argv,
      ...(secret === undefined ? {} : { secret })
    }))
  })

/** A config that is wrong as a file: every command that reads it refuses it. */
const configTextCases = (): Array<Case> => {
  const texts: ReadonlyArray<readonly [string, string]> = [
    ["empty", ""],
    ["a list", "- accounts\n"],
    ["a tag", `${example("keel.yaml")}\nextra: !secret x\n`],
    ["a syntax error", "accounts: [\n"],
    ["a duplicate key", `${example("keel.yaml")}\nartifacts: elsewhere\n`]
  ]
  const commands: ReadonlyArray<ReadonlyArray<string>> = [
    ["run", "--account", "demo", "--json"],
    ["status", "--json"],
    ["history", "--json"],
    ["positions", "--account", "demo", "--json"],
    ["recover", "--account", "demo", "--json"],
    ["targets", "--account", "demo", "--json"]
  ]
  return texts.flatMap(([name, text]) =>
    commands.map((argv) => ({ name: `keel.yaml ${name}: ${argv[0]}`, files: { "keel.yaml": text }, argv }))
  )
}

const flagCases = (): Array<Case> =>
  [
    ["history", "--limit", "-1", "--json"],
    ["history", "--limit", "x", "--json"],
    ["history", "--limit", "1.5", "--json"],
    ["history", "--limit", "--json"],
    ["run", "--json"],
    ["run", "--account", "nobody", "--json"],
    ["run", "--account", "demo", "--wait", "-1", "--json"],
    ["run", "--account", "demo", "--wait", "soon", "--json"],
    ["run", "--account", "demo", "--bogus", "--json"],
    ["run", "--account", "demo", "--config", "nowhere.yaml", "--json"],
    ["run", "--account", "demo", "--config", ".", "--json"],
    ["recover", "--json"],
    ["positions", "--json"],
    ["positions", "--account", "nobody", "--json"],
    ["status", "no-such-run", "--json", "--bogus"],
    ["plan", "--json"],
    ["plan", "--snapshot", "snapshot.json", "--json"],
    ["plan", "--snapshot", "nowhere.json", "--targets", "targets.json", "--json"],
    ["plan", "--snapshot", ".", "--targets", "targets.json", "--json"],
    ["plan", "--snapshot", "snapshot.json", "--targets", "targets.json", "--policy", "--json"],
    ["replay", "--json"],
    ["replay", "nowhere.jsonl", "--json"],
    ["replay", ".", "--json"],
    ["targets", "--json"],
    ["paper-venue", "--poll-seconds", "-1"],
    ["rebalanse"],
    ["plan", "--snapshot", "snapshot.json", "--targets", "targets.json", "--jsn"]
  ].map((argv) => ({ name: `flags: ${argv.join(" ")}`, files: {}, argv }))

/** The session's header with one change. */
const session = (edit: (header: Record<string, unknown>) => void): string => {
  const [first, ...rest] = SESSION.split("\n")
  const header = JSON.parse(first!) as Record<string, unknown>
  edit(header)
  return [JSON.stringify(header), ...rest].join("\n")
}

const sessionEdits: ReadonlyArray<readonly [string, (h: Record<string, unknown>) => void]> = [
  ["a reserve of 5", (h) => (h["policy"] = { cashReserve: 5 })],
  ["a policy with an unknown field", (h) => (h["policy"] = { driftband: 1 })],
  ["targets that are a string", (h) => (h["targets"] = "hello")],
  ["targets that are numbers", (h) => (h["targets"] = [1, 2])],
  ["no targets", (h) => (h["targets"] = [])],
  ["targets above 1", (h) => (h["targets"] = [{ symbol: "VTI", weight: "2" }])],
  ["a target symbol with a NUL", (h) => (h["targets"] = [{ symbol: "V\u0000TI", weight: "0.5" }])],
  ["a start before 1970", (h) => (h["startedAt"] = -1)],
  ["a start beyond a Date", (h) => (h["startedAt"] = 1e300)],
  ["a start that is a word", (h) => (h["startedAt"] = "today")],
  ["a poll interval of 0", (h) => ((h["run"] as Record<string, unknown>)["pollIntervalMillis"] = 0)],
  ["a fill timeout of -1", (h) => ((h["run"] as Record<string, unknown>)["fillTimeoutMillis"] = -1)],
  ["an unknown broker", (h) => (h["broker"] = "ibkr")],
  ["format version 9", (h) => (h["version"] = 9)],
  ["another format", (h) => (h["format"] = "other")]
]

const sessionCases = (): Array<Case> => [
  ...sessionEdits.map(([name, edit]) => ({
    name: `session header: ${name}`,
    files: { "session.jsonl": session(edit) },
    argv: ["replay", "session.jsonl", "--json"]
  })),
  ...[
    ["empty", ""],
    ["not JSON", "hello\n"],
    ["no header", SESSION.split("\n").slice(1).join("\n")],
    ["a line that is a list", `${SESSION.split("\n")[0]}\n[1,2]\n`]
  ].map(([name, text]) => ({
    name: `session file: ${name}`,
    files: { "session.jsonl": text! },
    argv: ["replay", "session.jsonl", "--json"]
  }))
]

/** Every file Keel reads, above a size limit set small, and limits that are not limits. */
const sizeCases = (): Array<Case> => {
  // Above the examples' own files (under 1 KiB), below what the padded ones weigh.
  const limit = { KEEL_MAX_INPUT_MB: "0.001" }
  const padding = `#${"-".repeat(2000)}\n`
  const plan = (
    extra: ReadonlyArray<string>
  ) => ["plan", "--snapshot", "snapshot.json", "--targets", "targets.json", ...extra]
  const cases: ReadonlyArray<readonly [string, Readonly<Record<string, string>>, ReadonlyArray<string>]> = [
    ["snapshot", { "big.yaml": `${padding}cash: "1"\n` }, [
      "plan",
      "--snapshot",
      "big.yaml",
      "--targets",
      "targets.json"
    ]],
    ["targets (csv)", { "big.csv": `VTI,1\n${" ".repeat(2000)}\n` }, [
      "plan",
      "--snapshot",
      "snapshot.json",
      "--targets",
      "big.csv"
    ]],
    ["targets (json)", { "big.json": `{"VTI": 1}${" ".repeat(2000)}` }, [
      "plan",
      "--snapshot",
      "snapshot.json",
      "--targets",
      "big.json"
    ]],
    ["policy", { "big.yaml": padding }, plan(["--policy", "big.yaml"])],
    ["keel.yaml for status", { "keel.yaml": `${example("keel.yaml")}${padding}` }, ["status"]],
    ["keel.yaml for run", { "keel.yaml": `${example("keel.yaml")}${padding}` }, ["run", "--account", "demo"]],
    ["a config's targets file", {
      "keel.yaml": config((c) => (c.accounts[0]!.targets = "big.csv")),
      "big.csv": `VTI,1\n${padding}`
    }, [
      "targets",
      "--account",
      "demo"
    ]],
    ["session", { "session.jsonl": SESSION }, ["replay", "session.jsonl"]]
  ]
  return [
    ...cases.map(([name, files, argv]) => ({ name: `size: ${name}`, files, argv: [...argv, "--json"], env: limit })),
    ...["0", "-1", "ten", "NaN", "Infinity", "1e-300"].map((value) => ({
      name: `size: KEEL_MAX_INPUT_MB=${JSON.stringify(value)}`,
      ...planWith({}),
      env: { KEEL_MAX_INPUT_MB: value }
    }))
  ]
}

const CORPUS: ReadonlyArray<Case> = [
  ...fileCases(),
  ...textCases(),
  ...configCases(),
  ...configTextCases(),
  ...flagCases(),
  ...sessionCases(),
  ...sizeCases()
]

// ---------------------------------------------------------------------------------------
// running a case
// ---------------------------------------------------------------------------------------

interface Outcome {
  readonly code: number
  readonly stdout: ReadonlyArray<string>
  readonly stderr: ReadonlyArray<string>
}

/** A Console that keeps what each stream was given, one entry per call. */
const capturing = (stdout: Array<string>, stderr: Array<string>): Console.Console => {
  const out = (...args: ReadonlyArray<unknown>) => void stdout.push(args.map(String).join(" "))
  const err = (...args: ReadonlyArray<unknown>) => void stderr.push(args.map(String).join(" "))
  const none = () => {}
  return {
    assert: none,
    clear: none,
    count: none,
    countReset: none,
    debug: err,
    dir: out,
    dirxml: out,
    error: err,
    group: none,
    groupCollapsed: none,
    groupEnd: none,
    info: out,
    log: out,
    table: out,
    time: none,
    timeEnd: none,
    timeLog: none,
    trace: err,
    warn: err
  }
}

/** `main` as the bin runs it, with the process's environment and the case's variables (read once, as at start). */
const runMain = async (argv: ReadonlyArray<string>, env: Readonly<Record<string, string>>): Promise<Outcome> => {
  const stdout: Array<string> = []
  const stderr: Array<string> = []
  const variables: Record<string, string> = {}
  for (const [key, value] of Object.entries({ ...process.env, ...env })) if (value !== undefined) variables[key] = value
  const code = await Effect.runPromise(
    main(argv).pipe(
      Effect.provideService(Console.Console, capturing(stdout, stderr)),
      Effect.provideService(ConfigProvider.ConfigProvider, ConfigProvider.fromEnv({ env: variables })),
      Effect.provide(NodeServices.layer)
    )
  )
  return { code, stdout, stderr }
}

const root = mkdtempSync(join(tmpdir(), "keel-bad-input-"))
const home = process.cwd()
let counter = 0

/** A fresh directory with the examples and the case's files. */
const directoryOf = (c: Case): string => {
  const dir = join(root, `case-${++counter}`)
  mkdirSync(dir)
  for (const name of EXAMPLE_FILES) copyFileSync(join(EXAMPLES, name), join(dir, name))
  for (const [name, text] of Object.entries(c.files)) {
    mkdirSync(join(dir, name, ".."), { recursive: true })
    writeFileSync(join(dir, name), text)
  }
  return dir
}

/** Printable: no control characters but the ones it escapes, no line break, no raw invisible character. */
const UNPRINTABLE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}]/u

/** What every refused input must end with; returns what was wrong, or undefined. */
const verdict = (c: Case, dir: string, o: Outcome): string | undefined => {
  const expected = c.exit ?? 2
  if (o.code !== expected) return `exit ${o.code}, expected ${expected}; stderr ${JSON.stringify(o.stderr)}`
  if (o.stdout.length > 0) return `stdout ${JSON.stringify(o.stdout).slice(0, 300)}`
  if (o.stderr.length !== 1) return `${o.stderr.length} stderr lines: ${JSON.stringify(o.stderr).slice(0, 500)}`
  const line = o.stderr[0]!
  if (line.trim() === "") return "an empty line on stderr"
  if (UNPRINTABLE.test(line)) return `an unprintable character on stderr: ${JSON.stringify(line)}`
  if (line.length > PROBLEM_LINE_LENGTH) return `a line of ${line.length} characters`
  if (/\bat .*\(.*:\d+:\d+\)|unexpected error/.test(line)) return `a stack trace or a defect: ${line}`
  if (c.secret !== undefined && line.includes(c.secret)) return `the secret is shown: ${line}`
  if (existsSync(join(dir, ".keel"))) return ".keel/ was created"
  if (existsSync(join(dir, "artifacts"))) return "artifacts/ was created"
  return undefined
}

beforeAll(() => process.chdir(root))
afterAll(() => {
  process.chdir(home)
  rmSync(root, { recursive: true, force: true })
})

describe("the bad-input corpus", () => {
  it("has at least 300 inputs, each named once", () => {
    expect(CORPUS.length).toBeGreaterThanOrEqual(300)
    expect(new Set(CORPUS.map((c) => c.name)).size).toBe(CORPUS.length)
  })

  it("refuses every one: exit 2 (or 3), one printable line on stderr, nothing on stdout, nothing created", async () => {
    const failures: Array<string> = []
    for (const c of CORPUS) {
      const dir = directoryOf(c)
      process.chdir(dir)
      const outcome = await runMain(c.argv, c.env ?? {})
      const wrong = verdict(c, dir, outcome)
      if (wrong !== undefined) failures.push(`${c.name}: ${wrong}`)
    }
    process.chdir(root)
    expect(failures).toEqual([])
  }, 300_000)
})

describe("as real processes", () => {
  it.each([
    CORPUS.find((c) => c.name.startsWith("targets: an empty map (yaml)"))!,
    CORPUS.find((c) => c.name.startsWith("keel.yaml: webhook URL in urlEnv: run"))!,
    CORPUS.find((c) => c.name.startsWith("flags: history --limit -1"))!
  ])("$name", async (c) => {
    const dir = directoryOf(c)
    const r = await runCli(c.argv, { cwd: dir, ...(c.env === undefined ? {} : { env: c.env }) })
    expect(r.code).toBe(2)
    expect(r.stdout).toBe("")
    const line = singleLine(r.stderr)
    expect(line).not.toMatch(UNPRINTABLE)
    if (c.secret !== undefined) expect(line).not.toContain(c.secret)
    expect(existsSync(join(dir, ".keel"))).toBe(false)
  })
})

describe("a defect", () => {
  it("is one line on stderr and nothing on stdout, even with --json: a paper account whose cash is not a number", async () => {
    const c: Case = { name: "damaged books", files: {}, argv: ["run", "--account", "demo", "--json"] }
    const dir = directoryOf(c)
    process.chdir(dir)
    try {
      expect((await runMain(c.argv, {})).code).toBe(0)
    } finally {
      process.chdir(root)
    }
    const books = new DatabaseSync(join(dir, ".keel/paper/demo.db"))
    books.exec("UPDATE paper_accounts SET cash = 'lots'")
    books.close()
    const r = await runCli(c.argv, { cwd: dir })
    expect(r.stdout).toBe("")
    const line = singleLine(r.stderr)
    expect(line).not.toMatch(/\n|\bat .*:\d+:\d+/)
    // A damaged row is the store's fault (3) when its reader says so, else a defect (1) reported as one.
    if (r.code === 1) expect(line).toMatch(/^rebalance: unexpected error: .*paper_accounts.*; please report it$/)
    else expect(r.code).toBe(3)
  })
})
