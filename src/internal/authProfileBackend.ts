/**
 * The store service over a backend (the file, memory, or a shared store such as Redis in `effect-chutes/node`): `load`,
 * and `modify` / `upsert` / `remove` as one read-modify-write inside the backend's exclusive section, `trialWrite` as
 * the encoding and the backend's own trial; the cooldowns kept beside the profiles come with the backend.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import type * as AuthCooldowns from "../AuthCooldowns.js"
import type { Service } from "../AuthProfileStore.js"
import type { StoreError } from "../ChutesError.js"
import {
  type ChutesProfile,
  encodeEither,
  fromText,
  isChutesEntry,
  type ProfileChange,
  type ProfileSet,
  replacements
} from "./authProfileDocument.js"
import type { Backend } from "./authProfileFile.js"

/** The service over `backend`, with the cooldowns kept beside it; see `AuthProfileStore.Service`. */
export const fromBackend = (backend: Backend, cooldowns: AuthCooldowns.Store): Service => {
  const load = Effect.flatMap(backend.read, (text) => fromText(backend.location, text))
  const modify = <A, E, R>(
    f: (current: ProfileSet) => Effect.Effect<readonly [A, ReadonlyArray<ProfileChange>], E, R>
  ): Effect.Effect<A, E | StoreError, R> =>
    backend.exclusive((commit) =>
      Effect.gen(function*() {
        const base = yield* backend.read
        const current = yield* fromText(backend.location, base)
        const [result, changes] = yield* f(current)
        if (changes.length > 0) {
          for (const warning of replacements(current, changes)) yield* Effect.logWarning(warning)
          yield* commit(base, changes)
        }
        return result
      })
    ).pipe(Effect.withSpan("AuthProfileStore.modify", { attributes: { location: backend.location } }))
  return {
    location: backend.location,
    cooldowns,
    load: load.pipe(Effect.withSpan("AuthProfileStore.load", { attributes: { location: backend.location } })),
    modify,
    trialWrite: (current) =>
      Effect.flatMap(encodeEither(current, backend.location), (text) => backend.trialWrite?.(text) ?? Effect.void),
    upsert: Effect.fn("AuthProfileStore.upsert")(function*(id: string, profile: ChutesProfile) {
      yield* modify(() => Effect.succeed([undefined, [{ _tag: "Upsert", id, profile }]] as const))
    }),
    remove: Effect.fn("AuthProfileStore.remove")(function*(id: string) {
      return yield* modify((current) => {
        const found = isChutesEntry(current, id)
        return Effect.succeed([found, found ? [{ _tag: "Remove", id } as const] : []] as const)
      })
    })
  }
}

