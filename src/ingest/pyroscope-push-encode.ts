import protobuf from 'protobufjs';
import {
  METRIC_NAME_LABEL,
  PROFILE_PERIOD_TYPE_LABEL,
  PROFILE_PERIOD_UNIT_LABEL,
  PROFILE_SAMPLE_TYPE_LABEL,
  PROFILE_SAMPLE_UNIT_LABEL,
  PROFILE_TYPE_LABEL,
  profilePprof,
  profileTypeOf,
  sortedLabelNames,
} from '../model/index.ts';
import type { Profile, ProfileType } from '../model/index.ts';

/** Labels the receiver derives from the pprof itself (Pyroscope refuses `__`-labels other than `__name__`). */
const DERIVED_LABELS = new Set([PROFILE_TYPE_LABEL, PROFILE_SAMPLE_TYPE_LABEL, PROFILE_SAMPLE_UNIT_LABEL, PROFILE_PERIOD_TYPE_LABEL, PROFILE_PERIOD_UNIT_LABEL]);

function typeOf(p: Profile): ProfileType {
  return profileTypeOf(p.labels) ?? { name: p.labels[METRIC_NAME_LABEL] ?? 'process_cpu', sampleType: 'samples', sampleUnit: 'count', periodType: '', periodUnit: '' };
}

/**
 * Encodes `records` as a Pyroscope `push.v1.PushRequest` (uncompressed protobuf, what Alloy's `pyroscope.write`
 * sends over Connect): one series per profile with its labels (`__name__`, `service_name` and the user's; the
 * profile-type labels are left to the receiver, which reads them from the pprof) and one sample holding the
 * profile as a pprof (see `profilePprof`) and its id. Messages concatenate: `series` is the only field.
 */
export function encodePyroscopePush(records: readonly Profile[]): Uint8Array {
  const w = protobuf.Writer.create();
  for (const p of records) {
    w.uint32(10).fork();
    for (const name of sortedLabelNames(p.labels)) {
      if (DERIVED_LABELS.has(name)) continue;
      w.uint32(10).fork().uint32(10).string(name).uint32(18).string(p.labels[name]!).ldelim();
    }
    w.uint32(18).fork().uint32(10).bytes(profilePprof(p, typeOf(p)));
    if (p.profileId !== undefined) w.uint32(18).string(p.profileId);
    w.ldelim();
    w.ldelim();
  }
  return w.finish();
}
