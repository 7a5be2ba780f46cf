/**
 * Facts about JavaScript's `Date` that bounds checks share.
 *
 * @internal
 */

/** The largest time a `Date` holds, either side of the epoch (±8.64e15 ms, some 275,000 years). */
export const MAX_DATE_MILLIS = 8.64e15
