/**
 * In-process signals that a verification changed (approved, closed), for long-polling readers.
 * Subscribe before reading the state, then wait: a change between the read and the wait is not lost.
 */
export interface ChangeNotifier {
  notify(verificationId: string): void;
  subscribe(verificationId: string): Subscription;
}

export interface Subscription {
  /** Resolves when the verification is signalled, or after `ms` at the latest. */
  wait(ms: number): Promise<void>;
  cancel(): void;
}

export function createChangeNotifier(): ChangeNotifier {
  const waiting = new Map<string, Set<() => void>>();

  return {
    notify(id) {
      const listeners = waiting.get(id);
      if (!listeners) return;
      waiting.delete(id);
      for (const wake of listeners) wake();
    },
    subscribe(id) {
      let signalled = false;
      let wake: (() => void) | undefined;
      const listener = () => {
        signalled = true;
        wake?.();
      };
      const listeners = waiting.get(id) ?? new Set();
      listeners.add(listener);
      waiting.set(id, listeners);
      const cancel = () => {
        const set = waiting.get(id);
        set?.delete(listener);
        if (set?.size === 0) waiting.delete(id);
      };
      return {
        wait(ms) {
          if (signalled) return Promise.resolve();
          return new Promise<void>((resolve) => {
            const timer = setTimeout(() => {
              cancel();
              resolve();
            }, ms);
            wake = () => {
              clearTimeout(timer);
              resolve();
            };
          });
        },
        cancel,
      };
    },
  };
}
