/**
 * Where the fixtures FakeChutes serves live: `./fixtures/` next to this module, in the sources, in `dist/` and next to
 * a bundle (this expression stays at this level so that bundling keeps it right).
 *
 * @internal
 */
export const fixtureUrl = (name: string): URL => new URL(`./fixtures/${name}`, import.meta.url)
