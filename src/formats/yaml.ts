/**
 * YAML input (1.2 core schema, so `NO` stays a string). Numbers reach the kernel as
 * written (see exact.ts); a repeated key, a second document or an alias bomb is an error.
 * Loaded only when a YAML file is given, to keep the CLI's startup lean.
 */
import * as Result from "effect/Result"
import { isScalar, LineCounter, parseDocument, visit, type YAMLError } from "yaml"
import { show } from "../kernel/errors.ts"
import { exactNumber } from "./exact.ts"

/** Parses YAML text; the failure is one line that locates the problem. */
export const parseYaml = (text: string): Result.Result<unknown, string> => {
  const lines = new LineCounter()
  // Repeated keys are found below, where the key itself can be named.
  const document = parseDocument(text, { prettyErrors: true, logLevel: "error", uniqueKeys: false, lineCounter: lines })
  const error = document.errors[0]
  if (error !== undefined) return Result.fail(describe(error))
  let problem: string | undefined
  visit(document, {
    Map: (_key, map) => {
      // Compared as the object keys they become: `1` and `"1"` are one key.
      const seen = new Set<string>()
      for (const pair of map.items) {
        if (!isScalar(pair.key)) continue
        // The core schema's scalars: a string, a number, a boolean or null.
        const value = pair.key.value as string | number | boolean | null
        const key = value === null ? "" : String(value)
        if (seen.has(key)) {
          const pos = pair.key.range === undefined || pair.key.range === null
            ? undefined
            : lines.linePos(pair.key.range[0])
          const at = pos === undefined ? "" : `line ${pos.line}, column ${pos.col}: `
          problem = `${at}expected each key at most once (duplicate), got ${show(key)}`
          return visit.BREAK
        }
        seen.add(key)
      }
      return undefined
    },
    Scalar: (_key, node) => {
      if (typeof node.value === "number" && node.source !== undefined) node.value = exactNumber(node.value, node.source)
    }
  })
  if (problem !== undefined) return Result.fail(problem)
  try {
    return Result.succeed(document.toJS({ maxAliasCount: 100 }))
  } catch (thrown) {
    return Result.fail(`invalid YAML: ${thrown instanceof Error ? thrown.message : String(thrown)}`)
  }
}

/** prettyErrors puts the location on the first line of the message and a source excerpt below it. */
const describe = (error: YAMLError): string => {
  const first = error.message.split("\n", 1)[0] ?? error.message
  return `invalid YAML: ${first.replace(/:$/, "")}`
}
