/**
 * `withoutSecrets` (issue 13, item 9): the values the SDK knows to be secret are cut out of text whatever their shape,
 * whole and in pieces, and ordinary text is left alone.
 */
import { assert, describe, it } from "@effect/vitest"
import { withoutSecrets } from "../../src/internal/redact.js"

const SECRET = "plainAppSecretQ7wE9rT2yU4iO6pA7731"
const VERIFIER = "Vq3rIfIeR-no-prefix-000111222333444555666777"

describe("withoutSecrets", () => {
  it("cuts every whole occurrence, of any shape", () => {
    assert.strictEqual(withoutSecrets(`a ${SECRET} b ${SECRET}`, [SECRET]), "a <redacted> b <redacted>")
    assert.strictEqual(withoutSecrets(`${VERIFIER} ${SECRET}`, [SECRET, VERIFIER]), "<redacted> <redacted>")
  })

  it("cuts a run of 8 or more characters of a secret (an echo cut short or split), and leaves shorter runs", () => {
    assert.strictEqual(withoutSecrets(`starts with ${SECRET.slice(0, 20)}…`, [SECRET]), "starts with <redacted>…")
    assert.strictEqual(withoutSecrets(`ends ${SECRET.slice(-8)}.`, [SECRET]), "ends <redacted>.")
    assert.strictEqual(withoutSecrets(`mid ${SECRET.slice(5, 12)} x`, [SECRET]), `mid ${SECRET.slice(5, 12)} x`)
    const split = `${SECRET.slice(0, 17)} and ${SECRET.slice(17)}`
    assert.strictEqual(withoutSecrets(split, [SECRET]), "<redacted> and <redacted>")
  })

  it("leaves ordinary text alone", () => {
    const text = "The Chutes identity provider refused the request (invalid_grant): the refresh token was already used"
    assert.strictEqual(withoutSecrets(text, [SECRET, VERIFIER, "crt_9352a6d7772628313b6b"]), text)
    assert.strictEqual(withoutSecrets(text, []), text)
  })

  it("ignores values under 4 characters; in text over 4 KiB cuts whole values only (callers cut the excerpt again)", () => {
    assert.strictEqual(withoutSecrets("a b c abc", ["abc", "b"]), "a b c abc")
    const long = `${"x ".repeat(3000)}${SECRET} ${SECRET.slice(0, 20)}`
    const out = withoutSecrets(long, [SECRET])
    assert.notInclude(out, SECRET)
    assert.include(out, SECRET.slice(0, 20))
    assert.strictEqual(withoutSecrets(out.slice(-40), [SECRET]).includes(SECRET.slice(0, 12)), false)
  })
})
