/** The flags several commands share, declared once so that each reads and documents them the same way. */
import { Flag } from "effect/cli"
import { ConfigDefaults } from "../config.ts"

export const configFlag = Flag.String("config").pipe(
  Flag.withDescription(`Keel config file (default ./${ConfigDefaults.file})`),
  Flag.withDefault(ConfigDefaults.file)
)

export const jsonFlag = Flag.Boolean("json").pipe(
  Flag.withDescription("Print one JSON object on stdout"),
  Flag.withDefault(false)
)

export const accountFlag = Flag.String("account").pipe(Flag.withDescription("Account name in the config"))

/** How long a run waits for its account while another run holds it: none by default (it stops at once). */
export const waitFlag = Flag.Int("wait").pipe(
  Flag.filter((seconds) => seconds >= 0, () => "seconds, at least 0"),
  Flag.withDescription("Seconds to wait while another run holds the account (default 0: stop at once, exit 3)"),
  Flag.withDefault(0)
)
