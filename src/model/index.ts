export {
  METRIC_NAME_LABEL,
  TENANT_ID_LABEL,
  compareLabels,
  compareLabelsWithNames,
  compareStrings,
  formatSeries,
  labelValue,
  labelsKey,
  sortedLabelNames,
  setOwnLabel,
} from './labels.ts';
export type { Labels } from './labels.ts';
export { compileMatcher } from './matcher.ts';
export type { LabelMatcher, MatchOp } from './matcher.ts';
export {
  INVALID_REGEXP_CODE,
  anchoredRegexSource,
  classEnd,
  groupEnd,
  compileAnchoredRegex,
  compileRe2,
  expandReplacement,
  invalidRegexpError,
  regexReplaceAll,
  literalPrefixes,
  requiredLiteralPrefix,
} from './re2.ts';
export type { Re2Options, ValuePredicate } from './re2.ts';
export { INVALID_SELECTOR_CODE, checkMatcher, emptySelectorProblem, metricNameTwiceMessage, parseSelector } from './selector.ts';
export type { SelectorDialect } from './selector.ts';
export type { TimeRange } from './time-range.ts';
export { DEFAULT_TENANT } from './tenant-id.ts';
export type { TenantId } from './tenant-id.ts';
export { DISCARD_REASONS } from './signal.ts';
export type { DiscardReason, Signal } from './signal.ts';
export type { Rejection } from './rejection.ts';
export { STALE_NAN, STALE_NAN_BITS, isStaleNaN } from './metric.ts';
export type {
  BucketSpan,
  Exemplar,
  FloatSample,
  HistogramSample,
  MetricMetadata,
  MetricRecord,
  MetricType,
  NativeHistogram,
} from './metric.ts';
export type { LogEntry, LogRecord } from './log.ts';
export type {
  Attribute,
  AttributeScalar,
  AttributeValue,
  InstrumentationScope,
  Span,
  SpanEvent,
  SpanKind,
  SpanLink,
  SpanRecord,
  SpanStatusCode,
} from './span.ts';
export { parseGoFloat, readGoFloat, tryParseGoFloat } from './go-float.ts';
export type { GoFloatResult } from './go-float.ts';
export { quoteGo, readGoString, unquoteGo, unquoteGoString } from './go-string.ts';
export { formatPromDuration, parseGoDuration, parsePromDuration } from './go-duration.ts';
export { lineCol } from './text-position.ts';
export type { QuotedString, Unquoted } from './go-string.ts';
export {
  CONNECT_ERROR_FOR_KIND,
  GRPC_CODE_FOR_KIND,
  HTTP_STATUS_FOR_KIND,
  HeimdallError,
  STATUS_CLIENT_CLOSED_REQUEST,
  isHeimdallError,
  isRetryableKind,
} from './errors.ts';
export type { ErrorKind, HeimdallErrorOptions } from './errors.ts';
export { estimateAttributesBytes, estimateSpanBytes } from './span-size.ts';
export { WIRE_I32, WIRE_I64, WIRE_LEN, WIRE_VARINT, WireFormatError, WireReader } from './protobuf-wire.ts';
export type { StringInterner } from './string-interner.ts';
export {
  PROFILE_PERIOD_TYPE_LABEL,
  PROFILE_PERIOD_UNIT_LABEL,
  PROFILE_SAMPLE_TYPE_LABEL,
  PROFILE_SAMPLE_UNIT_LABEL,
  PROFILE_TYPE_LABEL,
  SERVICE_NAME_LABEL,
  parseProfileTypeId,
  profileTotal,
  profileTypeId,
  profileTypeLabels,
  profileTypeOf,
} from './profile.ts';
export type { Profile, ProfileFunction, ProfileSample, ProfileType } from './profile.ts';
export { profilePprof } from './profile-pprof.ts';
export { GoTemplate, GoTemplateSet } from './go-template.ts';
export type { TemplateLimits } from './go-template-exec.ts';
export { TemplateError, outputTooLong } from './go-template-error.ts';
export { goTypeName, truth } from './go-template-value.ts';
export type { GoValue, MethodLookup, TemplateFunc } from './go-template-value.ts';
export { formatFloatG, goSprint, goSprintf, printValue } from './go-format.ts';
export type { NotifiableAlert } from './alert.ts';
