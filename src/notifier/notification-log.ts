import { JsonStateFile } from './state-file.ts';

/** What was last sent to one integration for one alert group (Alertmanager's nflog entry). */
export interface NotificationLogEntry {
  /** Fingerprints of the alerts that were firing in that notification. */
  readonly firing: readonly string[];
  /** Fingerprints of the alerts that were resolved in it. */
  readonly resolved: readonly string[];
  readonly timestampMs: number;
}

interface Stored extends NotificationLogEntry {
  readonly key: string;
  readonly expiresAtMs: number;
}

/**
 * One tenant's notification log, durable in `<dir>/nflog.json`: a notification is logged (and fsynced) after
 * it was delivered, so after a restart the same alerts are not sent again before `repeat_interval`.
 * Entries expire `retentionMs` after they were written, as Alertmanager's `data.retention`.
 */
export class NotificationLog {
  private readonly entries = new Map<string, Stored>();
  private readonly file: JsonStateFile<Stored[]>;

  private constructor(
    file: string,
    private readonly retentionMs: number,
  ) {
    this.file = new JsonStateFile(file);
  }

  static async open(file: string, retentionMs: number): Promise<NotificationLog> {
    const log = new NotificationLog(file, retentionMs);
    for (const e of (await log.file.load()) ?? []) log.entries.set(e.key, e);
    return log;
  }

  /** The entry for `groupKey` and the integration `integrationKey` (`receiver/kind/index`), unless expired. */
  get(groupKey: string, integrationKey: string, nowMs: number): NotificationLogEntry | undefined {
    const e = this.entries.get(`${integrationKey}\0${groupKey}`);
    return e && e.expiresAtMs > nowMs ? e : undefined;
  }

  /** Records a delivered notification; resolves when it is durable. */
  async log(groupKey: string, integrationKey: string, entry: NotificationLogEntry): Promise<void> {
    const key = `${integrationKey}\0${groupKey}`;
    this.entries.set(key, { key, ...entry, expiresAtMs: entry.timestampMs + this.retentionMs });
    await this.file.save(() => {
      const now = Date.now();
      for (const [k, e] of this.entries) if (e.expiresAtMs <= now) this.entries.delete(k);
      return [...this.entries.values()];
    });
  }
}

/**
 * Alertmanager's dedup decision (`DedupStage.needsUpdate`): notify when a firing alert is new to the receiver,
 * when every alert of a group it was told about resolved (whatever send_resolved says, so the log is cleared),
 * when (with send_resolved) an alert newly resolved, or when the last notification is older than the repeat
 * interval.
 */
export function needsUpdate(
  entry: NotificationLogEntry | undefined,
  firing: ReadonlySet<string>,
  resolved: ReadonlySet<string>,
  sendResolved: boolean,
  repeatIntervalMs: number,
  nowMs: number,
): boolean {
  if (!entry) return firing.size > 0;
  const subset = (of: readonly string[], set: ReadonlySet<string>): boolean => [...set].every((fp) => of.includes(fp));
  if (!subset(entry.firing, firing)) return true;
  if (firing.size === 0) return entry.firing.length > 0;
  if (sendResolved && !subset(entry.resolved, resolved)) return true;
  return entry.timestampMs < nowMs - repeatIntervalMs;
}
