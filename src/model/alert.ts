/**
 * An alert as the ruler hands it to a notifier: Alertmanager's v2 `PostableAlert` (`startsAt`/`endsAt` as
 * RFC 3339 text). A resolved alert carries the resolution time as `endsAt`; a firing one an `endsAt` in the
 * future after which Alertmanager considers it resolved unless it is sent again.
 */
export interface NotifiableAlert {
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  readonly startsAt: string;
  readonly endsAt: string;
  readonly generatorURL: string;
}
