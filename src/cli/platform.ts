/**
 * The Node services the commands run on (files, paths, the terminal). Loaded by the executable only for the commands
 * that go through @effect/cli's parser: `--help`, `--version` and the offline listing need none of them, and building
 * them is a good part of start-up (bench/README.md, "Cold start").
 *
 * @internal
 */
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as NodePath from "@effect/platform-node/NodePath"
import * as NodeTerminal from "@effect/platform-node/NodeTerminal"
import * as Layer from "effect/Layer"

/** `FileSystem`, `Path` and `Terminal` on Node. */
export const layer = Layer.mergeAll(NodeFileSystem.layer, NodePath.layer, NodeTerminal.layer)
