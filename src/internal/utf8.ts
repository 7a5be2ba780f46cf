/**
 * The UTF-8 text of a read that arrived in pieces (a capped HTTP body in ./cappedBody.ts, a private file in
 * src/PrivateFiles.ts): the pieces joined once, then decoded once, so a character split between two pieces comes out
 * whole.
 *
 * @internal
 */
export const decodePieces = (pieces: ReadonlyArray<Uint8Array>, total: number): string => {
  if (pieces.length === 1) return new TextDecoder().decode(pieces[0])
  const whole = new Uint8Array(total)
  let offset = 0
  for (const piece of pieces) {
    whole.set(piece, offset)
    offset += piece.length
  }
  return new TextDecoder().decode(whole)
}
