import { fileURLToPath } from 'node:url';

/** Pyroscope's API protos (`proto/pyroscope/`), the same files the push decoder in ingest/ loads. */
export const PYROSCOPE_PROTO_FILES = ['push.proto', 'querier.proto'].map((f) =>
  fileURLToPath(new URL(`../../../proto/pyroscope/${f}`, import.meta.url)),
);
