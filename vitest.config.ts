/**
 * The suite as projects, so one part runs alone (`npx vitest run --project kernel`); `vitest run`
 * runs them all. Each project is folders under tests/, and a test file in no project's folder stops
 * the run here rather than being silently left out of it.
 */
import * as Fs from "node:fs"
import { fileURLToPath } from "node:url"
import { defineConfig } from "vitest/config"

const projects: Record<string, ReadonlyArray<string>> = {
  /** The pure kernel. */
  kernel: ["tests/kernel"],
  /** The services' adapters: brokers, Store, Notifier, target sources, and the file formats they read. */
  adapters: ["tests/effects", "tests/formats"],
  /** The run and the CLI. */
  cli: ["tests/programs"],
  /** The packed package, installed into a scratch project as a consumer would. */
  package: ["tests/package"],
  /** The chaos suite's seeded sample: real runs killed and recovered, concurrent pairs, Alpaca kills. */
  chaos: ["tests/chaos"]
}

/**
 * Projects that run once the others are done, with the machine to themselves: the chaos sample
 * starts a few hundred processes, and would slow every test beside it.
 */
const afterTheRest: ReadonlySet<string> = new Set(["chaos"])

const ROOT = fileURLToPath(new URL(".", import.meta.url))

const folders = Object.values(projects).flat()
const orphans = Fs.globSync("tests/**/*.test.ts", { cwd: ROOT }).filter((file) =>
  !folders.some((folder) => file.startsWith(`${folder}/`))
)
if (orphans.length > 0) {
  throw new Error(`test files in no vitest project (add their folder to vitest.config.ts): ${orphans.join(", ")}`)
}

export default defineConfig({
  test: {
    testTimeout: 60_000,
    projects: Object.entries(projects).map(([name, roots]) => ({
      extends: true,
      test: {
        name,
        include: roots.map((root) => `${root}/**/*.test.ts`),
        sequence: { groupOrder: afterTheRest.has(name) ? 1 : 0 }
      }
    }))
  }
})
