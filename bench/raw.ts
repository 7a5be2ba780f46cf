/**
 * The raw limit's decoding: the fields of a `/v1/models` item mapped to a definition with no validation at all. Its own
 * module without dependencies, so that the memory child can use it without loading the SDK's HTTP stack.
 */

/**
 * The fields of a `/v1/models` item the raw limit reads. Deliberately unchecked: the raw limit trusts the server.
 */
export interface WireModel {
  readonly id: string
  readonly max_model_len?: number | null
  readonly context_length?: number | null
  readonly max_output_length?: number | null
  readonly input_modalities?: ReadonlyArray<string> | null
  readonly supported_features?: ReadonlyArray<string> | null
  readonly pricing?:
    | { readonly prompt: number; readonly completion: number; readonly input_cache_read?: number | null }
    | null
  readonly confidential_compute?: boolean | null
  readonly quantization?: string | null
  readonly root?: string | null
  readonly owned_by?: string | null
}

/**
 * The same fields as a `ModelDefinition`, mapped without any validation.
 */
export const rawDefinition = (m: WireModel) => {
  const features = m.supported_features
  return {
    id: m.id,
    name: m.id,
    contextWindow: m.context_length ?? m.max_model_len,
    maxOutputTokens: m.max_output_length ?? undefined,
    input: m.input_modalities ?? ["text"],
    reasoning: features?.includes("reasoning") ?? false,
    cost: m.pricing == null
      ? undefined
      : { input: m.pricing.prompt, output: m.pricing.completion, cacheRead: m.pricing.input_cache_read ?? undefined },
    tools: features?.includes("tools"),
    jsonMode: features?.includes("json_mode"),
    structuredOutputs: features?.includes("structured_outputs"),
    confidentialCompute: m.confidential_compute ?? undefined,
    quantization: m.quantization ?? undefined,
    root: m.root ?? undefined,
    ownedBy: m.owned_by ?? undefined
  }
}
