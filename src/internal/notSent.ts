/**
 * The detail of the `CredentialsError` `Rejected` of a credential the SDK did not send (`auth.ts`'s `unsendable`):
 * refused here, never by the service. Its own module, so that the CLI's error rendering can tell it apart without
 * loading the HTTP code at start-up.
 *
 * @internal
 */
export const NOT_SENT = "not sent: it has spaces, control or non-ASCII characters, which an HTTP header cannot carry"
