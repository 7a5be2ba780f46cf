/**
 * `scrub`: what looks like a credential in untrusted text (an error body, a pasted URL) becomes `<redacted>`; error
 * and status codes stay readable.
 */
import { assert, describe, it } from "@effect/vitest"
import { scrub } from "../../src/internal/redact.js"

describe("scrub", () => {
  it("keeps a numeric error or status code", () => {
    assert.strictEqual(
      scrub(`{"error":{"message":"upstream failed","code":500}}`),
      `{"error":{"message":"upstream failed","code":500}}`
    )
    assert.strictEqual(scrub(`{"code": -32600, "message": "bad"}`), `{"code": -32600, "message": "bad"}`)
    assert.strictEqual(scrub("status code=429"), "status code=429")
  })

  it("still cuts an OAuth code, a token value and the Chutes key shapes", () => {
    assert.strictEqual(scrub("?code=Ab3dEf9hIjKl&state=x"), "?code=<redacted>&state=x")
    assert.strictEqual(scrub(`{"code":"483920117"}`), `{"code":"<redacted>"}`)
    assert.strictEqual(scrub(`{"code":123456}`), `{"code":<redacted>}`)
    assert.strictEqual(scrub(`{"access_token":"12345"}`), `{"access_token":"<redacted>"}`)
    assert.strictEqual(scrub("key cpk_abcdef123456 here"), "key <redacted> here")
    assert.strictEqual(scrub("Authorization: Bearer xyz.abc"), "Authorization: Bearer <redacted>")
  })
})
