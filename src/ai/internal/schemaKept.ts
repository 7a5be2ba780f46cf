/**
 * `LanguageModel.generateText` and `streamText` without a toolkit, with their answer schemas built once.
 *
 * `@effect/ai` 0.37's `LanguageModel.make` builds the schema of an answer's parts (`Response.Part(toolkit)`, for a
 * stream `Response.StreamPart(toolkit)`) for every `generateText` call and every stream, and compiles a decoder for it
 * before decoding the provider's parts; for a call without a toolkit that schema is always the same one. Here the
 * service `LanguageModel.make` returned keeps every method, and its `generateText` and `streamText` run such a call the
 * way `make` does — the `LanguageModel.generateText` / `streamText` span with its attributes, the prompt, the provider
 * options, the decode of the parts (a `ParseError` becomes `MalformedOutput`), the span transformer — with the decoders
 * compiled once for the module. (`make` also provides its `IdGenerator` to the provider, for providers that make up
 * ids; this one reads none.) A call with a toolkit, and `generateObject`, go to `@effect/ai`'s own methods, unchanged.
 *
 * This saves about 60 µs of CPU and 50 KB of garbage a completion, and about as much before a stream's first part
 * (bench/README.md, "Chat", eighth pass); it follows `@effect/ai`'s own code, and test/ai/schemaKept.test.ts checks it
 * answers as `@effect/ai` does.
 *
 * @internal
 */
import * as AiError from "@effect/ai/AiError"
import * as LanguageModel from "@effect/ai/LanguageModel"
import * as Prompt from "@effect/ai/Prompt"
import * as Response from "@effect/ai/Response"
import * as Telemetry from "@effect/ai/Telemetry"
import * as Toolkit from "@effect/ai/Toolkit"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import type * as Tracer from "effect/Tracer"

/** The parts of an answer to a call without tools, as `@effect/ai` decodes them; compiled on first use, once. */
const decodeParts = Schema.decodeUnknown(Schema.mutable(Schema.Array(Response.Part(Toolkit.empty))))

/** The same for a stream's parts, a chunk at a time. */
const decodeStreamParts = Schema.decode(Schema.ChunkFromSelf(Response.StreamPart(Toolkit.empty)))

/** The provider's two methods (what `LanguageModel.make` is given), needing nothing from the context. */
export interface Provider {
  readonly generateText: (
    options: LanguageModel.ProviderOptions
  ) => Effect.Effect<Array<Response.PartEncoded>, AiError.AiError>
  readonly streamText: (
    options: LanguageModel.ProviderOptions
  ) => Stream.Stream<Response.StreamPartEncoded, AiError.AiError>
}

/** What a call without a toolkit reads of its options. */
interface CallOptions {
  readonly prompt: Prompt.RawInput
  readonly concurrency?: LanguageModel.GenerateTextOptions<{}>["concurrency"]
  readonly toolChoice?: unknown
}

/** A call's provider options without tools, as `make` builds them. */
const providerOptions = (
  options: CallOptions,
  span: Tracer.Span
): LanguageModel.ProviderOptions => ({
  prompt: Prompt.make(options.prompt),
  tools: [],
  toolChoice: "none",
  responseFormat: { type: "text" },
  span
})

const malformed = (method: string) => (error: ParseResult.ParseError) =>
  AiError.MalformedOutput.fromParseError({ module: "LanguageModel", method, error })

/**
 * `service`, made by `LanguageModel.make` over `provider`, with `generateText` and `streamText` running calls without
 * a toolkit here. Like `make`, keeps the span transformer of the context it is built in for calls whose own context
 * has none.
 */
export const withSchemaKept = (
  service: LanguageModel.Service,
  provider: Provider
): Effect.Effect<LanguageModel.Service> =>
  Effect.gen(function*() {
    const parentSpanTransformer = yield* Effect.serviceOption(Telemetry.CurrentSpanTransformer)
    const spanTransformer = Effect.map(
      Effect.serviceOption(Telemetry.CurrentSpanTransformer),
      Option.orElse(() => parentSpanTransformer)
    )
    const attributes = (options: CallOptions) => ({
      concurrency: options.concurrency,
      toolChoice: options.toolChoice
    })

    const generateWithoutToolkit = (options: CallOptions) =>
      Effect.useSpan(
        "LanguageModel.generateText",
        { captureStackTrace: false, attributes: attributes(options) },
        (span) =>
          Effect.gen(function*() {
            const transformer = yield* spanTransformer
            const request = providerOptions(options, span)
            const content = yield* Effect.flatMap(provider.generateText(request), decodeParts)
            if (Option.isSome(transformer)) transformer.value({ ...request, response: content })
            return new LanguageModel.GenerateTextResponse<{}>(content)
          }).pipe(Effect.catchTag("ParseError", malformed("generateText")), Effect.withParentSpan(span))
      )

    const streamWithoutToolkit = (options: CallOptions) =>
      Stream.unwrapScoped(Effect.gen(function*() {
        const span = yield* Effect.makeSpanScoped("LanguageModel.streamText", {
          captureStackTrace: false,
          attributes: attributes(options)
        })
        const request = providerOptions(options, span)
        const parts = Stream.mapChunksEffect(provider.streamText(request), decodeStreamParts)
        const transformer = yield* spanTransformer
        if (Option.isNone(transformer)) return parts
        // The transformer gets every part once the stream ends, however it ends.
        const content: Array<Response.StreamPart<{}>> = []
        return parts.pipe(
          Stream.mapChunks((chunk) => {
            for (const part of chunk) content.push(part)
            return chunk
          }),
          Stream.ensuring(Effect.sync(() => transformer.value({ ...request, response: content })))
        )
      })).pipe(
        Stream.mapError((error) => ParseResult.isParseError(error) ? malformed("streamText")(error) : error)
      )

    const generateText: LanguageModel.Service["generateText"] = (options) =>
      options.toolkit === undefined
        ? generateWithoutToolkit(options) as ReturnType<LanguageModel.Service["generateText"]>
        : service.generateText(options)
    const streamText: LanguageModel.Service["streamText"] = (options) =>
      options.toolkit === undefined
        ? streamWithoutToolkit(options) as ReturnType<LanguageModel.Service["streamText"]>
        : service.streamText(options)
    return { ...service, generateText, streamText }
  })
