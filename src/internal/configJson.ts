/**
 * Reading and writing the plain JSON of an agent config without losing or hijacking keys, and the shape of the keys of
 * `agents.defaults.models`: shared by the typed view (`src/AgentConfig.ts`) and the onboarding merge
 * (`src/cli/onboarding.ts`).
 *
 * @internal
 */
import type { Json, JsonObject } from "./configDocument.js"
import { PROVIDER_ID } from "../ModelRef.js"

/** Whether a value is a JSON object (not null, not an array). */
export const isJsonObject = (value: unknown): value is JsonObject =>
  typeof value === "object" && value !== null && !Array.isArray(value)

/** Reads own properties only: a key like "__proto__" in a user's file must never reach Object.prototype. */
export const own = (object: JsonObject, key: string): Json | undefined =>
  Object.prototype.hasOwnProperty.call(object, key) ? object[key] : undefined

/** The own property `key` when it is an object. */
export const ownObject = (object: JsonObject | undefined, key: string): JsonObject | undefined => {
  if (object === undefined) return undefined
  const value = own(object, key)
  return isJsonObject(value) ? value : undefined
}

/** A copy with `key` set. A computed key in an object literal defines an own data property: "__proto__" stays a key. */
export const withKey = (object: JsonObject, key: string, value: Json): JsonObject => ({ ...object, [key]: value })

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/

/** A readable key path: `agents.defaults.models["chutes/zai-org/GLM-4.7-TEE"].alias`, `…models[2].id`. */
export const formatPath = (path: ReadonlyArray<PropertyKey>): string => {
  let out = ""
  for (const segment of path) {
    if (typeof segment === "number") out += `[${segment}]`
    else {
      const key = String(segment)
      out += IDENTIFIER.test(key) ? (out.length === 0 ? key : `.${key}`) : `[${JSON.stringify(key)}]`
    }
  }
  return out.length === 0 ? "(top level)" : out
}

/** The readable path of one entry of `agents.defaults.models`. */
export const modelsKey = (key: string): string => formatPath(["agents", "defaults", "models", key])

const CHUTES_PREFIX = `${PROVIDER_ID}/`

/** A `chutes/…` key (provider matched case-insensitively). */
export const isChutesKey = (key: string): boolean => key.trim().toLowerCase().startsWith(CHUTES_PREFIX)

/** Any `<provider>/<id>` key: a model of some provider. Such keys are never read as inverted aliases. */
export const isRefLike = (key: string): boolean => /^[^/\s]+\/\S/.test(key.trim())
