export { AlertmanagerNotifier } from './alertmanager-notifier.ts';
export type { AlertmanagerNotifierOptions } from './alertmanager-notifier.ts';
