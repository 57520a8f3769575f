/**
 * YAML input (1.2 core schema, so `NO` stays a string). Numbers reach the kernel as
 * written (see exact.ts); a repeated key, a second document or an alias bomb is an error,
 * and so is any tag (`!!set`, `!pct`): Keel's files need none, and the parser would read an
 * unknown one as a plain string without a word.
 * Loaded only when a YAML file is given, to keep the CLI's startup lean.
 */
import * as Result from "effect/Result"
import { isScalar, LineCounter, type Node, parseDocument, visit, type YAMLError } from "yaml"
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
  const at = (node: Node): string => {
    const pos = node.range === undefined || node.range === null ? undefined : lines.linePos(node.range[0])
    return pos === undefined ? "" : `line ${pos.line}, column ${pos.col}: `
  }
  /** Stops the visit at a tagged node. */
  const untagged = (node: Node): symbol | undefined => {
    if (node.tag === undefined) return undefined
    problem = `${at(node)}expected no YAML tag (Keel's files use none), got ${show(shortTag(node.tag))}`
    return visit.BREAK
  }
  visit(document, {
    Map: (_key, map) => {
      if (untagged(map) !== undefined) return visit.BREAK
      // Compared as the object keys they become: `1` and `"1"` are one key.
      const seen = new Set<string>()
      for (const pair of map.items) {
        if (!isScalar(pair.key)) continue
        // The core schema's scalars: a string, a number, a boolean or null.
        const value = pair.key.value as string | number | boolean | null
        const key = value === null ? "" : String(value)
        if (seen.has(key)) {
          problem = `${at(pair.key)}expected each key at most once (duplicate), got ${show(key)}`
          return visit.BREAK
        }
        seen.add(key)
      }
      return undefined
    },
    Seq: (_key, seq) => untagged(seq),
    Scalar: (_key, node) => {
      if (untagged(node) !== undefined) return visit.BREAK
      if (typeof node.value === "number" && node.source !== undefined) node.value = exactNumber(node.value, node.source)
      return undefined
    }
  })
  if (problem !== undefined) return Result.fail(problem)
  try {
    return Result.succeed(document.toJS({ maxAliasCount: 100 }))
  } catch (thrown) {
    return Result.fail(`invalid YAML: ${thrown instanceof Error ? thrown.message : String(thrown)}`)
  }
}

/** A tag as it is usually written: `!!set` for the YAML namespace's own. */
const shortTag = (tag: string): string => tag.replace(/^tag:yaml\.org,2002:/, "!!")

/** prettyErrors puts the location on the first line of the message and a source excerpt below it. */
const describe = (error: YAMLError): string => {
  const first = error.message.split("\n", 1)[0] ?? error.message
  return `invalid YAML: ${first.replace(/:$/, "")}`
}
