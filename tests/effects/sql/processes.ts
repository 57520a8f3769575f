/**
 * Test scripts as real processes, for the tests of what two processes do to one database: a
 * `.ts` script on the Node that runs vitest (Node 24 runs TypeScript), asynchronous, so several
 * run at once.
 */
import { execFile } from "node:child_process"

export interface ScriptResult {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

/** Runs `node SCRIPT ARGS`; resolves with its exit code and both streams, never rejects. */
export const runScript = (script: string, args: ReadonlyArray<string>): Promise<ScriptResult> =>
  new Promise((resolve) => {
    execFile(process.execPath, [script, ...args], { encoding: "utf8" }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === "number" ? error.code : null, stdout, stderr })
    })
  })

/** A moment for processes started now to begin together, once each has started up. */
export const startTogether = (): string => String(Date.now() + 800)
