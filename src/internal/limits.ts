/**
 * Count and size limits given by callers (`maxBytes`, `maxBuckets`, `pageSize`, …) read one way everywhere: a whole
 * number of 1 or more, or — where the limit may be lifted — `Infinity`; anything else (`undefined`, `NaN`, `0`, a
 * negative number) means the default. A `NaN` had lifted every cap it reached (`length > NaN` is never true).
 *
 * @internal
 */

/** `value` as a limit (floored), or `fallback` when it is not one; `Infinity` is kept only when `infinite` is set. */
export const limitOr = (
  value: number | undefined,
  fallback: number,
  options: { readonly infinite?: boolean } = {}
): number =>
  value === Number.POSITIVE_INFINITY
    ? options.infinite === true ? value : fallback
    : value !== undefined && Number.isFinite(value) && value >= 1
    ? Math.floor(value)
    : fallback
