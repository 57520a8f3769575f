/**
 * Which accounts a fleet run covers: every account (`--all`), a list (`--accounts a,b`), or a
 * group keel.yaml declares (`--group NAME`). Exactly one of them, or `--account` for one run.
 */
import * as Effect from "effect/Effect"
import { InputFileError } from "../../effects/inputs.ts"
import { show } from "../../kernel/errors.ts"
import type { AccountConfig, LoadedConfig } from "../config.ts"

export type Selection =
  | { readonly _tag: "All" }
  | { readonly _tag: "Listed"; readonly names: ReadonlyArray<string> }
  | { readonly _tag: "Group"; readonly group: string }

/** The accounts a selection names, in the order the file lists them; an unknown name or group is bad input. */
export const selectAccounts = (
  loaded: LoadedConfig,
  selection: Selection
): Effect.Effect<ReadonlyArray<AccountConfig>, InputFileError> => {
  const { accounts, groups } = loaded.config
  const fail = (detail: string) => Effect.fail(new InputFileError({ file: loaded.file, detail }))
  switch (selection._tag) {
    case "All":
      return Effect.succeed(accounts)
    case "Listed": {
      const unknown = selection.names.find((name) => !accounts.some((a) => a.name === name))
      if (unknown !== undefined) {
        return fail(`accounts: expected an account named ${show(unknown)} (known: ${namesOf(accounts)})`)
      }
      return Effect.succeed(accounts.filter((a) => selection.names.includes(a.name)))
    }
    case "Group": {
      const members = groups?.[selection.group]
      if (members === undefined) {
        const known = Object.keys(groups ?? {})
        return fail(
          `groups: expected a group named ${show(selection.group)} (${
            known.length === 0 ? "the file declares none" : `known: ${known.join(", ")}`
          })`
        )
      }
      return Effect.succeed(accounts.filter((a) => members.includes(a.name)))
    }
  }
}

const namesOf = (accounts: ReadonlyArray<AccountConfig>): string => accounts.map((a) => a.name).join(", ")

/** `--accounts a,b,c` as names: blanks around commas ignored, an empty name refused. */
export const parseAccountList = (text: string): ReadonlyArray<string> | undefined => {
  const names = text.split(",").map((name) => name.trim())
  return names.some((name) => name === "") ? undefined : [...new Set(names)]
}
