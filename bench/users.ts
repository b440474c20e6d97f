/**
 * The users the benches' requests come from, by the sticky key (`x-user-id`). Many, not one: a route's
 * rollout and a recording's draw both go by user, and a single user is either always in or never (one
 * "bench-user" was never drawn at 10%, so "ours recording 10%" kept nothing past its strata's quota and
 * measured nothing of what a recording costs). Ten thousand, taken in turn: at 10% about a thousand
 * are drawn, so the share of requests kept is within a few percent of the rate.
 */
export const BENCH_USERS = 10_000;

/** The `n`th request's user. */
export const benchUser = (n: number): string => `bench-user-${n % BENCH_USERS}`;
