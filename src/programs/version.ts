/** Keel's own version, from package.json (the same relative path from src/programs and dist/programs). */
import { readFileSync } from "node:fs"

export const keelVersion = (): string =>
  (JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string }).version
