/**
 * `rebalance paper-venue [--config FILE] [--account NAME] [--poll-seconds N]`: the paper venue's
 * matcher alone, for every paper account of the config (or the one named), until SIGINT or
 * SIGTERM. Open orders in the books fill by the venue's rules while no run is active, as at a
 * real broker, and so do orders another process places later: every poll interval (default the
 * config's `timeouts.pollSeconds`) the matcher looks for open orders it is not filling yet.
 *
 * One line per account on stdout once it matches; a bad config, an account that is not a paper
 * one, no paper account at all or books that cannot be opened: one line on stderr, exit 2.
 * Stopped by a signal, it closes the books and exits 0.
 */
import { Command, Flag } from "effect/cli"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { booksFile } from "../../effects/broker/paper/config.ts"
import { matchers, type PaperAccount } from "../../effects/broker/paper/venue.ts"
import { InputFileError } from "../../effects/inputs.ts"
import { ConfigDefaults, loadConfig, type LoadedConfig } from "../config.ts"
import { accountCalendar } from "../guardsConfig.ts"
import { configFlag } from "./flags.ts"
import { exitOnSignal, listenForSignals } from "./signals.ts"

/** The paper accounts of the config, or the one named; any other choice is the user's mistake. */
const paperAccounts = (loaded: LoadedConfig, name: string | undefined) =>
  Effect.gen(function*() {
    const all = loaded.config.accounts
    const fail = (detail: string) => new InputFileError({ file: loaded.file, detail })
    const chosen = name === undefined ? all : all.filter((a) => a.name === name)
    if (name !== undefined && chosen.length === 0) {
      return yield* fail(`accounts: expected an account named "${name}" (known: ${all.map((a) => a.name).join(", ")})`)
    }
    const paper: Array<PaperAccount> = []
    for (const account of chosen) {
      if (account.broker.kind !== "paper") continue
      const context = {
        file: loaded.file,
        dir: loaded.dir,
        at: `accounts[${all.indexOf(account)}].broker`,
        account: account.name,
        // The matcher places nothing: the policy's share mode does not matter.
        fractional: false,
        // A market on the calendar fills in the account's sessions.
        calendar: yield* accountCalendar(loaded, account)
      }
      paper.push({ config: account.broker, context })
    }
    if (paper.length > 0) return paper
    const kinds = chosen.map((a) => `${a.name} (${a.broker.kind})`).join(", ")
    return yield* fail(
      `accounts: expected ${name === undefined ? "at least one account" : "an account"} of kind paper, got ${kinds}`
    )
  })

const pollSecondsFlag = Flag.Finite("poll-seconds").pipe(
  Flag.filter((seconds) => seconds > 0, () => "seconds above 0"),
  Flag.withDescription(
    `How often to look for open orders placed since (default: timeouts.pollSeconds, else ${ConfigDefaults.pollSeconds})`
  ),
  Flag.optional
)

export const paperVenueCommand = Command.make(
  "paper-venue",
  {
    config: configFlag,
    account: Flag.String("account").pipe(Flag.withDescription("Only this paper account"), Flag.optional),
    pollSeconds: pollSecondsFlag
  },
  (flags) =>
    Effect.gen(function*() {
      const loaded = yield* loadConfig(flags.config)
      const accounts = yield* paperAccounts(loaded, Option.getOrUndefined(flags.account))
      const seconds = Option.getOrElse(
        flags.pollSeconds,
        () => loaded.config.timeouts?.pollSeconds ?? ConfigDefaults.pollSeconds
      )
      yield* Effect.scoped(Effect.gen(function*() {
        yield* listenForSignals
        yield* Layer.build(matchers(accounts, `${seconds} seconds`))
        for (const { config, context } of accounts) {
          yield* Console.log(`paper venue: matching ${context.account} (books ${booksFile(config, context)})`)
        }
        return yield* Effect.never
      })).pipe(Effect.onInterrupt(() => exitOnSignal))
    })
).pipe(Command.withDescription("Run the paper venue's matcher alone: open orders fill while no run is active"))
