/**
 * `effect-chutes/ai`: Chutes models for `@effect/ai` (an optional peer: only this entry loads it).
 *
 * @since 0.1.0
 */

/** @since 0.1.0 */
export * as ChutesLanguageModel from "./ChutesLanguageModel.js"
/** @since 0.1.0 */
export * as ChutesAiError from "./ChutesAiError.js"
/** @since 0.3.0 */
export * as ChutesBudget from "./ChutesBudget.js"
