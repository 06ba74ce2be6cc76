// The order of the cases that alternate in rounds: as given, then reversed, and so on. A drift
// within a round (the machine slowing down, autovacuum catching up with the writes of the case
// before) then falls on every position alike, where a fixed order weighs on the later cases.

/** The cases in the order they run in round `round` (0-based): reversed in odd rounds. */
export function roundOrder<T>(cases: readonly T[], round: number): T[] {
  return round % 2 === 0 ? [...cases] : [...cases].reverse();
}
