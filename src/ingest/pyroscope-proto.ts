import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';

const PYROSCOPE_PROTO_FILES = ['push.proto', 'querier.proto'].map((f) =>
  fileURLToPath(new URL(`../../proto/pyroscope/${f}`, import.meta.url)),
);

/**
 * Pyroscope's API messages (push.v1, querier.v1, types.v1), loaded once from `proto/pyroscope/`: the push
 * decoder uses them here and the query API (api/pyroscope) looks up its querier.v1 messages in the same root.
 */
export const pyroscopeProtoRoot = protobuf.loadSync(PYROSCOPE_PROTO_FILES);
pyroscopeProtoRoot.resolveAll();
const root = pyroscopeProtoRoot;

/** `push.v1.PushRequest`. */
export const PushRequest = root.lookupType('push.v1.PushRequest');
