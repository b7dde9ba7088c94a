import { BrokenCircuitError, type CircuitBreakerPolicy, ConsecutiveBreaker, circuitBreaker, handleWhenResult } from "cockatiel";
import type { SendResult } from "../core/sender.js";

/**
 * One circuit breaker per provider (cockatiel). Transient failures (`retry` results) count against a
 * provider; after `failures` in a row its circuit opens and sends skip it (answered as
 * `misconfigured` with code `circuit_open`, so the step's next provider takes over) until
 * `cooldownMs` has passed and a trial send succeeds.
 */
export function createBreakers(failures: number, cooldownMs: number) {
  const policies = new Map<string, CircuitBreakerPolicy>();
  const policyFor = (provider: string) => {
    let policy = policies.get(provider);
    if (!policy) {
      policy = circuitBreaker(
        handleWhenResult((r) => (r as SendResult).kind === "retry"),
        { halfOpenAfter: cooldownMs, breaker: new ConsecutiveBreaker(failures) },
      );
      policies.set(provider, policy);
    }
    return policy;
  };

  return {
    async run(provider: string, send: () => Promise<SendResult>): Promise<SendResult> {
      try {
        return await policyFor(provider).execute(async () => {
          try {
            return await send();
          } catch (err) {
            // An adapter bug or unexpected throw is transient for the outbox: the row stays safe.
            return { kind: "retry", error: { code: "adapter_error", message: (err as Error).message } } as SendResult;
          }
        });
      } catch (err) {
        if (err instanceof BrokenCircuitError) {
          return { kind: "misconfigured", error: { code: "circuit_open", message: `${provider} is failing; skipped for now` } };
        }
        throw err;
      }
    },
  };
}
