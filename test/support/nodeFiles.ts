/**
 * The file services of a store test on Node: the platform's `FileSystem` and `Path` (`NodeContext`), the portable
 * `PrivateFiles` over them (the rules through `stat` and `readLink`, as on runtimes without `effect-chutes/node`) and
 * the cross-process `NodeFileLock`. `NodeChutes.layerPlatform` is the same with the hardened `NodePrivateFiles`.
 */
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as Layer from "effect/Layer"
import * as NodeFileLock from "../../src/node/NodeFileLock.js"
import * as PrivateFiles from "../../src/PrivateFiles.js"

export const portableFiles = Layer.mergeAll(PrivateFiles.layerFileSystem, NodeFileLock.layer).pipe(
  Layer.provideMerge(NodeContext.layer)
)
