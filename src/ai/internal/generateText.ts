/**
 * `LanguageModel.generateText` without a toolkit, with its answer schema built once.
 *
 * `@effect/ai` 0.37's `LanguageModel.make` builds the schema of a response's parts (`Response.Part(toolkit)`) on every
 * `generateText` call and compiles a decoder for it before decoding the provider's parts; for a call without a toolkit
 * that schema is always the same one. Here the service `LanguageModel.make` returned keeps every method, and its
 * `generateText` runs such a call the way `make` does — the `LanguageModel.generateText` span with its attributes, the
 * prompt, the provider options, the decode of the parts (a `ParseError` becomes `MalformedOutput`), the span
 * transformer — with the decoder compiled once for the module. (`make` also provides its `IdGenerator` to the
 * provider, for providers that make up ids; this one reads none.) A call with a toolkit goes to `@effect/ai`'s own
 * `generateText`, unchanged.
 *
 * This saves about 60 µs of CPU and 50 KB of garbage a call (bench/README.md, "Chat", eighth pass); it follows
 * `@effect/ai`'s own code, and test/ai/generateText.test.ts checks it answers as `@effect/ai` does.
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
import * as Schema from "effect/Schema"

/** The parts of an answer to a call without tools, as `@effect/ai` decodes them; compiled on first use, once. */
const decodeParts = Schema.decodeUnknown(Schema.mutable(Schema.Array(Response.Part(Toolkit.empty))))

/** What a provider's `generateText` is (the function given to `LanguageModel.make`). */
type Generate = LanguageModel.ConstructorParams["generateText"]

/**
 * `service`, made by `LanguageModel.make` over `generate`, with `generateText` running calls without a toolkit here.
 * Like `make`, keeps the span transformer of the context it is built in for calls whose own context has none.
 */
export const withSchemaKept = (
  service: LanguageModel.Service,
  generate: Generate
): Effect.Effect<LanguageModel.Service> =>
  Effect.gen(function*() {
    const parentSpanTransformer = yield* Effect.serviceOption(Telemetry.CurrentSpanTransformer)
    const spanTransformer = Effect.map(
      Effect.serviceOption(Telemetry.CurrentSpanTransformer),
      Option.orElse(() => parentSpanTransformer)
    )
    const withoutToolkit = (options: LanguageModel.GenerateTextOptions<any>) =>
      Effect.useSpan("LanguageModel.generateText", {
        captureStackTrace: false,
        attributes: { concurrency: options.concurrency, toolChoice: options.toolChoice }
      }, (span) =>
        Effect.gen(function*() {
          const transformer = yield* spanTransformer
          const providerOptions: LanguageModel.ProviderOptions = {
            prompt: Prompt.make(options.prompt),
            tools: [],
            toolChoice: "none",
            responseFormat: { type: "text" },
            span
          }
          const content = yield* Effect.flatMap(generate(providerOptions), decodeParts)
          if (Option.isSome(transformer)) transformer.value({ ...providerOptions, response: content })
          return new LanguageModel.GenerateTextResponse<{}>(content)
        }).pipe(
          Effect.catchTag("ParseError", (error) =>
            AiError.MalformedOutput.fromParseError({ module: "LanguageModel", method: "generateText", error })),
          Effect.withParentSpan(span)
        ))
    const generateText: LanguageModel.Service["generateText"] = (options) =>
      options.toolkit === undefined
        ? withoutToolkit(options) as ReturnType<LanguageModel.Service["generateText"]>
        : service.generateText(options)
    return { ...service, generateText }
  })
