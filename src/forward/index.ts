export { DiskQueue } from './disk-queue.ts';
export type { DiskQueueOptions, QueueItem } from './disk-queue.ts';
export { ForwardMetrics } from './forward-metrics.ts';
export { SignalForwarder } from './signal-forwarder.ts';
export type { ForwarderSettings } from './signal-forwarder.ts';
export {
  logsQueueCodec,
  lokiPushWire,
  metricsQueueCodec,
  otlpGrpcTracesWire,
  otlpHttpWire,
  profilesQueueCodec,
  pyroscopePushWire,
  remoteWriteV1Wire,
  remoteWriteV2Wire,
  tracesQueueCodec,
} from './signal-codecs.ts';
export type { QueueCodec, WireFormat } from './signal-codecs.ts';
