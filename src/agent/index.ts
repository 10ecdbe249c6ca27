export { NodeAgent } from './node-agent.ts';
export { RecordSink } from './record-sink.ts';
