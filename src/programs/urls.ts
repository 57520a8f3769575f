/** URL fields of keel.yaml: defined in effects/configFields.ts (the broker adapters use them too); kept for targetsConfig.ts's import. */
export { HttpUrl, WebSocketUrl } from "../effects/configFields.ts"
