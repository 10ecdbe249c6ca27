import type { LogStoreTenantLimits } from './limits.ts';
import type { DiscardReason, Labels, Rejection } from '../model/index.ts';

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/**
 * Checks a stream's labels against the tenant's limits the way Loki's distributor does, returning the
 * reason and Loki's message for the first problem, or undefined when the labels are fine. `key` is the
 * stream's canonical label string, used in messages.
 */
export function validateStreamLabels(
  labels: Labels,
  key: string,
  limits: LogStoreTenantLimits,
): { reason: DiscardReason; message: string } | undefined {
  const names = Object.keys(labels);
  if (names.length === 0) {
    return { reason: 'missing_labels', message: 'error at least one label pair is required per stream' };
  }
  if (names.length > limits.max_label_names_per_series) {
    return {
      reason: 'max_label_names_per_series',
      message: `entry for stream '${key}' has ${names.length} label names; limit ${limits.max_label_names_per_series}`,
    };
  }
  for (const name of names) {
    if (!LABEL_NAME.test(name)) {
      return {
        reason: 'invalid_label_name',
        message: `Error parsing labels '${key}' with error: invalid label name "${name}": names match [a-zA-Z_][a-zA-Z0-9_]*`,
      };
    }
    if (name.length > limits.max_label_name_length) {
      return { reason: 'label_name_too_long', message: `stream '${key}' has label name too long: '${name}'` };
    }
    const value = labels[name]!;
    if (value.length > limits.max_label_value_length && Buffer.byteLength(value) > limits.max_label_value_length) {
      return { reason: 'label_value_too_long', message: `stream '${key}' has label value too long: '${value}'` };
    }
  }
  return undefined;
}

/** Time bounds an entry must fall in, precomputed once per appender. */
export interface EntryBounds {
  /** Oldest acceptable timestamp (inclusive), or undefined when old samples are not rejected. */
  readonly minNs: bigint | undefined;
  /** Newest acceptable timestamp (inclusive). */
  readonly maxNs: bigint;
  readonly maxLineBytes: number;
}

/** The bounds of the tenant's limits at `nowMs`. */
export function entryBounds(limits: LogStoreTenantLimits, nowMs: number): EntryBounds {
  const nowNs = BigInt(nowMs) * 1_000_000n;
  return {
    minNs: limits.reject_old_samples ? nowNs - BigInt(limits.reject_old_samples_max_age) * 1_000_000n : undefined,
    maxNs: nowNs + BigInt(limits.creation_grace_period) * 1_000_000n,
    maxLineBytes: limits.max_line_size,
  };
}

/** Formats a nanosecond timestamp as Loki prints it in messages (RFC 3339). */
function formatNs(ns: bigint): string {
  const ms = Number(ns / 1_000_000n);
  const d = new Date(ms);
  return Number.isNaN(d.getTime()) ? `${ns}ns` : d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Loki's message for a too-old entry. */
export function tooOldMessage(key: string, ts: bigint, minNs: bigint): string {
  return `entry for stream '${key}' has timestamp too old: ${formatNs(ts)}, oldest acceptable timestamp is: ${formatNs(minNs)}`;
}

/** Loki's message for an entry too far in the future. */
export function tooNewMessage(key: string, ts: bigint): string {
  return `entry for stream '${key}' has timestamp too new: ${formatNs(ts)}`;
}

/** Loki's message for a line over `max_line_size`. */
export function lineTooLongMessage(key: string, maxBytes: number, bytes: number): string {
  return `Max entry size '${maxBytes}' bytes exceeded for stream '${key}' while adding an entry with length '${bytes}' bytes`;
}

/** One rejection for `count` entries of a stream. */
export function rejection(reason: DiscardReason, message: string, key: string, count: number): Rejection {
  return { signal: 'logs', reason, message, subject: key, count };
}
