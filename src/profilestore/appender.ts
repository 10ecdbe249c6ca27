import type { Profile, Rejection, TenantId } from '../model/index.ts';
import type { AppendOutcome, Appender, CommitStats } from '../storage/index.ts';
import type { ProfileStoreTenantLimits } from './limits.ts';

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_.]*$/;

/** Why a profile's labels cannot be stored (Pyroscope's label validation), or undefined. */
function labelProblem(p: Profile, limits: ProfileStoreTenantLimits): Omit<Rejection, 'signal' | 'count'> | undefined {
  const names = Object.keys(p.labels);
  const subject = p.labels.service_name ?? '';
  if (limits.max_label_names_per_series > 0 && names.length > limits.max_label_names_per_series) {
    return {
      reason: 'max_label_names_per_series',
      message: `profile series has ${names.length} labels, more than profiles.limits.max_label_names_per_series (${limits.max_label_names_per_series})`,
      subject,
    };
  }
  for (const name of names) {
    if (!LABEL_NAME.test(name)) return { reason: 'invalid_label_name', message: `invalid label name "${name}"`, subject };
    if (limits.max_label_name_length > 0 && name.length > limits.max_label_name_length) {
      return { reason: 'label_name_too_long', message: `label name "${name.slice(0, 64)}..." is longer than profiles.limits.max_label_name_length (${limits.max_label_name_length})`, subject };
    }
    const value = p.labels[name]!;
    if (limits.max_label_value_length > 0 && value.length > limits.max_label_value_length) {
      return { reason: 'label_value_too_long', message: `value of label "${name}" is longer than profiles.limits.max_label_value_length (${limits.max_label_value_length})`, subject };
    }
  }
  return undefined;
}

/**
 * One tenant's write transaction. `append` keeps profiles whose labels pass the tenant's limits and reports
 * the others; `commit` hands the batch to the store, which resolves once it is fsynced in the WAL and
 * queryable.
 */
export class ProfileAppender implements Appender<Profile> {
  private readonly profiles: Profile[] = [];
  private done = false;

  constructor(
    private readonly tenant: TenantId,
    private readonly limits: ProfileStoreTenantLimits,
    private readonly submit: (tenant: TenantId, profiles: readonly Profile[]) => Promise<void>,
  ) {}

  append(profile: Profile): AppendOutcome {
    if (this.done) throw new Error('profile appender used after commit or rollback');
    const problem = labelProblem(profile, this.limits);
    if (problem) return { accepted: 0, rejections: [{ signal: 'profiles', count: 1, ...problem }] };
    this.profiles.push(profile);
    return { accepted: 1, rejections: [] };
  }

  async commit(): Promise<CommitStats> {
    if (this.done) throw new Error('profile appender committed twice');
    this.done = true;
    if (this.profiles.length === 0) return { records: 0 };
    await this.submit(this.tenant, this.profiles);
    return { records: this.profiles.length };
  }

  rollback(): void {
    this.done = true;
  }
}
