import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';

/**
 * Pyroscope's API messages (push.v1, querier.v1, types.v1), loaded once from `proto/pyroscope/`. The push
 * decoder uses them here; the query API (api/pyroscope) loads the same files for its messages.
 */
export const PYROSCOPE_PROTO_FILES = ['push.proto', 'querier.proto'].map((f) =>
  fileURLToPath(new URL(`../../proto/pyroscope/${f}`, import.meta.url)),
);

const root = protobuf.loadSync(PYROSCOPE_PROTO_FILES);
root.resolveAll();

/** `push.v1.PushRequest`. */
export const PushRequest = root.lookupType('push.v1.PushRequest');
